/**
 * `npm run bench`: the time of each phase on banking77 (import, snapshot, teacher, student,
 * evaluation) and single-instance inference latency of the student and the teacher on
 * onnxruntime-node, interleaved in one run so both see the same machine noise. Medians and ratios.
 *
 *   npm run bench                      # banking77 from ../shared/data
 *   npm run bench -- --dataset accounts-receivable --runs 2000
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { quantile } from '../lambdas/core/metrics.js';
import { Featurizer } from '../lambdas/core/featurizer.js';
import { batchOf } from '../lambdas/core/batch.js';
import { Workspace } from '../lambdas/embedded/workspace.js';
import { builtInTasks } from '../lambdas/tasks/index.js';
import { importFile, loadMapping } from '../lambdas/cli/import-file.js';
import { DEFAULT_DATA_DIR, REPO_ROOT } from '../lambdas/cli/real.js';
import { runTrain } from '../lambdas/cli/train.js';
import { OnnxModel } from '../lambdas/runtime/onnx-model.js';
import type { BundleManifest } from '../lambdas/runtime/serving-model.js';
import { parseCsv } from '../lambdas/core/csv.js';
import { existsSync, readFileSync } from 'node:fs';
import { MODEL_NAMES } from '../lambdas/core/summary.js';

const { values } = parseArgs({
  options: { dataset: { type: 'string', default: 'banking77' }, runs: { type: 'string', default: '2000' }, 'data-dir': { type: 'string' }, keep: { type: 'boolean' } },
});
const dataDir = values['data-dir'] ?? DEFAULT_DATA_DIR;
const runs = Number(values.runs);
const sets: Record<string, { task: string; files: [string, string][]; testSince?: string; sampleField: string; column: string }> = {
  banking77: { task: 'query-routing', files: [['banking77/train.csv', 'banking77-train.json'], ['banking77/test.csv', 'banking77-test.json']], testSince: '2025-01-01T00:00:00Z', sampleField: 'text', column: 'text' },
  'accounts-receivable': { task: 'invoice-dispute', files: [['accounts-receivable/accounts-receivable.csv', 'accounts-receivable.json']], sampleField: '', column: '' },
};
const ds = sets[values.dataset as string];
if (!ds) throw new Error(`--dataset must be one of ${Object.keys(sets).join(', ')}`);

const home = mkdtempSync(join(tmpdir(), 'distillery-bench-'));
const ws = new Workspace(home, builtInTasks);
const phases: [string, number][] = [];
const out = (s: string) => process.stdout.write(s + '\n');
out(`bench: ${values.dataset} on ${process.platform}/${process.arch}, node ${process.version}, workspace ${home}`);

let t0 = performance.now();
for (const [file, mapping] of ds.files) await importFile(ws, join(dataDir, file), loadMapping(join(REPO_ROOT, 'mappings', mapping)));
phases.push(['import (CSV → events → ingest → SQLite)', (performance.now() - t0) / 1000]);
const result = await runTrain(ws, ds.task, { testSince: ds.testSince, quiet: true });
for (const [k, label] of [['join', 'label join'], ['snapshot', 'snapshot (featurize + .npy)'], ['teacher', 'teacher training (PyTorch)'], ['student', 'student distillation + hard-label baseline'], ['evaluate', 'evaluation on onnxruntime-node']] as const) {
  phases.push([label, result.timingsSec[k]]);
}

// single-instance latency, interleaved: featurize one raw record + run the ONNX model, as the handler does
const bundle = ws.blobs.pathOf(result.record.bundleKey);
const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')) as BundleManifest;
const featurizer = Featurizer.restore(manifest.featurizer);
const files: Record<string, string> = {
  teacher: 'teacher.onnx', student: 'student-distilled.onnx', 'student-pruned': 'model.fp32.onnx', 'student-int8': 'model.int8.onnx',
};
const models: Record<string, OnnxModel> = {};
for (const [name, file] of Object.entries(files)) if (existsSync(join(bundle, file))) models[name] = await OnnxModel.load(join(bundle, file));
const names = Object.keys(models);
const records = ds.column
  ? parseCsv(readFileSync(join(dataDir, ds.files[ds.files.length - 1][0]), 'utf8')).rows.slice(0, 500).map((r) => ({ [ds.sampleField]: r.record[ds.column] }))
  : (await ws.store.labelled(ds.task)).slice(-500).map((e) => e.data);
const times: Record<string, number[]> = { featurize: [], ...Object.fromEntries(names.map((n) => [n, []])) };
for (let i = -100; i < runs; i++) {
  const rec = records[((i % records.length) + records.length) % records.length];
  const f0 = performance.now();
  const batch = batchOf([featurizer.transform(rec)], manifest.featurizer.denseDim, manifest.featurizer.maxTokens);
  const f1 = performance.now();
  if (i >= 0) times.featurize.push(f1 - f0);
  for (const name of i % 2 ? names : [...names].reverse()) {
    const s = performance.now();
    await models[name].predict(batch);
    if (i >= 0) times[name].push(performance.now() - s);
  }
}
const lat = Object.fromEntries(Object.entries(times).map(([k, v]) => {
  const s = v.sort((a, b) => a - b);
  return [k, { p50: quantile(s, 0.5), p99: quantile(s, 0.99) }];
}));

out('\nphase                                          seconds');
for (const [name, sec] of phases) out(`${name.padEnd(46)} ${sec.toFixed(2).padStart(8)}`);
out(`\nsingle-instance latency, onnxruntime-node, 1 thread, ${runs} runs interleaved (ms)`);
out('model                           params      bytes      p50      p99   metric');
const m = result.evaluation.models;
const metric = (x: typeof m.student) => (ds.task === 'invoice-dispute' ? `AUC ${x.auc?.toFixed(4)}` : `accuracy ${x.accuracy.toFixed(4)}`);
for (const name of names) {
  out(`${MODEL_NAMES[name].padEnd(28)} ${String(result.params[name]).padStart(9)} ${String(m[name].bytes).padStart(10)} ${lat[name].p50.toFixed(4).padStart(8)} ${lat[name].p99.toFixed(4).padStart(8)}   ${metric(m[name])}`);
}
out(`featurize one record (TypeScript): p50 ${lat.featurize.p50.toFixed(4)} ms, p99 ${lat.featurize.p99.toFixed(4)} ms`);
const served = result.served.variant;
out(`\nserved student (${MODEL_NAMES[served]}) vs teacher: ${(lat.teacher.p50 / lat[served].p50).toFixed(2)}× faster at p50, ${(lat.teacher.p99 / lat[served].p99).toFixed(2)}× at p99, ` +
  `${(m.teacher.bytes / m[served].bytes).toFixed(1)}× smaller file, ${(result.params.teacher / result.params[served]).toFixed(1)}× fewer parameters`);
if (lat['student-int8']) out(`int8 vs pruned fp32: p50 ratio ${(lat['student-int8'].p50 / lat['student-pruned'].p50).toFixed(3)}, file ${(m['student-pruned'].bytes / m['student-int8'].bytes).toFixed(2)}× smaller`);
for (const model of Object.values(models)) await model.release();
ws.close();
if (!values.keep) rmSync(home, { recursive: true, force: true });
