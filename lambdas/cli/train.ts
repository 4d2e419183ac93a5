/** `distillery train`: one run with the embedded ports, printing progress, the table and the verdict. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { trainTask, type TrainResult } from '../core/train-run.js';
import { taskByName } from '../tasks/index.js';
import { evaluateModels } from '../runtime/evaluate.js';
import type { Workspace } from '../embedded/workspace.js';
import { writeReport } from './report.js';
import { Progress } from './progress.js';

export const CODE_VERSION = (() => {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };
  return pkg.version;
})();

export async function runTrain(ws: Workspace, taskName: string, opts: { testSince?: string; quiet?: boolean } = {}): Promise<TrainResult> {
  const task = taskByName(taskName, ws.tasks);
  if (!task) throw new Error(`unknown task "${taskName}"; known tasks: ${ws.tasks.map((t) => t.name).join(', ')}`);
  const progress = new Progress(process.stderr, opts.quiet);
  const result = await trainTask(
    task,
    {
      lake: ws.store,
      blobs: ws.blobs,
      launcher: ws.launcher,
      registry: ws.store,
      publisher: ws.bus,
      clock: ws.clock,
      evaluate: (input) => evaluateModels(input),
      codeVersion: CODE_VERSION,
      log: (line) => progress.done(`[${task.name}] ${line}`),
      onProgress: (p) => progress.training(p),
    },
    { testSince: opts.testSince },
  );
  progress.done();
  await writeReport(ws.blobs, result);
  return result;
}

export function formatTrain(r: TrainResult, reportPath: string): string {
  return [
    '',
    `${r.record.task} v${r.record.version} — test split: ${r.manifest.counts.test} rows from ${r.manifest.timeRanges.test.from} to ${r.manifest.timeRanges.test.to}`,
    r.table,
    '',
    `compression: ${r.served.reason}`,
    `gate: ${r.verdict.passed ? 'PASSED' : 'FAILED'} → ${r.record.status}`,
    ...r.verdict.reasons.map((x) => `  - ${x}`),
    `report: ${reportPath}`,
  ].join('\n');
}
