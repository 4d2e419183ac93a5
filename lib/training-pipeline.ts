import { Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV, HANDLERS } from '../lambdas/aws/config.js';
import type { TaskDefinition } from '../lambdas/core/task.js';
import { PREFIX, type DistilleryBucket } from './distillery-bucket.js';
import { DistilleryFunction } from './distillery-function.js';
import type { DistilleryTables } from './distillery-tables.js';
import { acknowledge } from './nag.js';
import type { ErpEventBus } from './erp-event-bus.js';
import { SageMakerExecutionRole } from './sagemaker-execution-role.js';
import type { TrainingImage } from './training-image.js';

/** `source` of the events Distillery itself publishes (lambdas/ports SystemEvent). */
export const DISTILLERY_SOURCE = 'distillery';
/** Detail types that drive the training loop (lambdas/core/train-run.ts). */
export const DETAIL_TYPE = {
  retrainRequested: 'RetrainRequested',
  datasetReady: 'DatasetReady',
  trainingPhaseCompleted: 'TrainingPhaseCompleted',
  trainingJobStateChange: 'SageMaker Training Job State Change',
} as const;

export const DEFAULT_INSTANCE_TYPE = 'ml.g5.xlarge';

export interface TrainingPipelineProps {
  readonly tasks: readonly TaskDefinition[];
  readonly erp: ErpEventBus;
  readonly bucket: DistilleryBucket;
  readonly registryTable: dynamodb.ITable;
  /** The lake is read through `tables.grantLakeRead` (index included). */
  readonly tables: DistilleryTables;
  readonly stateTable: dynamodb.ITable;
  readonly image: TrainingImage;
  /** Environment shared by Distillery Lambdas (bucket, tables, bus, tasks). */
  readonly environment: Readonly<Record<string, string>>;
  /** SageMaker instance type per task. @default - the task's `trainer.instanceType`, else ml.g5.xlarge */
  readonly instanceTypes?: Readonly<Record<string, string>>;
  /** Max runtime of one training job, seconds (SageMaker: 1–2419200). @default 14400 */
  readonly maxRuntimeSec?: number;
  /** Managed spot training with checkpoints in S3. @default true */
  readonly useSpot?: boolean;
}

/**
 * Snapshot, orchestrator and evaluate Lambdas and the rules that drive them: RetrainRequested →
 * snapshot; DatasetReady and SageMaker job state changes → orchestrator; student phase completed →
 * evaluate. The orchestrator may start and describe this stack's jobs and pass only the SageMaker role.
 */
export class TrainingPipeline extends Construct {
  readonly sagemakerRole: SageMakerExecutionRole;
  readonly snapshot: DistilleryFunction;
  readonly orchestrator: DistilleryFunction;
  readonly evaluate: DistilleryFunction;
  /** Rule on the default bus (where SageMaker publishes) for this deployment's jobs. */
  readonly trainingJobStateRule: events.Rule;
  readonly datasetReadyRule: events.Rule;
  /** Holds events a rule could not deliver to its Lambda. */
  readonly deadLetterQueue: sqs.Queue;
  readonly instanceTypes: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: TrainingPipelineProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const maxRuntimeSec = props.maxRuntimeSec ?? 14400;
    if (!Number.isInteger(maxRuntimeSec) || maxRuntimeSec < 1 || maxRuntimeSec > 2419200) {
      throw new Error(`${id}: maxRuntimeSec must be a whole number from 1 to 2419200 (SageMaker's limit), got ${maxRuntimeSec}`);
    }
    const names = props.tasks.map((t) => t.name);
    for (const key of Object.keys(props.instanceTypes ?? {})) {
      if (!names.includes(key)) throw new Error(`${id}: instanceTypes names task '${key}', which this deployment does not run (${names.join(', ')})`);
    }
    const instanceTypes: Record<string, string> = {};
    for (const t of props.tasks) {
      const type = props.instanceTypes?.[t.name] ?? t.trainer.instanceType ?? DEFAULT_INSTANCE_TYPE;
      if (!/^ml\.[a-z0-9]+\.[a-z0-9]+$/.test(type)) throw new Error(`${id}: instance type for '${t.name}' must look like ml.<family>.<size>, got '${type}'`);
      instanceTypes[t.name] = type;
    }
    this.instanceTypes = instanceTypes;

    this.sagemakerRole = new SageMakerExecutionRole(this, 'SageMakerRole', { bucket: props.bucket, image: props.image });
    this.deadLetterQueue = new sqs.Queue(this, 'RuleDlq', { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    acknowledge(this.deadLetterQueue, [
      { id: 'AwsSolutions-SQS3', reason: 'This queue is itself the dead-letter queue of the training rules\' Lambda targets (alarmed on depth); a DLQ of a DLQ adds nothing.' },
    ]);
    const target = (fn: DistilleryFunction) =>
      new targets.LambdaFunction(fn.function, { deadLetterQueue: this.deadLetterQueue, retryAttempts: 4, maxEventAge: Duration.hours(6) });
    const distilleryRule = (ruleId: string, detailType: string, detail?: Record<string, unknown>) =>
      new events.Rule(this, ruleId, { eventBus: props.erp.bus, eventPattern: { source: [DISTILLERY_SOURCE], detailType: [detailType], detail } });

    this.snapshot = new DistilleryFunction(this, 'Snapshot', {
      entry: HANDLERS.snapshot,
      description: 'Snapshot: join labels, split by time, fit the featurizer, write tensors and manifest.',
      environment: props.environment,
      memoryMiB: 3008,
      timeoutSec: 900,
    });
    props.tables.grantLakeRead(this.snapshot.function);
    props.stateTable.grantReadWriteData(this.snapshot.function);
    props.bucket.grantReadWritePrefixes(this.snapshot.function, [PREFIX.datasets]);
    props.erp.grantPutEvents(this.snapshot.function);
    distilleryRule('RetrainRequestedRule', DETAIL_TYPE.retrainRequested).addTarget(target(this.snapshot));

    this.orchestrator = new DistilleryFunction(this, 'Orchestrator', {
      entry: HANDLERS.orchestrator,
      description: 'Orchestrator: starts teacher and student training jobs and ends failed runs.',
      environment: {
        ...props.environment,
        [ENV.trainingImage]: props.image.imageUri,
        [ENV.sagemakerRole]: this.sagemakerRole.role.roleArn,
        [ENV.instanceTypes]: JSON.stringify(instanceTypes),
        [ENV.maxRuntimeSec]: String(maxRuntimeSec),
        [ENV.useSpot]: String(props.useSpot ?? true),
      },
      timeoutSec: 60,
    });
    const orchestrator = this.orchestrator.function;
    props.stateTable.grantReadWriteData(orchestrator);
    props.registryTable.grantReadWriteData(orchestrator);
    props.bucket.grantReadPrefixes(orchestrator, [PREFIX.datasets]);
    props.bucket.grantReadWritePrefixes(orchestrator, [PREFIX.runs, PREFIX.models]);
    props.erp.grantPutEvents(orchestrator);
    this.sagemakerRole.grantPassRole(orchestrator);
    // Job names are `<task>-<phase>-<stamp>-<nonce>` (lambdas/core/train-run.ts jobName); ARNs are lower case.
    const jobArns = names.map((n) => stack.formatArn({ service: 'sagemaker', resource: 'training-job', resourceName: `${n.toLowerCase()}-*` }));
    orchestrator.addToRolePolicy(new iam.PolicyStatement({
      actions: ['sagemaker:CreateTrainingJob', 'sagemaker:DescribeTrainingJob', 'sagemaker:AddTags'],
      resources: jobArns,
    }));
    acknowledge(orchestrator.role!, jobArns.map((_, i) => ({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:training-job/${names[i].toLowerCase()}-*]`,
      reason: 'Job names are unique per run (<task>-<phase>-<stamp>-<nonce>); the wildcard is limited to this deployment\'s task prefixes.',
    })));
    this.datasetReadyRule = distilleryRule('DatasetReadyRule', DETAIL_TYPE.datasetReady);
    this.datasetReadyRule.addTarget(target(this.orchestrator));
    this.trainingJobStateRule = new events.Rule(this, 'TrainingJobStateRule', {
      description: 'SageMaker job state changes of this deployment’s tasks (the default bus, where SageMaker publishes).',
      eventPattern: {
        source: ['aws.sagemaker'],
        detailType: [DETAIL_TYPE.trainingJobStateChange],
        detail: {
          TrainingJobName: names.map((n) => ({ prefix: `${n}-` })),
          TrainingJobStatus: ['Completed', 'Failed', 'Stopped'],
        },
      },
    });
    this.trainingJobStateRule.addTarget(target(this.orchestrator));

    this.evaluate = new DistilleryFunction(this, 'Evaluate', {
      entry: HANDLERS.evaluate,
      description: 'Evaluate on onnxruntime-node: metrics, agreement, latency, gate; register the candidate.',
      environment: props.environment,
      memoryMiB: 3008,
      timeoutSec: 900,
      shipOnnxRuntime: true,
    });
    const evaluate = this.evaluate.function;
    props.bucket.grantReadPrefixes(evaluate, [PREFIX.datasets, PREFIX.runs]);
    props.bucket.grantReadWritePrefixes(evaluate, [PREFIX.models]);
    props.registryTable.grantReadWriteData(evaluate);
    props.stateTable.grantReadWriteData(evaluate);
    props.erp.grantPutEvents(evaluate);
    distilleryRule('StudentCompletedRule', DETAIL_TYPE.trainingPhaseCompleted, { phase: ['student'] }).addTarget(target(this.evaluate));
  }

  /** Every Lambda of the pipeline, for alarms and the dashboard. */
  get functions(): readonly DistilleryFunction[] {
    return [this.snapshot, this.orchestrator, this.evaluate];
  }
}
