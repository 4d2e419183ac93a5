import { RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** How callers authenticate: SigV4-signed requests (IAM), or a JWT from an OIDC issuer. */
export type ApiAuth =
  | { readonly mode: 'iam' }
  | { readonly mode: 'jwt'; /** OIDC issuer URL, https. */ readonly issuer: string; /** Accepted `aud` values (≥ 1). */ readonly audience: readonly string[] };

export interface ApiCors {
  /** Origins allowed to call from a browser, e.g. `https://erp.example.com`. */
  readonly allowOrigins: readonly string[];
  /** Seconds a browser may cache the preflight answer. @default 600 */
  readonly maxAgeSec?: number;
}

export interface AuthenticatedHttpApiProps {
  /** API name, shown in the console. */
  readonly apiName: string;
  readonly description: string;
  /** @default { mode: 'iam' } */
  readonly auth?: ApiAuth;
  /** Steady-state requests per second across the stage. @default 50 */
  readonly throttleRatePerSec?: number;
  /** Burst of requests above the rate. @default 100 */
  readonly throttleBurst?: number;
  /** Browser CORS. @default - no CORS: only server-side callers */
  readonly cors?: ApiCors;
  /** Days the access-log group keeps its logs. @default 90 */
  readonly accessLogRetentionDays?: logs.RetentionDays;
}

/** Validates an auth setting; throws naming the rule. */
export function validateAuth(auth: ApiAuth, where: string): void {
  if (auth.mode === 'iam') return;
  if (auth.mode !== 'jwt') throw new Error(`${where}: auth mode must be 'iam' or 'jwt', got '${(auth as { mode: string }).mode}'`);
  if (!/^https:\/\/[^\s/]+/.test(auth.issuer ?? '')) throw new Error(`${where}: a JWT issuer must be an https URL, got '${auth.issuer}'`);
  if (!auth.audience || auth.audience.length === 0 || auth.audience.some((a) => !a)) {
    throw new Error(`${where}: a JWT authorizer needs at least one non-empty audience`);
  }
}

/**
 * An HTTP API whose every route is authenticated (IAM by default, JWT as an option), with stage
 * throttling, JSON access logs to a log group and opt-in CORS. Add routes with `addRoutes`.
 */
export class AuthenticatedHttpApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogs: logs.LogGroup;
  readonly auth: ApiAuth;

  constructor(scope: Construct, id: string, props: AuthenticatedHttpApiProps) {
    super(scope, id);
    this.auth = props.auth ?? { mode: 'iam' };
    validateAuth(this.auth, id);
    const rate = props.throttleRatePerSec ?? 50;
    const burst = props.throttleBurst ?? 100;
    if (!(rate > 0) || !Number.isInteger(burst) || burst < 1) {
      throw new Error(`${id}: throttling needs throttleRatePerSec > 0 and a whole throttleBurst ≥ 1, got ${rate} and ${burst}`);
    }
    if (props.cors) {
      if (props.cors.allowOrigins.length === 0) throw new Error(`${id}: cors.allowOrigins needs at least one origin; omit cors to disable it`);
      for (const o of props.cors.allowOrigins) {
        if (o !== '*' && !/^https?:\/\/[^\s/]+$/.test(o)) throw new Error(`${id}: a CORS origin is '*' or scheme://host[:port] with no path, got '${o}'`);
      }
    }
    const defaultAuthorizer =
      this.auth.mode === 'iam'
        ? new HttpIamAuthorizer()
        : new HttpJwtAuthorizer(`${id}Jwt`, this.auth.issuer, { jwtAudience: [...this.auth.audience] });
    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: props.apiName,
      description: props.description,
      createDefaultStage: false,
      defaultAuthorizer,
      corsPreflight: props.cors && {
        allowOrigins: [...props.cors.allowOrigins],
        allowMethods: [apigwv2.CorsHttpMethod.GET, apigwv2.CorsHttpMethod.POST],
        allowHeaders: ['content-type', 'authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256'],
        maxAge: undefined,
      },
    });
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetentionDays ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = this.api.addStage('Stage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: rate, burstLimit: burst },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: apigw.AccessLogFormat.jsonWithStandardFields(),
      },
    });
  }

  /** The stage's base URL. */
  get url(): string {
    return this.stage.url;
  }

  /** Lets `grantee` call the API with SigV4 (IAM mode), on `path` (e.g. `/tasks/*`) and any method. */
  grantInvoke(grantee: iam.IGrantable, path = '/*'): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [this.api.arnForExecuteApi('*', path, '*')],
    });
  }
}
