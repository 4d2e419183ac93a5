/** What every handler reads from its environment (names in config.ts), read once and failing fast. */
import type { TaskDefinition } from '../core/task.js';
import { builtInTasks } from '../tasks/index.js';
import { ENV, optionalEnv, requireEnv } from './config.js';

/** The tasks this deployment runs (DISTILLERY_TASKS); an unknown name is an error, not a silent skip. */
export function deployedTasks(env: Record<string, string | undefined> = process.env): TaskDefinition[] {
  const names = requireEnv(ENV.tasks, env).split(',').map((s) => s.trim()).filter(Boolean);
  return names.map((n) => {
    const t = builtInTasks.find((x) => x.name === n);
    if (!t) throw new Error(`${ENV.tasks} names unknown task "${n}"; known: ${builtInTasks.map((x) => x.name).join(', ')}`);
    return t;
  });
}

export function instanceTypes(env: Record<string, string | undefined> = process.env): Record<string, string> {
  const raw = optionalEnv(ENV.instanceTypes, env);
  if (!raw) return {};
  try {
    return JSON.parse(raw) as Record<string, string>;
  } catch (err) {
    throw new Error(`${ENV.instanceTypes} is not a JSON object: ${raw}`, { cause: err });
  }
}

export const systemClock = { now: () => new Date() };
export const codeVersion = (env: Record<string, string | undefined> = process.env) => env.AWS_LAMBDA_FUNCTION_VERSION ?? 'unknown';
