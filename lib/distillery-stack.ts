import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ENV } from '../lambdas/aws/config.js';
import type { TaskDefinition } from '../lambdas/core/task.js';
import { builtInTasks } from '../lambdas/tasks/index.js';
import type { ApiAuth, ApiCors } from './authenticated-http-api.js';
import { DistilleryBucket, PREFIX } from './distillery-bucket.js';
import type { DistilleryFunction } from './distillery-function.js';
import { DistilleryTables } from './distillery-tables.js';
import { ErpEventBus } from './erp-event-bus.js';
import { InferenceApi } from './inference-api.js';
import { IngestPipeline } from './ingest-pipeline.js';
import { Monitoring } from './monitoring.js';
import { TrainingImage } from './training-image.js';
import { TrainingPipeline } from './training-pipeline.js';

export interface DistilleryStackProps extends StackProps {
  /** Tasks this deployment runs. @default every built-in task (lambdas/tasks) */
  readonly tasks?: readonly TaskDefinition[];
  /** Exact ERP `source` names accepted by every task. @default - each task's `sourcePrefix` (e.g. `erp.*`) */
  readonly erpSources?: readonly string[];
  /** Name of the ERP event bus. @default 'erp' */
  readonly busName?: string;
  /** `source` stamped on webhook events. @default 'erp.webhook' */
  readonly webhookSource?: string;
  /** Existing training image in ECR. @default - built from containers/trainer (Docker needed at deploy) */
  readonly trainingImageUri?: string;
  /** SageMaker instance type per task. @default - task's `trainer.instanceType`, else ml.g5.xlarge */
  readonly instanceTypes?: Readonly<Record<string, string>>;
  /** Max runtime of a training job, seconds. @default 14400 */
  readonly maxTrainingRuntimeSec?: number;
  /** Managed spot training. @default true */
  readonly useSpot?: boolean;
  /** Auth of the inference API and the ERP webhook. @default { mode: 'iam' } */
  readonly auth?: ApiAuth;
  /** Browser CORS on the inference API. @default - none */
  readonly cors?: ApiCors;
  /** Alarm notifications to this address. @default - none */
  readonly alarmEmail?: string;
  /** p99 inference duration alarm threshold, ms. @default 1000 */
  readonly inferenceP99LatencyMs?: number;
}

const TASK_NAME = /^[a-z][a-z0-9-]{0,39}$/;

/** ERP Distillery in one stack: bus → ingest → lake → snapshot → SageMaker → evaluate → registry → inference. */
export class DistilleryStack extends Stack {
  readonly tasks: readonly TaskDefinition[];
  readonly erp: ErpEventBus;
  readonly storage: DistilleryBucket;
  readonly tables: DistilleryTables;
  readonly trainingImage: TrainingImage;
  readonly ingest: ReadonlyMap<string, IngestPipeline>;
  readonly training: TrainingPipeline;
  readonly inference: InferenceApi;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: DistilleryStackProps = {}) {
    super(scope, id, props);
    const tasks = props.tasks ?? builtInTasks;
    if (tasks.length === 0) throw new Error(`${id}: a deployment needs at least one task`);
    const seen = new Set<string>();
    for (const t of tasks) {
      if (!TASK_NAME.test(t.name)) throw new Error(`${id}: task name '${t.name}' must be lower-case letters, digits and hyphens, ≤ 40 characters (it names jobs and routes)`);
      if (seen.has(t.name)) throw new Error(`${id}: task '${t.name}' is listed twice`);
      seen.add(t.name);
    }
    this.tasks = tasks;

    this.erp = new ErpEventBus(this, 'Erp', { busName: props.busName, webhookAuth: props.auth, webhookSource: props.webhookSource });
    const webhookSource = this.erp.webhookSource;
    if (props.erpSources && !props.erpSources.includes(webhookSource)) {
      throw new Error(`${id}: erpSources must include the webhook source '${webhookSource}', or webhook events would match no task`);
    }
    for (const t of tasks) {
      if (!props.erpSources && !webhookSource.startsWith(t.sourcePrefix)) {
        throw new Error(`${id}: webhook source '${webhookSource}' must start with task ${t.name}'s sourcePrefix '${t.sourcePrefix}'`);
      }
    }
    this.storage = new DistilleryBucket(this, 'DistilleryBucket');
    this.tables = new DistilleryTables(this, 'Tables');
    this.trainingImage = new TrainingImage(this, 'TrainingImage', { imageUri: props.trainingImageUri });

    const environment = {
      [ENV.bucket]: this.storage.bucket.bucketName,
      [ENV.registryTable]: this.tables.registry.tableName,
      [ENV.lakeTable]: this.tables.lake.tableName,
      [ENV.stateTable]: this.tables.state.tableName,
      [ENV.eventBus]: this.erp.bus.eventBusName,
      [ENV.tasks]: tasks.map((t) => t.name).join(','),
    };

    const ingest = new Map<string, IngestPipeline>();
    for (const task of tasks) {
      const pipeline = new IngestPipeline(this, `Ingest-${task.name}`, { task, bus: this.erp.bus, erpSources: props.erpSources, environment });
      const fn = pipeline.function.function;
      this.tables.grantLakeReadWrite(fn);
      this.tables.state.grantReadWriteData(fn);
      this.storage.grantReadWritePrefixes(fn, [PREFIX.deadLetter]);
      this.erp.grantPutEvents(fn);
      ingest.set(task.name, pipeline);
    }
    this.ingest = ingest;

    this.training = new TrainingPipeline(this, 'Training', {
      tasks,
      erp: this.erp,
      bucket: this.storage,
      registryTable: this.tables.registry,
      tables: this.tables,
      stateTable: this.tables.state,
      image: this.trainingImage,
      environment,
      instanceTypes: props.instanceTypes,
      maxRuntimeSec: props.maxTrainingRuntimeSec,
      useSpot: props.useSpot,
    });

    this.inference = new InferenceApi(this, 'Inference', {
      tasks,
      bucket: this.storage,
      registryTable: this.tables.registry,
      auth: props.auth,
      cors: props.cors,
    });

    const dlqs = new Map([...ingest].flatMap(([task, p]) => p.queues.map((q) => [`${task}-${q.detailType}`, q.deadLetterQueue] as const)));
    dlqs.set('training-rules', this.training.deadLetterQueue);
    const functions = new Map<string, DistilleryFunction>([
      ...[...ingest].map(([task, p]) => [`ingest-${task}`, p.function] as const),
      ['snapshot', this.training.snapshot],
      ['orchestrator', this.training.orchestrator],
      ['evaluate', this.training.evaluate],
      ...[...this.inference.functions].map(([task, fn]) => [`inference-${task}`, fn] as const),
    ]);
    this.monitoring = new Monitoring(this, 'Monitoring', {
      deadLetterQueues: dlqs,
      functions,
      inferenceFunctions: this.inference.functions,
      alarmEmail: props.alarmEmail,
      inferenceP99LatencyMs: props.inferenceP99LatencyMs,
    });

    new CfnOutput(this, 'InferenceUrl', { value: this.inference.http.url, description: 'POST <url>tasks/<task>/predict' });
    new CfnOutput(this, 'WebhookUrl', { value: this.erp.webhook.url, description: 'POST <url>events with {"DetailType", "Detail"}' });
    new CfnOutput(this, 'EventBusName', { value: this.erp.bus.eventBusName });
    new CfnOutput(this, 'BucketName', { value: this.storage.bucket.bucketName });
    new CfnOutput(this, 'TrainingImageUri', { value: this.trainingImage.imageUri });
  }
}
