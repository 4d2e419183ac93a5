import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ENV, HANDLERS } from '../lambdas/aws/config.js';
import type { TaskDefinition } from '../lambdas/core/task.js';
import { AuthenticatedHttpApi, type ApiAuth, type ApiCors } from './authenticated-http-api.js';
import { PREFIX, type DistilleryBucket } from './distillery-bucket.js';
import { DistilleryFunction } from './distillery-function.js';

export interface InferenceApiProps {
  readonly tasks: readonly TaskDefinition[];
  readonly bucket: DistilleryBucket;
  readonly registryTable: dynamodb.ITable;
  /** @default { mode: 'iam' } */
  readonly auth?: ApiAuth;
  /** @default - no CORS */
  readonly cors?: ApiCors;
  /** Stage-wide requests per second. @default 50 */
  readonly throttleRatePerSec?: number;
  /** Burst above the rate. @default 100 */
  readonly throttleBurst?: number;
  /** Memory of each inference Lambda, MiB (more memory = more CPU for onnxruntime). @default 1024 */
  readonly memoryMiB?: number;
  /** Timeout of each inference Lambda, seconds; covers a cold start that loads the model. @default 15 */
  readonly timeoutSec?: number;
}

/**
 * One inference Lambda per task (onnxruntime-node, linux-x64 binaries only) behind one HTTP API:
 * `POST /tasks/<task>/predict` and `GET /tasks/<task>`, every route authenticated.
 */
export class InferenceApi extends Construct {
  readonly http: AuthenticatedHttpApi;
  /** Task name → its inference Lambda. */
  readonly functions: ReadonlyMap<string, DistilleryFunction>;

  constructor(scope: Construct, id: string, props: InferenceApiProps) {
    super(scope, id);
    if (props.tasks.length === 0) throw new Error(`${id}: an inference API needs at least one task`);
    this.http = new AuthenticatedHttpApi(this, 'Http', {
      apiName: 'distillery-inference',
      description: 'ERP Distillery inference: POST /tasks/{task}/predict, GET /tasks/{task}.',
      auth: props.auth,
      cors: props.cors,
      throttleRatePerSec: props.throttleRatePerSec,
      throttleBurst: props.throttleBurst,
    });
    const functions = new Map<string, DistilleryFunction>();
    for (const task of props.tasks) {
      const fn = new DistilleryFunction(this, `${task.name}`, {
        entry: HANDLERS.inference,
        description: `Inference for ${task.name}: serves the registry's production model (onnxruntime-node).`,
        environment: {
          [ENV.bucket]: props.bucket.bucket.bucketName,
          [ENV.registryTable]: props.registryTable.tableName,
          [ENV.task]: task.name,
        },
        memoryMiB: props.memoryMiB ?? 1024,
        timeoutSec: props.timeoutSec ?? 15,
        shipOnnxRuntime: true,
      });
      props.bucket.grantReadPrefixes(fn.function, [`${PREFIX.models}${task.name}/`]);
      props.registryTable.grantReadData(fn.function);
      const integration = new HttpLambdaIntegration(`${task.name}Integration`, fn.function);
      this.http.api.addRoutes({ path: `/tasks/${task.name}/predict`, methods: [apigwv2.HttpMethod.POST], integration });
      this.http.api.addRoutes({ path: `/tasks/${task.name}`, methods: [apigwv2.HttpMethod.GET], integration });
      functions.set(task.name, fn);
    }
    this.functions = functions;
  }

  /** Lets `grantee` call the task routes with SigV4 (IAM auth mode). */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return this.http.grantInvoke(grantee, '/tasks/*');
  }
}
