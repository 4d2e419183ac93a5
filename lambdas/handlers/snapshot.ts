/** Snapshot Lambda: `Distillery.RetrainRequested` → join labels, write the snapshot → `DatasetReady`. */
import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { startRun } from '../core/train-run.js';
import type { TaskDefinition } from '../core/task.js';
import type { BlobStore, Clock, EventPublisher, Lake } from '../ports/index.js';
import { ENV, requireEnv } from '../aws/config.js';
import { DynamoDbLake } from '../aws/dynamodb-lake.js';
import { EventBridgePublisher } from '../aws/eventbridge-publisher.js';
import { S3BlobStore } from '../aws/s3-blob-store.js';
import { deployedTasks, systemClock } from '../aws/environment.js';

export interface SnapshotDeps {
  tasks: readonly TaskDefinition[];
  lake: Lake;
  blobs: BlobStore;
  publisher: EventPublisher;
  clock: Clock;
}

export type RetrainRequested = EventBridgeEvent<'RetrainRequested', { task: string; testSince?: string; reason?: string }>;

export async function snapshotRun(event: RetrainRequested, deps: SnapshotDeps): Promise<{ task: string; snapshotId: string; key: string }> {
  const task = deps.tasks.find((t) => t.name === event.detail?.task);
  if (!task) throw new Error(`RetrainRequested names task "${event.detail?.task}", which this deployment does not run (${deps.tasks.map((t) => t.name).join(', ')})`);
  const { run, datasetReady } = await startRun(task, { ...deps, log: (l) => console.log(l) }, { testSince: event.detail.testSince });
  await deps.publisher.publish([datasetReady]);
  return { task: task.name, snapshotId: run.snapshotId, key: run.datasetKey };
}

const deps: SnapshotDeps = {
  tasks: deployedTasks(),
  lake: new DynamoDbLake(DynamoDBDocumentClient.from(new DynamoDBClient({})), requireEnv(ENV.lakeTable)),
  blobs: new S3BlobStore(new S3Client({}), requireEnv(ENV.bucket)),
  publisher: new EventBridgePublisher(new EventBridgeClient({}), requireEnv(ENV.eventBus)),
  clock: systemClock,
};

export const functionHandler = (event: RetrainRequested) => snapshotRun(event, deps);
export const handler = middy(functionHandler);
