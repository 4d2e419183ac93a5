import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ENV, INDEX } from '../../lambdas/aws/config.js';
import { builtInTasks } from '../../lambdas/tasks/index.js';
import { DistilleryStack } from '../../lib/distillery-stack.js';

const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/distillery-trainer:latest';

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;
type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown };

let app: App;
let stack: DistilleryStack;
let template: Template;

/** Policy statements attached to the role whose logical id starts with `rolePrefix`. */
function statementsOf(rolePrefix: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy') as Resources;
  return Object.values(policies)
    .filter((p) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref.startsWith(rolePrefix)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

beforeAll(() => {
  // GIVEN the default configuration with an existing training image; bundling is skipped here
  // (test/lib/inference-asset.test.ts bundles for real).
  app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  stack = new DistilleryStack(app, 'Distillery', { trainingImageUri: IMAGE });
  // WHEN it is synthesised
  template = Template.fromStack(stack);
});

describe('ERP ingest', () => {
  it('archives the erp bus', () => {
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'erp' });
    template.hasResourceProperties('AWS::Events::Archive', { RetentionDays: 365 });
  });

  it.each(builtInTasks.flatMap((t) => [t.input.detailType, ...t.outcomes.map((o) => o.detailType)].map((kind) => [t.name, kind, t.sourcePrefix])))(
    'routes %s %s events from the erp bus to their own queue',
    (_task, kind, prefix) => {
      template.hasResourceProperties('AWS::Events::Rule', {
        EventBusName: { Ref: Match.stringLikeRegexp('^ErpBus') },
        EventPattern: { source: [{ prefix }], 'detail-type': [kind] },
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('Queue'), 'Arn'] }, DeadLetterConfig: Match.anyValue() })],
      });
    },
  );

  it('gives every ingest queue a DLQ with a redrive limit, and reports partial batch failures', () => {
    const kinds = builtInTasks.reduce((n, t) => n + 1 + t.outcomes.length, 0);
    const queues = Object.values(template.findResources('AWS::SQS::Queue') as Resources);
    const withRedrive = queues.filter((q) => q.Properties.RedrivePolicy);
    expect(withRedrive).toHaveLength(kinds);
    for (const q of withRedrive) {
      expect(q.Properties.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [expect.stringMatching(/Dlq/), 'Arn'] }, maxReceiveCount: 5 });
      expect(q.Properties.VisibilityTimeout).toBe(360);
    }
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping') as Resources);
    expect(mappings).toHaveLength(kinds);
    for (const m of mappings) {
      expect(m.Properties).toMatchObject({ BatchSize: 100, MaximumBatchingWindowInSeconds: 5, FunctionResponseTypes: ['ReportBatchItemFailures'] });
    }
  });

  it('encrypts every queue and refuses non-TLS access to it', () => {
    const queues = template.findResources('AWS::SQS::Queue') as Resources;
    for (const q of Object.values(queues)) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy') as Resources);
    const tlsGuarded = new Set(
      policies
        .filter((p) => p.Properties.PolicyDocument.Statement.some((s: any) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false'))
        .flatMap((p) => p.Properties.Queues.map((q: { Ref: string }) => q.Ref)),
    );
    expect([...tlsGuarded].sort()).toEqual(Object.keys(queues).sort());
  });

  it('puts webhook events on the bus with a fixed source, behind IAM auth', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationSubtype: 'EventBridge-PutEvents',
      RequestParameters: { Source: 'erp.webhook', DetailType: '$request.body.DetailType', Detail: '$request.body.Detail', EventBusName: { Ref: Match.stringLikeRegexp('^ErpBus') } },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /events', AuthorizationType: 'AWS_IAM' });
  });
});

describe('storage', () => {
  it('encrypts the bucket, blocks public access, denies non-TLS and expires trainer output', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'distillery-bucket/' }),
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Prefix: 'checkpoints/', ExpirationInDays: 7, Status: 'Enabled' }),
          Match.objectLike({ Prefix: 'runs/', ExpirationInDays: 30 }),
          Match.objectLike({ Prefix: 'datasets/', Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 90 }] }),
        ]),
      },
    });
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy') as Resources);
    expect(policies).toHaveLength(2);
    for (const p of policies) {
      expect(p.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('creates the three tables of lambdas/aws/config.ts with PITR and encryption', () => {
    const common = { BillingMode: 'PAY_PER_REQUEST', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, SSESpecification: { SSEEnabled: true } };
    template.resourceCountIs('AWS::DynamoDB::Table', 3);
    template.hasResourceProperties('AWS::DynamoDB::Table', { ...common, KeySchema: [{ AttributeName: 'task', KeyType: 'HASH' }, { AttributeName: 'version', KeyType: 'RANGE' }] });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      ...common,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
      GlobalSecondaryIndexes: [Match.objectLike({ IndexName: INDEX.lakeByTask, KeySchema: [{ AttributeName: 'task', KeyType: 'HASH' }, { AttributeName: 'occurredAt', KeyType: 'RANGE' }] })],
    });
  });
});

describe('training', () => {
  it('sends this deployment\'s SageMaker job state changes from the default bus to the orchestrator', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.absent(),
      EventPattern: {
        source: ['aws.sagemaker'],
        'detail-type': ['SageMaker Training Job State Change'],
        detail: { TrainingJobName: builtInTasks.map((t) => ({ prefix: `${t.name}-` })), TrainingJobStatus: ['Completed', 'Failed', 'Stopped'] },
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TrainingOrchestrator'), 'Arn'] } })],
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['distillery'], 'detail-type': ['DatasetReady'] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TrainingOrchestrator'), 'Arn'] } })],
    });
  });

  it('grants iam:PassRole only on the SageMaker role and only to sagemaker.amazonaws.com', () => {
    const all = Object.values(template.findResources('AWS::IAM::Policy') as Resources).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
    const passRole = all.filter((s) => actionsOf(s).some((a) => a.startsWith('iam:')));
    expect(passRole).toEqual([
      {
        Action: 'iam:PassRole',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^TrainingSageMakerRole/), 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      },
    ]);
    expect(statementsOf('TrainingOrchestrator')).toContainEqual(passRole[0]);
  });

  it('lets the orchestrator create and describe only its own tasks\' training jobs', () => {
    const sm = statementsOf('TrainingOrchestrator').filter((s) => actionsOf(s).some((a) => a.startsWith('sagemaker:')));
    expect(sm).toHaveLength(1);
    expect(actionsOf(sm[0]).sort()).toEqual(['sagemaker:AddTags', 'sagemaker:CreateTrainingJob', 'sagemaker:DescribeTrainingJob']);
    const arns = JSON.stringify(sm[0].Resource);
    for (const t of builtInTasks) expect(arns).toContain(`:training-job/${t.name}-*`);
    expect(arns).not.toMatch(/training-job\/\*/);
  });

  it('scopes the SageMaker role to datasets, runs and checkpoints, the image and its logs', () => {
    const s = statementsOf('TrainingSageMakerRole');
    const resources = JSON.stringify(s.map((x) => x.Resource));
    expect(resources).toMatch(/\/datasets\/\*/);
    expect(resources).toMatch(/\/runs\/\*/);
    expect(resources).toMatch(/\/checkpoints\/\*/);
    expect(resources).not.toMatch(/\/models\/\*/);
    expect(resources).toContain(':repository/distillery-trainer');
    expect(resources).toContain('log-group:/aws/sagemaker/TrainingJobs');
    const writes = s.filter((x) => actionsOf(x).includes('s3:PutObject'));
    expect(JSON.stringify(writes.map((x) => x.Resource))).not.toMatch(/datasets/);
  });

  it('hands the orchestrator the training settings named by lambdas/aws/config.ts', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [ENV.trainingImage]: IMAGE,
          [ENV.sagemakerRole]: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TrainingSageMakerRole'), 'Arn'] },
          [ENV.instanceTypes]: JSON.stringify(Object.fromEntries(builtInTasks.map((t) => [t.name, t.trainer.instanceType ?? 'ml.g5.xlarge']))),
          [ENV.maxRuntimeSec]: '14400',
          [ENV.useSpot]: 'true',
          [ENV.eventBus]: { Ref: Match.stringLikeRegexp('^ErpBus') },
          [ENV.tasks]: builtInTasks.map((t) => t.name).join(','),
        }),
      },
    });
  });
});

describe('inference', () => {
  it('puts IAM auth on every route of every API: none is open', () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route') as Resources);
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual(
      ['POST /events', ...builtInTasks.flatMap((t) => [`GET /tasks/${t.name}`, `POST /tasks/${t.name}/predict`])].sort(),
    );
    for (const r of routes) expect(r.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('throttles and access-logs both APIs', () => {
    const stages = Object.values(template.findResources('AWS::ApiGatewayV2::Stage') as Resources);
    expect(stages).toHaveLength(2);
    for (const s of stages) {
      expect(s.Properties.StageName).toBe('$default');
      expect(s.Properties.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: expect.any(Number), ThrottlingBurstLimit: expect.any(Number) });
      expect(s.Properties.AccessLogSettings.DestinationArn).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Arn'] });
    }
  });

  it('lets each inference Lambda read only its own task\'s models and the registry', () => {
    for (const t of builtInTasks) {
      const id = `Inference${t.name.replace(/-/g, '')}`;
      const s = statementsOf(id);
      const resources = JSON.stringify(s.map((x) => x.Resource));
      expect(resources).toContain(`/models/${t.name}/*`);
      for (const other of builtInTasks.filter((o) => o !== t)) expect(resources).not.toContain(`/models/${other.name}/`);
      expect(s.flatMap(actionsOf).filter((a) => /Put|Delete|Write|Update/.test(a))).toEqual([]);
    }
  });

  it('runs every Lambda on Node.js 22 and x86_64', () => {
    const fns = Object.values(template.findResources('AWS::Lambda::Function') as Resources);
    expect(fns.length).toBe(builtInTasks.length * 2 + 3);
    for (const f of fns) {
      expect(f.Properties.Runtime).toBe('nodejs22.x');
      expect(f.Properties.Architectures).toEqual(['x86_64']);
    }
  });
});

describe('monitoring', () => {
  it('alarms on every DLQ, every Lambda\'s errors and each task\'s p99 latency', () => {
    const dlqs = builtInTasks.reduce((n, t) => n + 1 + t.outcomes.length, 0) + 1;
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm') as Resources);
    expect(alarms.filter((a) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible')).toHaveLength(dlqs);
    expect(alarms.filter((a) => a.Properties.MetricName === 'Errors')).toHaveLength(builtInTasks.length * 2 + 3);
    const p99 = alarms.filter((a) => a.Properties.ExtendedStatistic === 'p99');
    expect(p99).toHaveLength(builtInTasks.length);
    expect(p99[0].Properties).toMatchObject({ MetricName: 'Duration', Threshold: 1000 });
    for (const a of alarms) expect(a.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^MonitoringAlarms/) }]);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('cdk-nag', () => {
  it('finds no unacknowledged AwsSolutions violation', () => {
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const found = report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    expect(found).toEqual([]);
  });
});
