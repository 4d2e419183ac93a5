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
