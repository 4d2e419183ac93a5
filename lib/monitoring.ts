import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';
import type { DistilleryFunction } from './distillery-function.js';

export interface MonitoringProps {
  /** Dead-letter queues by display name; any message in one raises an alarm. */
  readonly deadLetterQueues: ReadonlyMap<string, sqs.IQueue>;
  /** Every Distillery Lambda by display name; any error raises an alarm. */
  readonly functions: ReadonlyMap<string, DistilleryFunction>;
  /** Inference Lambdas by task; p99 duration above `inferenceP99LatencyMs` raises an alarm. */
  readonly inferenceFunctions: ReadonlyMap<string, DistilleryFunction>;
  /** p99 inference duration threshold, milliseconds. @default 1000 */
  readonly inferenceP99LatencyMs?: number;
  /** Email address subscribed to alarm notifications. @default - no subscription (subscribe to `topic` later) */
  readonly alarmEmail?: string;
  /** Dashboard name. @default 'erp-distillery' */
  readonly dashboardName?: string;
}

/** Alarms on DLQ depth, Lambda errors and inference p99 latency, an SNS topic for them, and a dashboard. */
export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const p99Ms = props.inferenceP99LatencyMs ?? 1000;
    if (!(p99Ms > 0)) throw new Error(`${id}: inferenceP99LatencyMs must be > 0, got ${p99Ms}`);
    if (props.alarmEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(props.alarmEmail)) {
      throw new Error(`${id}: alarmEmail must be an email address, got '${props.alarmEmail}'`);
    }
    this.topic = new sns.Topic(this, 'Alarms', { displayName: 'ERP Distillery alarms', enforceSSL: true });
    acknowledge(this.topic, [
      { id: 'AwsSolutions-SNS2', reason: 'Alarm notifications carry only alarm names and states; CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, and a customer key would cost more than the data is worth.' },
    ]);
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const action = new actions.SnsAction(this.topic);
    // every alarm here fires when its metric goes above a threshold; no data is not an incident
    const alarmAbove = (alarmId: string, metric: cloudwatch.IMetric, threshold: number, evaluationPeriods: number, alarmDescription: string) => {
      const alarm = new cloudwatch.Alarm(this, alarmId, {
        alarmDescription, metric, threshold, evaluationPeriods,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      this.alarms.push(alarm);
    };

    const dlqDepth: cloudwatch.IMetric[] = [];
    for (const [name, queue] of props.deadLetterQueues) {
      const metric = queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' });
      dlqDepth.push(metric.with({ label: name }));
      alarmAbove(`${name}DlqDepth`, metric, 0, 1, `Dead letters in ${name}: events were refused or could not be delivered.`);
    }
    const errors: cloudwatch.IMetric[] = [];
    for (const [name, fn] of props.functions) {
      const metric = fn.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' });
      errors.push(metric.with({ label: name }));
      alarmAbove(`${name}Errors`, metric, 0, 1, `The ${name} Lambda failed.`);
    }
    const latency: cloudwatch.IMetric[] = [];
    for (const [task, fn] of props.inferenceFunctions) {
      const metric = fn.function.metricDuration({ period: Duration.minutes(5), statistic: 'p99' });
      latency.push(metric.with({ label: task }));
      alarmAbove(`${task}P99Latency`, metric, p99Ms, 3, `p99 inference duration of ${task} above ${p99Ms} ms for 15 minutes.`);
    }
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? 'erp-distillery',
      widgets: [
        [
          new cloudwatch.GraphWidget({ title: 'Dead letters (messages visible)', left: dlqDepth, width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Lambda errors', left: errors, width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Inference p99 duration (ms)', left: latency, width: 8, leftAnnotations: [{ value: p99Ms, label: 'alarm' }] }),
        ],
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 })],
      ],
    });
  }
}
