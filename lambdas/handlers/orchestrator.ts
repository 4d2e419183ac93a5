/**
 * Orchestrator Lambda: `DatasetReady` and "SageMaker Training Job State Change" events → the core's
 * decisions (lambdas/core/orchestrator.ts) → SageMaker launcher, publisher, run state. A repeated or
 * out-of-order event starts nothing twice.
 */
import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { orchestrate, toOrchestratorEvent, type OrchestrateDeps, type Outcome } from '../core/orchestrator.js';
import { phaseCompleted, studentJob } from '../core/train-run.js';
import { ENV, optionalEnv, requireEnv } from '../aws/config.js';
import { DynamoDbRunState } from '../aws/dynamodb-run-state.js';
import { EventBridgePublisher } from '../aws/eventbridge-publisher.js';
import { S3BlobStore } from '../aws/s3-blob-store.js';
import { SageMakerLauncher } from '../aws/sagemaker-launcher.js';
import { deployedTasks, instanceTypes, systemClock } from '../aws/environment.js';

type AnyEvent = EventBridgeEvent<string, Record<string, unknown>>;

export async function orchestrateEvent(event: AnyEvent, deps: OrchestrateDeps): Promise<Outcome | { ignored: string }> {
  const e = toOrchestratorEvent(event);
  if (!e) return { ignored: `not an orchestrator event: ${event.source} ${event['detail-type']}` };
  return orchestrate(e, deps);
}

const tasks = deployedTasks();
const blobs = new S3BlobStore(new S3Client({}), requireEnv(ENV.bucket));
const publisher = new EventBridgePublisher(new EventBridgeClient({}), requireEnv(ENV.eventBus));
const sagemaker = new SageMakerClient({});
const launchers = new Map(
  tasks.map((t) => [
    t.name,
    new SageMakerLauncher(sagemaker, blobs, {
      task: t.name,
      image: requireEnv(ENV.trainingImage),
      roleArn: requireEnv(ENV.sagemakerRole),
      instanceTypes: instanceTypes(),
      maxRuntimeSec: optionalEnv(ENV.maxRuntimeSec) ? Number(optionalEnv(ENV.maxRuntimeSec)) : undefined,
      useSpot: optionalEnv(ENV.useSpot) === 'true',
    }),
  ]),
);
const byTaskOfJob = (phaseTask: string) => launchers.get(phaseTask)!;

const deps: OrchestrateDeps = {
  tasks,
  state: new DynamoDbRunState(DynamoDBDocumentClient.from(new DynamoDBClient({})), requireEnv(ENV.stateTable)),
  // a job's launcher is the one of its task (instance type per task); job.outputKey is `runs/<task>/…`
  launcher: {
    run: (job) => byTaskOfJob(job.outputKey.split('/')[1]).run(job),
    collect: (job) => byTaskOfJob(job.outputKey.split('/')[1]).collect(job),
  },
  publisher,
  // the evaluate Lambda is the target of TrainingPhaseCompleted with phase student (config.ts EVENT_PATTERNS)
  requestEvaluation: async (run) => {
    const task = tasks.find((t) => t.name === run.task)!;
    await publisher.publish([phaseCompleted(run, studentJob(task, run))]);
  },
  clock: systemClock,
  log: (l) => console.log(l),
};

export const functionHandler = (event: AnyEvent) => orchestrateEvent(event, deps);
export const handler = middy(functionHandler);
