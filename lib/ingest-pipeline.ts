import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV, HANDLERS } from '../lambdas/aws/config.js';
import type { TaskDefinition } from '../lambdas/core/task.js';
import { DistilleryFunction } from './distillery-function.js';

export interface IngestPipelineProps {
  /** The task whose input and outcome events this pipeline takes in. */
  readonly task: TaskDefinition;
  /** The `erp` bus. */
  readonly bus: events.IEventBus;
  /** Exact ERP `source` names to accept. @default - any source starting with `task.sourcePrefix` */
  readonly erpSources?: readonly string[];
  /** Environment shared by Distillery Lambdas (bucket, tables, bus, tasks). */
  readonly environment: Readonly<Record<string, string>>;
  /** Messages per Lambda invocation, 1–10000. @default 100 */
  readonly batchSize?: number;
  /** Seconds SQS gathers a batch before invoking, 0–300. @default 5 */
  readonly maxBatchingWindowSec?: number;
  /** Receives before a message moves to the DLQ. @default 5 */
  readonly maxReceiveCount?: number;
  /** Ingest Lambda timeout, seconds. @default 60 */
  readonly timeoutSec?: number;
}

/** One event kind's buffer: the rule's queue and its dead-letter queue. */
export interface EventKindQueue {
  readonly detailType: string;
  readonly rule: events.Rule;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
}

/**
 * Per task and event kind: an EventBridge rule → SQS queue (+DLQ) → the task's ingest Lambda, batched,
 * reporting partial batch failures so one poison record is retried (then dead-lettered) alone.
 */
export class IngestPipeline extends Construct {
  readonly function: DistilleryFunction;
  readonly queues: readonly EventKindQueue[];

  constructor(scope: Construct, id: string, props: IngestPipelineProps) {
    super(scope, id);
    const { task } = props;
    const batchSize = props.batchSize ?? 100;
    const windowSec = props.maxBatchingWindowSec ?? 5;
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    const timeoutSec = props.timeoutSec ?? 60;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10000) throw new Error(`${id}: batchSize must be 1–10000, got ${batchSize}`);
    if (!Number.isInteger(windowSec) || windowSec < 0 || windowSec > 300) throw new Error(`${id}: maxBatchingWindowSec must be 0–300, got ${windowSec}`);
    if (batchSize > 10 && windowSec < 1) throw new Error(`${id}: a batchSize over 10 needs maxBatchingWindowSec ≥ 1 (SQS rule)`);
    if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1) throw new Error(`${id}: maxReceiveCount must be ≥ 1, got ${maxReceiveCount}`);
    if (props.erpSources && props.erpSources.length === 0) throw new Error(`${id}: erpSources, when given, needs at least one source`);

    this.function = new DistilleryFunction(this, 'Ingest', {
      entry: HANDLERS.ingest,
      description: `Ingest ${task.name}: validate, dedupe, redact PII, append to the lake.`,
      environment: { ...props.environment, [ENV.task]: task.name },
      timeoutSec,
    });
    const source = props.erpSources ? [...props.erpSources] : events.Match.prefix(task.sourcePrefix);
    const kinds = [...new Set([task.input.detailType, ...task.outcomes.map((o) => o.detailType)])];
    this.queues = kinds.map((detailType) => {
      const kindId = detailType.replace(/[^A-Za-z0-9]/g, '');
      const deadLetterQueue = new sqs.Queue(this, `${kindId}Dlq`, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      const queue = new sqs.Queue(this, `${kindId}Queue`, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        // AWS guidance: at least six times the function timeout, so retries of a slow batch do not overlap.
        visibilityTimeout: Duration.seconds(timeoutSec * 6),
        retentionPeriod: Duration.days(4),
        deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount },
      });
      const rule = new events.Rule(this, `${kindId}Rule`, {
        eventBus: props.bus,
        description: `${task.name}: ${detailType} events to the ingest queue.`,
        eventPattern: { source, detailType: [detailType] },
      });
      // Events EventBridge cannot deliver land in the same DLQ, so every loss is visible in one place.
      rule.addTarget(new targets.SqsQueue(queue, { deadLetterQueue, retryAttempts: 10, maxEventAge: Duration.hours(24) }));
      this.function.function.addEventSource(
        new SqsEventSource(queue, { batchSize, maxBatchingWindow: windowSec > 0 ? Duration.seconds(windowSec) : undefined, reportBatchItemFailures: true }),
      );
      return { detailType, rule, queue, deadLetterQueue };
    });
  }
}
