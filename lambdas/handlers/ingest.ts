/**
 * Ingest Lambda: an SQS batch of EventBridge events → validate · dedupe · redact · lake. Reports
 * partial batch failures: only the poison records (body not JSON, or an event the schema refuses) are
 * returned, each also dead-lettered with its reason; the others are stored and leave the queue.
 */
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { EventValidator } from '../core/events.js';
import { ingestEvents, type IngestDeps } from '../core/ingest.js';
import { ENV, requireEnv } from '../aws/config.js';
import { DynamoDbLake } from '../aws/dynamodb-lake.js';
import { S3DeadLetters } from '../aws/s3-dead-letters.js';
import { deployedTasks, systemClock } from '../aws/environment.js';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDbRetrainCounter } from '../aws/dynamodb-retrain-counter.js';
import { EventBridgePublisher } from '../aws/eventbridge-publisher.js';
import { countNewLabels } from '../core/retrain.js';
import type { TaskDefinition } from '../core/task.js';
import type { EventPublisher, RetrainCounter } from '../ports/index.js';

export interface IngestHandlerDeps extends IngestDeps {
  retrain?: { tasks: readonly TaskDefinition[]; counter: RetrainCounter; publisher: EventPublisher };
}

export async function ingestBatch(event: SQSEvent, deps: IngestHandlerDeps): Promise<SQSBatchResponse> {
  const parsed: { messageId: string; event: unknown }[] = [];
  const failures = new Set<string>();
  const letters = [];
  for (const r of event.Records) {
    try {
      parsed.push({ messageId: r.messageId, event: JSON.parse(r.body) });
    } catch (err) {
      failures.add(r.messageId);
      letters.push({ at: deps.clock.now().toISOString(), reason: `message body is not JSON: ${(err as Error).message}`, event: r.body, origin: `sqs:${r.messageId}` });
    }
  }
  await deps.deadLetters.put(letters);
  const report = await ingestEvents(parsed.map((p) => p.event), deps, 'sqs');
  for (const f of report.failures) failures.add(parsed[f.index].messageId);
  console.log(JSON.stringify({ ingest: { ...report, failures: report.failures.length + letters.length } }));
  // counted after the lake write: a batch that SQS re-drives stores nothing new, so it adds nothing
  if (deps.retrain) await countNewLabels(report.outcomesStored, deps.retrain.tasks, deps.retrain);
  return { batchItemFailures: [...failures].map((itemIdentifier) => ({ itemIdentifier })) };
}

const bucket = requireEnv(ENV.bucket);
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
const tasks = deployedTasks();
const deps: IngestHandlerDeps = {
  validator: new EventValidator(tasks),
  lake: new DynamoDbLake(documents, requireEnv(ENV.lakeTable)),
  deadLetters: new S3DeadLetters(new S3Client({}), bucket),
  clock: systemClock,
  retrain: {
    tasks,
    counter: new DynamoDbRetrainCounter(documents, requireEnv(ENV.stateTable)),
    publisher: new EventBridgePublisher(new EventBridgeClient({}), requireEnv(ENV.eventBus)),
  },
};

export const functionHandler = (event: SQSEvent): Promise<SQSBatchResponse> => ingestBatch(event, deps);
export const handler = middy(functionHandler);
