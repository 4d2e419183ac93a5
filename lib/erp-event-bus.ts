import { Duration, Stack } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpEventBridgeIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { AuthenticatedHttpApi, type ApiAuth } from './authenticated-http-api.js';

export interface ErpEventBusProps {
  /** Bus name. @default 'erp' */
  readonly busName?: string;
  /** Days the archive keeps events for replay (backfill); 0 keeps them forever. @default 365 */
  readonly archiveRetentionDays?: number;
  /** Auth of the webhook route. @default { mode: 'iam' } */
  readonly webhookAuth?: ApiAuth;
  /**
   * `source` stamped on every event that arrives through the webhook. Fixed, so a webhook caller can
   * never pose as `distillery` or `aws.*`; it must match the ERP source filters of the tasks.
   * @default 'erp.webhook'
   */
  readonly webhookSource?: string;
  /** Webhook stage throttling, requests per second. @default 100 */
  readonly webhookThrottleRatePerSec?: number;
}

/**
 * The `erp` EventBridge bus with an archive (replay = backfill) and an HTTPS webhook for ERPs that can
 * only call URLs: `POST /events` with `{"DetailType": "...", "Detail": {...}}`, authenticated, sent
 * straight to the bus by API Gateway's EventBridge-PutEvents integration.
 */
export class ErpEventBus extends Construct {
  readonly bus: events.EventBus;
  readonly archive: events.Archive;
  readonly webhook: AuthenticatedHttpApi;
  readonly webhookSource: string;

  constructor(scope: Construct, id: string, props: ErpEventBusProps = {}) {
    super(scope, id);
    const busName = props.busName ?? 'erp';
    if (!/^[A-Za-z0-9._-]{1,256}$/.test(busName) || busName === 'default') {
      throw new Error(`${id}: busName must be 1–256 of letters, digits, '.', '_', '-' and not 'default', got '${busName}'`);
    }
    const retentionDays = props.archiveRetentionDays ?? 365;
    if (!Number.isInteger(retentionDays) || retentionDays < 0) throw new Error(`${id}: archiveRetentionDays must be a whole number ≥ 0, got ${retentionDays}`);
    this.webhookSource = props.webhookSource ?? 'erp.webhook';
    if (!/^[A-Za-z0-9._-]+$/.test(this.webhookSource) || this.webhookSource === 'distillery' || this.webhookSource.startsWith('aws.')) {
      throw new Error(`${id}: webhookSource must be letters, digits, '.', '_', '-', not 'distillery' nor 'aws.*', got '${this.webhookSource}'`);
    }
    this.bus = new events.EventBus(this, 'Bus', { eventBusName: busName });
    this.archive = this.bus.archive('Archive', {
      description: 'Every event on the erp bus, for replay (backfill and retraining from history).',
      eventPattern: { account: [Stack.of(this).account] },
      retention: retentionDays === 0 ? undefined : Duration.days(retentionDays),
    });
    this.webhook = new AuthenticatedHttpApi(this, 'Webhook', {
      apiName: `${busName}-webhook`,
      description: 'ERP webhook: POST /events puts one event on the erp bus.',
      auth: props.webhookAuth,
      throttleRatePerSec: props.webhookThrottleRatePerSec ?? 100,
      throttleBurst: 200,
    });
    this.webhook.api.addRoutes({
      path: '/events',
      methods: [apigwv2.HttpMethod.POST],
      integration: new HttpEventBridgeIntegration('PutEvents', {
        eventBusRef: this.bus,
        parameterMapping: new apigwv2.ParameterMapping()
          .custom('Source', this.webhookSource)
          .custom('DetailType', '$request.body.DetailType')
          .custom('Detail', '$request.body.Detail')
          .custom('EventBusName', this.bus.eventBusName),
      }),
    });
  }

  /** Lets `grantee` put events on the bus (ERP integrations, Distillery Lambdas). */
  grantPutEvents(grantee: iam.IGrantable): iam.Grant {
    return this.bus.grantPutEventsTo(grantee);
  }
}
