import type { TaskDefinition } from '../lambdas/core/task.js';
import { builtInTasks } from '../lambdas/tasks/index.js';
import type { ApiAuth } from './authenticated-http-api.js';
import type { DistilleryStackProps } from './distillery-stack.js';
import { TRAINING_IMAGE_URI_CONTEXT } from './training-image.js';

/**
 * CDK context keys the app reads (`-c key=value` or cdk.json "context"). Lists are comma-separated
 * strings or JSON arrays; nothing here looks up the AWS environment.
 */
export const CONTEXT = {
  /** Tasks to deploy, e.g. `invoice-approval,query-routing`. Default: all built-in tasks. */
  tasks: 'tasks',
  /** Exact ERP source names, e.g. `erp.sap,erp.webhook`. Default: each task's sourcePrefix. */
  erpSources: 'erpSources',
  /** `task=ml.g5.2xlarge,...` or a JSON object. Default: ml.g5.xlarge. */
  instanceTypes: 'instanceTypes',
  /** `iam` (default) or `jwt`. */
  authMode: 'authMode',
  /** JWT issuer URL (authMode=jwt). */
  jwtIssuer: 'jwtIssuer',
  /** JWT audiences, comma-separated (authMode=jwt). */
  jwtAudience: 'jwtAudience',
  /** Browser origins allowed by CORS on the inference API. Default: none. */
  corsOrigins: 'corsOrigins',
  /** Email address for alarm notifications. Default: none. */
  alarmEmail: 'alarmEmail',
  /** Existing training image in ECR; without it the stack builds containers/trainer (Docker at deploy). */
  trainingImageUri: TRAINING_IMAGE_URI_CONTEXT,
  /** `true` (default) or `false`: managed spot training. */
  useSpot: 'useSpot',
  /** Max runtime of one training job, seconds. Default 14400. */
  maxTrainingRuntimeSec: 'maxTrainingRuntimeSec',
  /** Name of the ERP bus. Default `erp`. */
  busName: 'busName',
  /** Stack name. Default `ErpDistillery`. */
  stackName: 'stackName',
  /** `false` skips the cdk-nag AwsSolutions checks at synth. Default: checks run. */
  nag: 'nag',
} as const;

type Lookup = (key: string) => unknown;

function list(value: unknown, key: string): string[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const raw = Array.isArray(value) ? value : String(value).trim().startsWith('[') ? JSON.parse(String(value)) : String(value).split(',');
  if (!Array.isArray(raw) || raw.some((v) => typeof v !== 'string')) throw new Error(`context ${key} must be a comma-separated list or a JSON array of strings`);
  const items = raw.map((v: string) => v.trim()).filter(Boolean);
  if (items.length === 0) throw new Error(`context ${key} must name at least one value`);
  return items;
}

function str(value: unknown): string | undefined {
  return value === undefined || value === null || value === '' ? undefined : String(value);
}

function bool(value: unknown, key: string): boolean | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error(`context ${key} must be true or false, got '${String(value)}'`);
}

function instanceTypes(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'object') return value as Record<string, string>;
  const s = String(value).trim();
  if (s.startsWith('{')) return JSON.parse(s) as Record<string, string>;
  return Object.fromEntries(
    s.split(',').map((pair) => {
      const [task, type] = pair.split('=').map((x) => x.trim());
      if (!task || !type) throw new Error(`context ${CONTEXT.instanceTypes} must be task=type pairs separated by commas, got '${pair}'`);
      return [task, type];
    }),
  );
}

/** Turns CDK context into stack props, failing with the key's name on a bad value. */
export function stackPropsFromContext(get: Lookup, available: readonly TaskDefinition[] = builtInTasks): DistilleryStackProps & { stackName: string; nag: boolean } {
  const taskNames = list(get(CONTEXT.tasks), CONTEXT.tasks);
  const tasks = taskNames?.map((name) => {
    const t = available.find((x) => x.name === name);
    if (!t) throw new Error(`context ${CONTEXT.tasks}: unknown task '${name}'; known: ${available.map((x) => x.name).join(', ')}`);
    return t;
  });
  const mode = str(get(CONTEXT.authMode)) ?? 'iam';
  let auth: ApiAuth;
  if (mode === 'iam') auth = { mode: 'iam' };
  else if (mode === 'jwt') auth = { mode: 'jwt', issuer: str(get(CONTEXT.jwtIssuer)) ?? '', audience: list(get(CONTEXT.jwtAudience), CONTEXT.jwtAudience) ?? [] };
  else throw new Error(`context ${CONTEXT.authMode} must be 'iam' or 'jwt', got '${mode}'`);
  const origins = list(get(CONTEXT.corsOrigins), CONTEXT.corsOrigins);
  const runtime = str(get(CONTEXT.maxTrainingRuntimeSec));
  if (runtime !== undefined && !/^\d+$/.test(runtime)) throw new Error(`context ${CONTEXT.maxTrainingRuntimeSec} must be a whole number of seconds, got '${runtime}'`);
  return {
    stackName: str(get(CONTEXT.stackName)) ?? 'ErpDistillery',
    nag: bool(get(CONTEXT.nag), CONTEXT.nag) ?? true,
    tasks,
    erpSources: list(get(CONTEXT.erpSources), CONTEXT.erpSources),
    instanceTypes: instanceTypes(get(CONTEXT.instanceTypes)),
    auth,
    cors: origins && { allowOrigins: origins },
    alarmEmail: str(get(CONTEXT.alarmEmail)),
    trainingImageUri: str(get(CONTEXT.trainingImageUri)),
    useSpot: bool(get(CONTEXT.useSpot), CONTEXT.useSpot),
    maxTrainingRuntimeSec: runtime === undefined ? undefined : Number(runtime),
    busName: str(get(CONTEXT.busName)),
  };
}
