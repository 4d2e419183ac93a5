/**
 * The contract between the CDK stack (lib/) and the Lambda handlers (lambdas/handlers/): environment
 * variable names, table key schemas and blob layout. The stack sets exactly these; handlers read them
 * through `requireEnv`, which fails fast naming the variable.
 */

export const ENV = {
  /** S3 bucket for lake exports, datasets, models, dead letters and trainer output. */
  bucket: 'DISTILLERY_BUCKET',
  /** DynamoDB table: model registry. pk `task` (S), sk `version` (N). */
  registryTable: 'DISTILLERY_REGISTRY_TABLE',
  /** DynamoDB table: the lake. pk `pk` (S) = `<task>#<entityId>`, sk `sk` (S) = `input` | `outcome`; GSI `byTask`: pk `task` (S), sk `occurredAt` (S). */
  lakeTable: 'DISTILLERY_LAKE_TABLE',
  /** DynamoDB table: run state and per-task counters. pk `pk` (S), sk `sk` (S). */
  stateTable: 'DISTILLERY_STATE_TABLE',
  /** Name of the EventBridge bus the ERP and Distillery events share. */
  eventBus: 'DISTILLERY_EVENT_BUS',
  /** Comma-separated task names this deployment runs. */
  tasks: 'DISTILLERY_TASKS',
  /** The one task an inference Lambda serves. */
  task: 'DISTILLERY_TASK',
  /** Training image URI in ECR. */
  trainingImage: 'DISTILLERY_TRAINING_IMAGE',
  /** SageMaker execution role ARN passed to training jobs. */
  sagemakerRole: 'DISTILLERY_SAGEMAKER_ROLE_ARN',
  /** JSON object task → SageMaker instance type; default ml.g5.xlarge. */
  instanceTypes: 'DISTILLERY_INSTANCE_TYPES',
  /** Max runtime of one training job, seconds. */
  maxRuntimeSec: 'DISTILLERY_MAX_RUNTIME_SEC',
  /** "true" to use managed spot training with checkpoints in S3. */
  useSpot: 'DISTILLERY_USE_SPOT',
} as const;

export const INDEX = { lakeByTask: 'byTask' } as const;

/** Handler entry files, relative to the repo root; each exports `handler`. */
export const HANDLERS = {
  ingest: 'lambdas/handlers/ingest.ts',
  snapshot: 'lambdas/handlers/snapshot.ts',
  orchestrator: 'lambdas/handlers/orchestrator.ts',
  evaluate: 'lambdas/handlers/evaluate.ts',
  inference: 'lambdas/handlers/inference.ts',
} as const;

export function requireEnv(name: string, env: Record<string, string | undefined> = process.env): string {
  const v = env[name];
  if (v === undefined || v === '') throw new Error(`environment variable ${name} is not set`);
  return v;
}

/** Blob layout of the AWS adapters under the bucket. */
export const LAYOUT = {
  /** Dead letters: one JSON-lines object per ingest batch. */
  deadLetters: 'dead-letter/',
  /** SageMaker's own output (model.tar.gz) of a job of a run: `<runKey>/sagemaker/<job>/output/model.tar.gz`. */
  sagemakerOutput: 'sagemaker',
  /** Spot checkpoints of a job: `checkpoints/<job>/`. */
  checkpoints: 'checkpoints/',
} as const;

/**
 * The events each handler is the target of (EventBridge patterns). Ingest reads SQS queues fed by the
 * per-task ERP rules; inference sits behind the HTTP API.
 */
export const EVENT_PATTERNS = {
  snapshot: { source: ['distillery'], 'detail-type': ['RetrainRequested'] },
  orchestrator: [
    { source: ['distillery'], 'detail-type': ['DatasetReady'] },
    { source: ['aws.sagemaker'], 'detail-type': ['SageMaker Training Job State Change'], detail: { TrainingJobStatus: ['Completed', 'Failed', 'Stopped'] } },
  ],
  /** The orchestrator hands a run whose student job completed to evaluation with this event. */
  evaluate: { source: ['distillery'], 'detail-type': ['TrainingPhaseCompleted'], detail: { phase: ['student'] } },
} as const;

/** Default SageMaker instance type of a training job when DISTILLERY_INSTANCE_TYPES names none for the task. */
export const DEFAULT_INSTANCE_TYPE = 'ml.g5.xlarge';
/** Default max runtime of one training job (seconds) when DISTILLERY_MAX_RUNTIME_SEC is unset. */
export const DEFAULT_MAX_RUNTIME_SEC = 4 * 3600;

export function optionalEnv(name: string, env: Record<string, string | undefined> = process.env): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}
