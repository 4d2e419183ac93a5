/**
 * One training run for one task, wired only to ports: snapshot → teacher job → student job →
 * bundle → evaluation on the serving runtime → gate → registry → promotion. The CLI runs it with
 * embedded adapters; the AWS orchestrator runs the same steps from events.
 */
import { createHash, randomBytes } from 'node:crypto';
import { batchFromNpy, type Batch } from './batch.js';
import { gate, type GateVerdict } from './gate.js';
import { writeSnapshot, type SnapshotManifest } from './snapshot.js';
import { paramsOf, type TaskDefinition } from './task.js';
import type { BlobStore, Clock, EventPublisher, Lake, ModelRecord, ModelRegistry, TrainerLauncher, TrainingProgress } from '../ports/index.js';

export interface ModelEvaluationLike {
  accuracy: number;
  macroF1: number;
  f1?: number;
  auc?: number;
  bytes: number;
  latencyMs: { p50: number; p99: number; runs: number };
  parityMaxAbsDiff: number;
}

export interface EvaluationLike {
  models: Record<string, ModelEvaluationLike>;
  agreementWithTeacher: Record<string, number>;
  testRows: number;
}

export type Evaluator = (input: {
  files: Record<string, Uint8Array>;
  teacher: string;
  test: Batch;
  y: Int32Array;
  probes: { rows: number; inputs: { dense: number[][]; ids: number[][]; weights: number[][] }; outputs: Record<string, { probabilities: number[][] }> };
}) => Promise<EvaluationLike>;

export interface TrainDeps {
  lake: Lake;
  blobs: BlobStore;
  launcher: TrainerLauncher;
  registry: ModelRegistry;
  publisher: EventPublisher;
  clock: Clock;
  evaluate: Evaluator;
  codeVersion: string;
  log?: (line: string) => void;
  onProgress?: (p: TrainingProgress) => void;
}

export interface TrainResult {
  record: ModelRecord;
  verdict: GateVerdict;
  evaluation: EvaluationLike;
  manifest: SnapshotManifest;
  params: { teacher: number; student: number };
  distillationGain: number;
  table: string;
  /** Per-epoch training curves of each model, as the trainer logged them; `valMetric` is the validation metric. */
  history: [string, Record<string, number>[]][];
  /** Wall-clock seconds of each phase of the run. */
  timingsSec: Record<string, number>;
}

/** The trainer's hyperparameters: every value a string, as SageMaker passes them. */
export function hyperparameters(task: TaskDefinition, phase: 'teacher' | 'student'): Record<string, string> {
  return {
    phase,
    task_kind: task.kind,
    seed: String(task.trainer.seed),
    batch_size: String(task.trainer.batchSize),
    teacher: JSON.stringify(task.teacher),
    student: JSON.stringify(task.student),
    temperature: String(task.distillation.temperature),
    alpha: String(task.distillation.alpha),
  };
}

/** SageMaker job names: ≤ 63 characters of letters, digits and hyphens, unique per run. */
export function jobName(task: string, phase: string, now: Date, nonce = randomBytes(3).toString('hex')): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const head = task.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63 - stamp.length - phase.length - nonce.length - 3);
  return `${head}-${phase}-${stamp}-${nonce}`.replace(/-+/g, '-');
}

export const metricOf = (task: TaskDefinition, m: ModelEvaluationLike): number =>
  task.gate.metric === 'auc' ? m.auc ?? NaN : task.gate.metric === 'f1' ? m.f1 ?? NaN : m.accuracy;

async function readJson<T>(blobs: BlobStore, key: string): Promise<T> {
  return JSON.parse((await blobs.get(key)).toString('utf8')) as T;
}

export async function trainTask(task: TaskDefinition, deps: TrainDeps, opts: { testSince?: string } = {}): Promise<TrainResult> {
  const log = deps.log ?? (() => {});
  const started = deps.clock.now();
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await f();
    } finally {
      timings[name] = (Date.now() - t0) / 1000;
    }
  };

  const examples = await timed('join', () => deps.lake.labelled(task.name));
  if (examples.length < 30) throw new Error(`task ${task.name} has only ${examples.length} labelled examples; import at least 30 (see distillery import --help)`);
  log(`snapshot: ${examples.length} labelled examples`);
  const { key: datasetKey, manifest } = await timed('snapshot', () =>
    writeSnapshot(task, examples, { blobs: deps.blobs, now: deps.clock.now() }, { testSince: opts.testSince }),
  );
  log(`snapshot ${manifest.snapshotId}: train ${manifest.counts.train} · validation ${manifest.counts.validation} · test ${manifest.counts.test}`);
  await deps.publisher.publish([{ source: 'distillery', detailType: 'DatasetReady', detail: { task: task.name, snapshotId: manifest.snapshotId, key: datasetKey, counts: manifest.counts } }]);

  const runKey = `runs/${task.name}/${manifest.snapshotId}`;
  const teacherJob = jobName(task.name, 'teacher', started);
  const studentJob = jobName(task.name, 'student', started);
  await timed('teacher', () =>
    deps.launcher.run({ name: teacherJob, phase: 'teacher', channels: { dataset: datasetKey }, hyperparameters: hyperparameters(task, 'teacher'), outputKey: `${runKey}/teacher` }, deps.onProgress),
  );
  await deps.publisher.publish([{ source: 'distillery', detailType: 'TrainingPhaseCompleted', detail: { task: task.name, phase: 'teacher', job: teacherJob } }]);
  await timed('student', () =>
    deps.launcher.run(
      { name: studentJob, phase: 'student', channels: { dataset: datasetKey, teacher: `${runKey}/teacher` }, hyperparameters: hyperparameters(task, 'student'), outputKey: `${runKey}/student` },
      deps.onProgress,
    ),
  );
  await deps.publisher.publish([{ source: 'distillery', detailType: 'TrainingPhaseCompleted', detail: { task: task.name, phase: 'student', job: studentJob } }]);

  // bundle (DESIGN 4.6)
  const version = await deps.registry.nextVersion(task.name);
  const bundleKey = `models/${task.name}/${version}`;
  const files: Record<string, Uint8Array> = {
    teacher: await deps.blobs.get(`${runKey}/teacher/teacher.onnx`),
    student: await deps.blobs.get(`${runKey}/student/student.onnx`),
    'student-baseline': await deps.blobs.get(`${runKey}/student/student-baseline.onnx`),
  };
  const teacherProbes = await readJson<Parameters<Evaluator>[0]['probes']>(deps.blobs, `${runKey}/teacher/probes.json`);
  const studentProbes = await readJson<Parameters<Evaluator>[0]['probes']>(deps.blobs, `${runKey}/student/probes.json`);
  const probes = { ...studentProbes, outputs: { ...teacherProbes.outputs, ...studentProbes.outputs } };
  const trainerMetrics = {
    teacher: await readJson<Record<string, unknown>>(deps.blobs, `${runKey}/teacher/metrics.json`),
    student: await readJson<Record<string, unknown>>(deps.blobs, `${runKey}/student/metrics.json`),
  };

  const split = async (name: string) => deps.blobs.get(`${datasetKey}/test/${name}.npy`);
  const { batch: test, y } = batchFromNpy({ dense: await split('dense'), ids: await split('ids'), weights: await split('weights'), y: await split('y') });
  log(`evaluating teacher, student and undistilled student on ${test.n} test rows with onnxruntime-node`);
  const evaluation = await timed('evaluate', () => deps.evaluate({ files, teacher: 'teacher', test, y, probes }));

  const C = manifest.labels.length, D = manifest.featurizer.denseDim;
  // the trainer counts its own parameters; the formula is the fallback for a trainer that does not
  const counted = trainerMetrics as { teacher: { params?: number }; student: { students?: { distilled?: { params?: number } } } };
  const params = {
    teacher: counted.teacher.params ?? paramsOf(task.teacher, C, D),
    student: counted.student.students?.distilled?.params ?? paramsOf(task.student, C, D),
  };
  const s = evaluation.models.student, t = evaluation.models.teacher, b = evaluation.models['student-baseline'];
  const distillationGain = metricOf(task, s) - metricOf(task, b);
  const production = await deps.registry.production(task.name);
  const prodMetric = production ? (production.metrics as { student?: ModelEvaluationLike }).student : undefined;
  const maxParity = Math.max(...Object.values(evaluation.models).map((m) => m.parityMaxAbsDiff));
  const verdict = gate({
    spec: task.gate,
    student: { metric: metricOf(task, s), p99Ms: s.latencyMs.p99 },
    teacher: { metric: metricOf(task, t), p99Ms: t.latencyMs.p99 },
    agreement: evaluation.agreementWithTeacher.student,
    parity: { ok: maxParity <= 1e-4, maxAbsDiff: maxParity },
    production: production && prodMetric ? { version: production.version, metric: metricOf(task, prodMetric) } : undefined,
  });

  const sha = (buf: Uint8Array) => createHash('sha256').update(buf).digest('hex');
  const bundleFiles: Record<string, Uint8Array> = {
    'model.onnx': files.student,
    'model.fp32.onnx': files.student,
    'student-baseline.onnx': files['student-baseline'],
    'teacher.onnx': files.teacher,
  };
  const metrics = {
    task: task.name,
    version,
    metric: task.gate.metric,
    teacher: t,
    student: s,
    baseline: b,
    agreementWithTeacher: evaluation.agreementWithTeacher,
    distillationGain,
    params,
    testRows: evaluation.testRows,
    timingsSec: timings,
    trainer: trainerMetrics,
  };
  const bundleManifest = {
    task: task.name,
    kind: task.kind,
    version,
    labels: manifest.labels,
    featurizer: manifest.featurizer,
    inputs: { dense: ['batch', D], ids: ['batch', manifest.featurizer.maxTokens], weights: ['batch', manifest.featurizer.maxTokens] },
    outputs: { logits: ['batch', C], probabilities: ['batch', C] },
    served: 'model.onnx',
    files: Object.fromEntries(Object.entries(bundleFiles).map(([n, buf]) => [n, { sha256: sha(buf), bytes: buf.byteLength }])),
    snapshot: { id: manifest.snapshotId, key: datasetKey, contentHash: manifest.contentHash },
  };
  for (const [n, buf] of Object.entries(bundleFiles)) await deps.blobs.put(`${bundleKey}/${n}`, Buffer.from(buf));
  await deps.blobs.put(`${bundleKey}/probes.json`, JSON.stringify(probes));
  await deps.blobs.put(`${bundleKey}/metrics.json`, JSON.stringify(metrics, null, 2));
  await deps.blobs.put(`${bundleKey}/manifest.json`, JSON.stringify(bundleManifest, null, 2));

  const at = deps.clock.now().toISOString();
  const record: ModelRecord = {
    task: task.name,
    version,
    status: 'candidate',
    bundleKey,
    metrics: { metric: task.gate.metric, teacher: t, student: s, baseline: b, agreementWithTeacher: evaluation.agreementWithTeacher, distillationGain, params },
    gate: verdict,
    lineage: { snapshotId: manifest.snapshotId, datasetKey, jobs: { teacher: teacherJob, student: studentJob }, codeVersion: deps.codeVersion, replaces: production?.version ?? null },
    createdAt: at,
    updatedAt: at,
  };
  await deps.registry.put(record);
  await deps.publisher.publish([{ source: 'distillery', detailType: 'ModelCandidate', detail: { task: task.name, version } }]);
  if (verdict.passed) {
    await deps.registry.promote(task.name, version, at);
    record.status = 'production';
    await deps.publisher.publish([{ source: 'distillery', detailType: 'ModelPromoted', detail: { task: task.name, version, replaces: production?.version ?? null } }]);
  } else {
    await deps.registry.setStatus(task.name, version, 'rejected', at);
    record.status = 'rejected';
    await deps.publisher.publish([{ source: 'distillery', detailType: 'ModelRejected', detail: { task: task.name, version, reasons: verdict.reasons } }]);
  }
  const table = summaryTable(task, evaluation, params, distillationGain);
  type Epochs = Record<string, number>[] | undefined;
  const tm = trainerMetrics as { teacher: { epochs?: Epochs }; student: { students?: { distilled?: { epochs?: Epochs }; baseline?: { epochs?: Epochs } } } };
  const norm = (es: Epochs) =>
    (es ?? []).map((x) => ({ ...x, valMetric: x[Object.keys(x).find((k) => /^val[A-Z]/.test(k)) ?? 'valAccuracy'] }));
  const history: TrainResult['history'] = [
    ['teacher', norm(tm.teacher.epochs)],
    ['student', norm(tm.student.students?.distilled?.epochs)],
    ['student-baseline', norm(tm.student.students?.baseline?.epochs)],
  ];
  return { record, verdict, evaluation, manifest, params, distillationGain, table, history, timingsSec: timings };
}

const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(4));

/** The table every run prints: quality, agreement, size and latency of each model, side by side. */
export function summaryTable(task: TaskDefinition, e: EvaluationLike, params: { teacher: number; student: number }, gain: number): string {
  const rows = [['model', 'params', 'bytes', 'accuracy', 'macro-F1', 'F1', 'ROC-AUC', 'agree w/ teacher', 'p50 ms', 'p99 ms']];
  const name = { teacher: 'teacher', student: 'student (distilled)', 'student-baseline': 'student (hard labels only)' } as Record<string, string>;
  for (const m of ['teacher', 'student', 'student-baseline']) {
    const x = e.models[m];
    rows.push([
      name[m], String(m === 'teacher' ? params.teacher : params.student), String(x.bytes), pct(x.accuracy), pct(x.macroF1), pct(x.f1), pct(x.auc),
      pct(e.agreementWithTeacher[m]), x.latencyMs.p50.toFixed(3), x.latencyMs.p99.toFixed(3),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const s = metricOf(task, e.models.student), t = metricOf(task, e.models.teacher);
  lines.push(
    '',
    `${task.gate.metric}: student ${pct(s)} = ${((s / t) * 100).toFixed(1)} % of teacher ${pct(t)} · distillation gain ${gain >= 0 ? '+' : ''}${gain.toFixed(4)} · ` +
      `student has 1/${(params.teacher / params.student).toFixed(1)} of the teacher's parameters · ${e.testRows} test rows`,
  );
  return lines.join('\n');
}
