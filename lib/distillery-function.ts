import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { NodejsFunction, OutputFormat, type ICommandHooks } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';

/** The repository root: handler entries (lambdas/aws/config.ts HANDLERS) are relative to it. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * ESM bundles still meet CommonJS dependencies that call `require` (the AWS SDK's, ajv's); Node's ESM
 * scope has no `require`, so the bundle gets one made for its own location.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __distilleryCreateRequire } from 'node:module'; const require = __distilleryCreateRequire(import.meta.url);";

/** onnxruntime-node platform folders that Lambda (linux x64) never loads; together ~245 MB. */
export const FOREIGN_ONNX_BINARIES = ['darwin', 'win32', 'linux/arm64'] as const;

/**
 * Copies onnxruntime-node (+ onnxruntime-common) into the asset's node_modules with only the linux-x64
 * binaries: the package ships every platform (~290 MB), over Lambda's 250 MB unzipped limit. No npm
 * install runs, so nothing downloads CUDA binaries; the build fails if the linux-x64 binding is absent.
 */
export const onnxRuntimeHooks: ICommandHooks = {
  beforeBundling: () => [],
  beforeInstall: () => [],
  afterBundling: (inputDir: string, outputDir: string) => {
    const excludes = FOREIGN_ONNX_BINARIES.map((p) => `--exclude=onnxruntime-node/bin/napi-v6/${p}`).join(' ');
    return [
      `mkdir -p "${outputDir}/node_modules"`,
      `tar -C "${inputDir}/node_modules" ${excludes} -cf - onnxruntime-node onnxruntime-common | tar -C "${outputDir}/node_modules" -xf -`,
      `test -f "${outputDir}/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node"`,
    ];
  },
};

export interface DistilleryFunctionProps {
  /** Handler entry file relative to the repository root (a `HANDLERS` value); it exports `handler`. */
  readonly entry: string;
  /** What the function does, shown in the console. */
  readonly description: string;
  /** Environment variables, named by `ENV` in lambdas/aws/config.ts. */
  readonly environment: Readonly<Record<string, string>>;
  /** Memory in MiB, 128–10240. @default 512 */
  readonly memoryMiB?: number;
  /** Timeout in seconds, 1–900. @default 30 */
  readonly timeoutSec?: number;
  /** Ship onnxruntime-node (linux-x64 binaries only) as node_modules next to the bundle. @default false */
  readonly shipOnnxRuntime?: boolean;
  /** Days the function's log group keeps its logs. @default 30 */
  readonly logRetentionDays?: logs.RetentionDays;
}

/**
 * One Distillery Lambda: Node.js 22 on x86_64, bundled by esbuild as ESM with a `require` banner for
 * CommonJS dependencies, logging to its own log group with a retention.
 */
export class DistilleryFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: DistilleryFunctionProps) {
    super(scope, id);
    const memoryMiB = props.memoryMiB ?? 512;
    const timeoutSec = props.timeoutSec ?? 30;
    if (!Number.isInteger(memoryMiB) || memoryMiB < 128 || memoryMiB > 10240) {
      throw new Error(`${id}: memoryMiB must be a whole number from 128 to 10240 (Lambda's range), got ${memoryMiB}`);
    }
    if (!Number.isInteger(timeoutSec) || timeoutSec < 1 || timeoutSec > 900) {
      throw new Error(`${id}: timeoutSec must be a whole number from 1 to 900 (Lambda's limit), got ${timeoutSec}`);
    }
    const ship = props.shipOnnxRuntime ?? false;
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.function = new NodejsFunction(this, 'Function', {
      entry: join(REPO_ROOT, props.entry),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.X86_64,
      memorySize: memoryMiB,
      timeout: Duration.seconds(timeoutSec),
      logGroup: this.logGroup,
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // The SDK is bundled so its version is the one tested; better-sqlite3 is the embedded store only.
        externalModules: ship ? ['onnxruntime-node', 'onnxruntime-common', 'better-sqlite3'] : ['better-sqlite3'],
        commandHooks: ship ? onnxRuntimeHooks : undefined,
      },
    });
    acknowledge(this.function, [
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs.',
      },
      { id: 'AwsSolutions-L1', reason: 'Node.js 22 is the runtime this project targets and tests (issue 4); newer runtimes are adopted deliberately, not by lint.' },
    ]);
  }
}
