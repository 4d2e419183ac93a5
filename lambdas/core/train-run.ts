/**
 * One training run for one task, wired only to ports: snapshot → teacher job → student job →
 * bundle → evaluation on the serving runtime → gate → registry → promotion. The CLI runs it with
 * embedded adapters; the AWS orchestrator runs the same steps from events.
 */
import { createHash, randomBytes } from 'node:crypto';
import { batchFromNpy, type Batch } from './batch.js';
import { chooseServed, gate, type GateVerdict, type ServedChoice } from './gate.js';
import { onnxInfo, pruningLeftovers } from './onnx-info.js';
import { metricOf, summaryTable } from './summary.js';
import { writeSnapshot, type SnapshotManifest } from './snapshot.js';
import { paramsOf, type TaskDefinition } from './task.js';
import type { BlobStore, Clock, EventPublisher, Lake, ModelRecord, ModelRegistry, SystemEvent, TrainerLauncher, TrainingJob, TrainingProgress } from '../ports/index.js';

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
  /** agreement[a][b]: share of test rows where models a and b predict the same label. */
  agreement?: Record<string, Record<string, number>>;
  testRows: number;
}

type Epochs = Record<string, number>[] | undefined;
interface StudentMetrics {
  params?: number;
  epochs?: Epochs;
  prune?: unknown;
}
/** What the trainer's metrics.json files hold that the run reads. */
export interface TrainerMetrics {
  teacher: { params?: number; epochs?: Epochs };
  student: { students?: { distilled?: StudentMetrics; baseline?: StudentMetrics; pruned?: StudentMetrics; int8?: Record<string, unknown> } };
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
  /** Parameters of each evaluated model, by name. */
  params: Record<string, number>;
  distillationGain: number;
  /** Which student the bundle serves (int8 or pruned fp32), and why. */
  served: ServedChoice;
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
    compression: JSON.stringify({
      pruneRatio: task.compression.pruneRatio,
      fineTuneEpochs: task.compression.fineTuneEpochs,
      quantization: task.compression.quantization,
      calibrationRows: task.compression.calibrationRows,
    }),
  };
}

/** SageMaker job names: ≤ 63 characters of letters, digits and hyphens, unique per run. */
export function jobName(task: string, phase: string, now: Date, nonce = randomBytes(3).toString('hex')): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const head = task.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63 - stamp.length - phase.length - nonce.length - 3);
  return `${head}-${phase}-${stamp}-${nonce}`.replace(/-+/g, '-');
}

export { metricOf };

async function readJson<T>(blobs: BlobStore, key: string): Promise<T> {
  return JSON.parse((await blobs.get(key)).toString('utf8')) as T;
}

/** One run of one task: where its dataset and its jobs' outputs live, and when it started. */
export interface RunRef {
  task: string;
  snapshotId: string;
  datasetKey: string;
  /** Blob key prefix of the run's job outputs: `<runKey>/teacher`, `<runKey>/student`. */
  runKey: string;
  /** ISO time the run started; job names carry it. */
  startedAt: string;
}

export interface StartedRun {
  run: RunRef;
  manifest: SnapshotManifest;
  /** The `DatasetReady` event that hands the run to the orchestrator. */
  datasetReady: SystemEvent;
}

type Timed = <T>(name: string, f: () => Promise<T>) => Promise<T>;
const untimed: Timed = (_name, f) => f();

/** Step 1: join labels and write the snapshot. Publishing `datasetReady` is the caller's choice. */
export async function startRun(
  task: TaskDefinition,
  deps: Pick<TrainDeps, 'lake' | 'blobs' | 'clock' | 'log'>,
  opts: { testSince?: string; startedAt?: Date; timed?: Timed } = {},
): Promise<StartedRun> {
  const log = deps.log ?? (() => {});
  const timed = opts.timed ?? untimed;
  const startedAt = (opts.startedAt ?? deps.clock.now()).toISOString();
  const examples = await timed('join', () => deps.lake.labelled(task.name));
  if (examples.length < 30) throw new Error(`task ${task.name} has only ${examples.length} labelled examples; import at least 30 (see distillery import --help)`);
  log(`snapshot: ${examples.length} labelled examples`);
  const { key: datasetKey, manifest } = await timed('snapshot', () =>
    writeSnapshot(task, examples, { blobs: deps.blobs, now: deps.clock.now() }, { testSince: opts.testSince }),
  );
  log(`snapshot ${manifest.snapshotId}: train ${manifest.counts.train} · validation ${manifest.counts.validation} · test ${manifest.counts.test}`);
  const run: RunRef = { task: task.name, snapshotId: manifest.snapshotId, datasetKey, runKey: `runs/${task.name}/${manifest.snapshotId}`, startedAt };
  const datasetReady: SystemEvent = {
    source: 'distillery',
    detailType: 'DatasetReady',
    detail: { task: task.name, snapshotId: manifest.snapshotId, key: datasetKey, counts: manifest.counts, runKey: run.runKey, startedAt },
  };
  return { run, manifest, datasetReady };
}

/** The run named by a `DatasetReady` event's detail, or undefined when the detail is not one. */
export function runOfDatasetReady(detail: Record<string, unknown>): RunRef | undefined {
  const { task, snapshotId, key, runKey, startedAt } = detail as Record<string, unknown>;
  if (typeof task !== 'string' || typeof snapshotId !== 'string' || typeof key !== 'string') return undefined;
  return {
    task,
    snapshotId,
    datasetKey: key,
    runKey: typeof runKey === 'string' ? runKey : `runs/${task}/${snapshotId}`,
    startedAt: typeof startedAt === 'string' && !Number.isNaN(Date.parse(startedAt)) ? startedAt : new Date(0).toISOString(),
  };
}

/** Job names are derived from the run, so a repeated start asks SageMaker for the same name and cannot start a second job. */
function runNonce(run: RunRef, phase: string): string {
  return createHash('sha256').update(`${run.task}|${run.snapshotId}|${run.startedAt}|${phase}`).digest('hex').slice(0, 6);
}

/** Step 2: the teacher job of a run. */
export function teacherJob(task: TaskDefinition, run: RunRef): TrainingJob {
  return {
    name: jobName(task.name, 'teacher', new Date(run.startedAt), runNonce(run, 'teacher')),
    phase: 'teacher',
    channels: { dataset: run.datasetKey },
    hyperparameters: hyperparameters(task, 'teacher'),
    outputKey: `${run.runKey}/teacher`,
  };
}

/** Step 3: the student job of a run; the teacher's output is one of its channels. */
export function studentJob(task: TaskDefinition, run: RunRef): TrainingJob {
  return {
    name: jobName(task.name, 'student', new Date(run.startedAt), runNonce(run, 'student')),
    phase: 'student',
    channels: { dataset: run.datasetKey, teacher: `${run.runKey}/teacher` },
    hyperparameters: hyperparameters(task, 'student'),
    outputKey: `${run.runKey}/student`,
  };
}

export function phaseCompleted(run: RunRef, job: TrainingJob): SystemEvent {
  return { source: 'distillery', detailType: 'TrainingPhaseCompleted', detail: { task: run.task, phase: job.phase, job: job.name, snapshotId: run.snapshotId, datasetKey: run.datasetKey, runKey: run.runKey, startedAt: run.startedAt } };
}

export async function trainTask(task: TaskDefinition, deps: TrainDeps, opts: { testSince?: string } = {}): Promise<TrainResult> {
  const started = deps.clock.now();
  const timings: Record<string, number> = {};
  const timed: Timed = async (name, f) => {
    const t0 = Date.now();
    try {
      return await f();
    } finally {
      timings[name] = (Date.now() - t0) / 1000;
    }
  };
  const { run, manifest, datasetReady } = await startRun(task, deps, { testSince: opts.testSince, startedAt: started, timed });
  await deps.publisher.publish([datasetReady]);
  const teacher = teacherJob(task, run);
  await timed('teacher', () => deps.launcher.run(teacher, deps.onProgress));
  await deps.publisher.publish([phaseCompleted(run, teacher)]);
  const student = studentJob(task, run);
  await timed('student', () => deps.launcher.run(student, deps.onProgress));
  await deps.publisher.publish([phaseCompleted(run, student)]);
  return finishRun(task, deps, run, { manifest, jobs: { teacher: teacher.name, student: student.name }, timings, timed });
}

export type FinishDeps = Pick<TrainDeps, 'blobs' | 'registry' | 'publisher' | 'clock' | 'evaluate' | 'codeVersion' | 'log'>;

/**
 * Step 4, everything after the student job: bundle → evaluation on the serving runtime → gate →
 * registry → promotion or rejection, with their events.
 */
export async function finishRun(
  task: TaskDefinition,
  deps: FinishDeps,
  run: RunRef,
  opts: { manifest?: SnapshotManifest; jobs?: { teacher: string; student: string }; timings?: Record<string, number>; timed?: Timed } = {},
): Promise<TrainResult> {
  const log = deps.log ?? (() => {});
  const timings = opts.timings ?? {};
  const timed: Timed = opts.timed ?? (async (name, f) => {
    const t0 = Date.now();
    try {
      return await f();
    } finally {
      timings[name] = (Date.now() - t0) / 1000;
    }
  });
  const { datasetKey, runKey } = run;
  const manifest = opts.manifest ?? (await readJson<SnapshotManifest>(deps.blobs, `${datasetKey}/manifest.json`));
  const jobs = opts.jobs ?? { teacher: teacherJob(task, run).name, student: studentJob(task, run).name };
  const teacherJobName = jobs.teacher, studentJobName = jobs.student;

  // bundle (DESIGN 4.6)
  const version = await deps.registry.nextVersion(task.name);
  const bundleKey = `models/${task.name}/${version}`;
  const fromRun = (k: string) => deps.blobs.get(`${runKey}/${k}`);
  const files: Record<string, Uint8Array> = {
    teacher: await fromRun('teacher/teacher.onnx'),
    student: await fromRun('student/student.onnx'),
    'student-pruned': await fromRun('student/student-pruned.onnx'),
    'student-baseline': await fromRun('student/student-baseline.onnx'),
  };
  if (await deps.blobs.exists(`${runKey}/student/student-int8.onnx`)) files['student-int8'] = await fromRun('student/student-int8.onnx');
  const teacherProbes = await readJson<Parameters<Evaluator>[0]['probes']>(deps.blobs, `${runKey}/teacher/probes.json`);
  const studentProbes = await readJson<Parameters<Evaluator>[0]['probes']>(deps.blobs, `${runKey}/student/probes.json`);
  const probes = { ...studentProbes, outputs: { ...teacherProbes.outputs, ...studentProbes.outputs } };
  const trainerMetrics = {
    teacher: await readJson<TrainerMetrics['teacher']>(deps.blobs, `${runKey}/teacher/metrics.json`),
    student: await readJson<TrainerMetrics['student']>(deps.blobs, `${runKey}/student/metrics.json`),
  };

  const split = async (name: string) => deps.blobs.get(`${datasetKey}/test/${name}.npy`);
  const { batch: test, y } = batchFromNpy({ dense: await split('dense'), ids: await split('ids'), weights: await split('weights'), y: await split('y') });
  log(`evaluating ${Object.keys(files).join(', ')} on ${test.n} test rows with onnxruntime-node`);
  const evaluation = await timed('evaluate', () => deps.evaluate({ files, teacher: 'teacher', test, y, probes }));

  const C = manifest.labels.length, D = manifest.featurizer.denseDim;
  // the trainer counts its own parameters; the formula is the fallback for a trainer that does not
  const st = trainerMetrics.student.students;
  const distilledParams = st?.distilled?.params ?? paramsOf(task.student, C, D);
  const params: Record<string, number> = {
    teacher: trainerMetrics.teacher.params ?? paramsOf(task.teacher, C, D),
    student: distilledParams,
    'student-pruned': st?.pruned?.params ?? distilledParams,
    'student-int8': st?.pruned?.params ?? distilledParams,
    'student-baseline': st?.baseline?.params ?? distilledParams,
  };
  const em = evaluation.models;
  const served = chooseServed({
    compression: task.compression,
    metricName: task.gate.metric,
    fp32: { metric: metricOf(task, em['student-pruned']), p50Ms: em['student-pruned'].latencyMs.p50 },
    int8: em['student-int8'] && { metric: metricOf(task, em['student-int8']), p50Ms: em['student-int8'].latencyMs.p50 },
    agreement: evaluation.agreement?.['student-int8']?.['student-pruned'],
  });
  const s = em[served.variant], t = em.teacher;
  const distillationGain = metricOf(task, em.student) - metricOf(task, em['student-baseline']);
  const production = await deps.registry.production(task.name);
  const prodMetrics = production?.metrics as { served?: ModelEvaluationLike; student?: ModelEvaluationLike } | undefined;
  const prodServed = prodMetrics?.served ?? prodMetrics?.student;
  const [worstParityModel, worst] = Object.entries(em).reduce((a, [n, m]) => (m.parityMaxAbsDiff > a[1].parityMaxAbsDiff ? [n, m] : a), ['', { parityMaxAbsDiff: -1 } as ModelEvaluationLike]);
  const maxParity = worst.parityMaxAbsDiff;
  const servedInfo = onnxInfo(files[served.variant]);
  const leftovers = pruningLeftovers(servedInfo);
  const verdict = gate({
    spec: task.gate,
    student: { metric: metricOf(task, s), p99Ms: s.latencyMs.p99 },
    teacher: { metric: metricOf(task, t), p99Ms: t.latencyMs.p99 },
    agreement: evaluation.agreementWithTeacher[served.variant],
    parity: { ok: maxParity <= 1e-4, maxAbsDiff: maxParity, model: worstParityModel },
    production: production && prodServed ? { version: production.version, metric: metricOf(task, prodServed) } : undefined,
    extra: [
      served.collapsed ? { ok: false, text: served.reason } : { ok: true, text: served.reason },
      leftovers.length ? { ok: false, text: `served graph still holds pruning leftovers: ${leftovers.join(', ')}` } : { ok: true, text: 'served graph has no pruning leftovers' },
    ],
  });

  const sha = (buf: Uint8Array) => createHash('sha256').update(buf).digest('hex');
  const bundleFiles: Record<string, Uint8Array> = {
    'model.onnx': files[served.variant],
    'model.fp32.onnx': files['student-pruned'],
    ...(files['student-int8'] ? { 'model.int8.onnx': files['student-int8'] } : {}),
    'student-distilled.onnx': files.student,
    'student-baseline.onnx': files['student-baseline'],
    'teacher.onnx': files.teacher,
  };
  const metrics = {
    task: task.name,
    version,
    metric: task.gate.metric,
    servedVariant: served.variant,
    teacher: t,
    student: em.student,
    pruned: em['student-pruned'],
    int8: em['student-int8'] ?? null,
    baseline: em['student-baseline'],
    served: s,
    agreement: evaluation.agreement,
    agreementWithTeacher: evaluation.agreementWithTeacher,
    distillationGain,
    params,
    compression: { ...served, pruning: st?.pruned?.prune ?? null, quantization: st?.int8 ?? null },
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
    inputs: { dense: ['batch', D], ids: ['batch', 'tokens'], weights: ['batch', 'tokens'] },
    outputs: { logits: ['batch', C], probabilities: ['batch', C] },
    served: 'model.onnx',
    servedVariant: served.variant === 'student-int8' ? 'int8' : 'fp32',
    files: Object.fromEntries(
      Object.entries(bundleFiles).map(([n, buf]) => {
        const info = onnxInfo(buf);
        return [n, { sha256: sha(buf), bytes: buf.byteLength, irVersion: info.irVersion, opsets: info.opsets }];
      }),
    ),
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
    metrics: {
      metric: task.gate.metric, servedVariant: served.variant, served: s, teacher: t, student: em.student, pruned: em['student-pruned'],
      int8: em['student-int8'] ?? null, baseline: em['student-baseline'], agreementWithTeacher: evaluation.agreementWithTeacher, distillationGain, params,
    },
    gate: verdict,
    lineage: { snapshotId: manifest.snapshotId, datasetKey, jobs: { teacher: teacherJobName, student: studentJobName }, codeVersion: deps.codeVersion, replaces: production?.version ?? null },
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
  const table = summaryTable(task, evaluation, params, distillationGain, served.variant);
  const norm = (es: Epochs) =>
    (es ?? []).map((x) => ({ ...x, valMetric: x[Object.keys(x).find((k) => /^val[A-Z]/.test(k)) ?? 'valAccuracy'] }));
  const history: TrainResult['history'] = [
    ['teacher', norm(trainerMetrics.teacher.epochs)],
    ['student', norm(st?.distilled?.epochs)],
    ['student-pruned', norm(st?.pruned?.epochs)],
    ['student-baseline', norm(st?.baseline?.epochs)],
  ];
  return { record, verdict, evaluation, manifest, params, distillationGain, table, history, timingsSec: timings, served };
}
