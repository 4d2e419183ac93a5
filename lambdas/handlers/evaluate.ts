/**
 * Evaluate Lambda: a run whose student job completed (TrainingPhaseCompleted, phase student) →
 * finishRun: bundle, evaluation on onnxruntime-node, gate, registry, promotion or rejection.
 * Also callable directly with the same detail as its payload.
 */
import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { evaluateRun } from '../core/orchestrator.js';
import { finishRun, type FinishDeps } from '../core/train-run.js';
import { evaluateModels } from '../runtime/evaluate.js';
import { ENV, requireEnv } from '../aws/config.js';
import { DynamoDbRegistry } from '../aws/dynamodb-registry.js';
import { DynamoDbRunState } from '../aws/dynamodb-run-state.js';
import { EventBridgePublisher } from '../aws/eventbridge-publisher.js';
import { S3BlobStore } from '../aws/s3-blob-store.js';
import { codeVersion, deployedTasks, systemClock } from '../aws/environment.js';

type Input = EventBridgeEvent<'TrainingPhaseCompleted', Record<string, unknown>> | Record<string, unknown>;

const tasks = deployedTasks();
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
const state = new DynamoDbRunState(documents, requireEnv(ENV.stateTable));
const deps: FinishDeps = {
  blobs: new S3BlobStore(new S3Client({}), requireEnv(ENV.bucket)),
  registry: new DynamoDbRegistry(documents, requireEnv(ENV.registryTable)),
  publisher: new EventBridgePublisher(new EventBridgeClient({}), requireEnv(ENV.eventBus)),
  clock: systemClock,
  evaluate: (input) => evaluateModels(input),
  codeVersion: codeVersion(),
  log: (l) => console.log(l),
};

export async function functionHandler(event: Input) {
  const detail = ('detail' in event && event.detail && typeof event.detail === 'object' ? event.detail : event) as Record<string, unknown>;
  return evaluateRun(detail, { state, clock: systemClock, log: deps.log }, async (run, jobs) => {
    const task = tasks.find((t) => t.name === run.task);
    if (!task) throw new Error(`run ${run.snapshotId} is of task ${run.task}, which this deployment does not run`);
    const r = await finishRun(task, deps, run, { jobs });
    return { passed: r.verdict.passed, version: r.record.version };
  });
}

export const handler = middy(functionHandler);
