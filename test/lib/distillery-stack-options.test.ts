import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { invoiceApproval } from '../../lambdas/tasks/index.js';
import { stackPropsFromContext } from '../../lib/app-context.js';
import { DistilleryStack, type DistilleryStackProps } from '../../lib/distillery-stack.js';

const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/distillery-trainer:latest';
const newApp = () => new App({ context: { 'aws:cdk:bundling-stacks': [] } });

describe('options: JWT auth, CORS, alarm email, explicit sources, and the default (built) training image', () => {
  let app: App;
  let template: Template;

  beforeAll(() => {
    // GIVEN one task, JWT auth, CORS, an alarm email, exact ERP sources and no trainingImageUri
    app = newApp();
    const stack = new DistilleryStack(app, 'Options', {
      tasks: [invoiceApproval],
      erpSources: ['erp.sap', 'erp.webhook'],
      auth: { mode: 'jwt', issuer: 'https://login.example.com/tenant', audience: ['distillery'] },
      cors: { allowOrigins: ['https://erp.example.com'] },
      alarmEmail: 'ops@example.com',
      instanceTypes: { 'invoice-approval': 'ml.g5.2xlarge' },
      useSpot: false,
    });
    // WHEN it is synthesised
    template = Template.fromStack(stack);
  });

  it('uses a JWT authorizer on every route', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: 'https://login.example.com/tenant', Audience: ['distillery'] },
    });
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes).toHaveLength(3);
    for (const r of routes) {
      expect(r.Properties.AuthorizationType).toBe('JWT');
      expect(r.Properties.AuthorizerId).toEqual({ Ref: expect.any(String) });
    }
  });

  it('allows the configured browser origin only on the inference API', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      Name: 'distillery-inference',
      CorsConfiguration: Match.objectLike({ AllowOrigins: ['https://erp.example.com'], AllowMethods: ['GET', 'POST'] }),
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { Name: 'erp-webhook', CorsConfiguration: Match.absent() });
  });

  it('passes cdk-nag AwsSolutions checks with JWT auth and the built image too', () => {
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });

  it('subscribes the alarm email', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  it('filters ERP events on the exact sources given', () => {
    template.hasResourceProperties('AWS::Events::Rule', { EventPattern: { source: ['erp.sap', 'erp.webhook'], 'detail-type': ['Invoice.Posted'] } });
  });

  it('passes instance types and spot choice to the orchestrator', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DISTILLERY_INSTANCE_TYPES: '{"invoice-approval":"ml.g5.2xlarge"}', DISTILLERY_USE_SPOT: 'false' }) },
    });
  });

  it('builds the training image from containers/trainer for linux/amd64 by default (no Docker needed to synth)', () => {
    const assembly = app.synth();
    const manifest = JSON.parse(readFileSync(join(assembly.directory, 'Options.assets.json'), 'utf8')) as {
      dockerImages: Record<string, { source: { directory: string; platform?: string } }>;
    };
    const images = Object.values(manifest.dockerImages);
    expect(images).toHaveLength(1);
    expect(images[0].source.platform).toBe('linux/amd64');
    // the staged build context is containers/trainer, Dockerfile included and tests left out
    const staged = readdirSync(join(assembly.directory, images[0].source.directory));
    expect(staged).toEqual(expect.arrayContaining(['Dockerfile', 'requirements.txt', 'distillery_trainer']));
    expect(staged).not.toContain('tests');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DISTILLERY_TRAINING_IMAGE: { 'Fn::Sub': Match.stringLikeRegexp('cdk-hnb659fds-container-assets') } }) },
    });
  });
});

describe('validation at synth', () => {
  const build = (props: DistilleryStackProps) => () => new DistilleryStack(newApp(), 'Bad', { trainingImageUri: IMAGE, tasks: [invoiceApproval], ...props });

  it.each<[string, DistilleryStackProps, RegExp]>([
    ['a non-ECR image', { trainingImageUri: 'docker.io/library/python:3' }, /must be an ECR image URI/],
    ['JWT without an https issuer', { auth: { mode: 'jwt', issuer: 'http://x', audience: ['a'] } }, /issuer must be an https URL/],
    ['JWT without an audience', { auth: { mode: 'jwt', issuer: 'https://x', audience: [] } }, /at least one non-empty audience/],
    ['sources that miss the webhook', { erpSources: ['erp.sap'] }, /must include the webhook source 'erp.webhook'/],
    ['a bad instance type', { instanceTypes: { 'invoice-approval': 'g5.xlarge' } }, /must look like ml\.<family>\.<size>/],
    ['an instance type for an unknown task', { instanceTypes: { nope: 'ml.g5.xlarge' } }, /names task 'nope'/],
    ['a bad alarm email', { alarmEmail: 'ops' }, /alarmEmail must be an email address/],
    ['a CORS origin with a path', { cors: { allowOrigins: ['https://x.example.com/app'] } }, /scheme:\/\/host/],
    ['a runtime over SageMaker\'s limit', { maxTrainingRuntimeSec: 3_000_000 }, /maxRuntimeSec must be a whole number from 1 to 2419200/],
  ])('refuses %s', (_name, props, message) => {
    expect(build(props)).toThrow(message);
  });
});

describe('CDK context', () => {
  const ctx = (values: Record<string, unknown>) => (key: string) => values[key];

  it('reads lists, instance types, auth and flags from -c strings', () => {
    const props = stackPropsFromContext(
      ctx({ tasks: 'invoice-approval,query-routing', instanceTypes: 'query-routing=ml.g5.2xlarge', authMode: 'jwt', jwtIssuer: 'https://i', jwtAudience: 'a,b', useSpot: 'false', trainingImageUri: IMAGE, maxTrainingRuntimeSec: '7200' }),
    );
    expect(props.tasks?.map((t) => t.name)).toEqual(['invoice-approval', 'query-routing']);
    expect(props.instanceTypes).toEqual({ 'query-routing': 'ml.g5.2xlarge' });
    expect(props.auth).toEqual({ mode: 'jwt', issuer: 'https://i', audience: ['a', 'b'] });
    expect(props).toMatchObject({ useSpot: false, trainingImageUri: IMAGE, maxTrainingRuntimeSec: 7200, stackName: 'ErpDistillery', nag: true });
  });

  it('defaults to every task, IAM auth and no CORS', () => {
    const props = stackPropsFromContext(ctx({}));
    expect(props).toMatchObject({ tasks: undefined, auth: { mode: 'iam' }, cors: undefined, trainingImageUri: undefined });
  });

  it('names the key of a bad value', () => {
    expect(() => stackPropsFromContext(ctx({ tasks: 'nope' }))).toThrow(/context tasks: unknown task 'nope'/);
    expect(() => stackPropsFromContext(ctx({ authMode: 'basic' }))).toThrow(/context authMode must be 'iam' or 'jwt'/);
    expect(() => stackPropsFromContext(ctx({ useSpot: 'yes' }))).toThrow(/context useSpot must be true or false/);
  });
});
