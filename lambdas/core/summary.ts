/** The table every run prints: each model's size, quality, agreement and latency, side by side. */
import type { TaskDefinition } from './task.js';
import type { EvaluationLike, ModelEvaluationLike } from './train-run.js';

export const metricOf = (task: TaskDefinition, m: ModelEvaluationLike): number =>
  task.gate.metric === 'auc' ? m.auc ?? NaN : task.gate.metric === 'f1' ? m.f1 ?? NaN : m.accuracy;

const f4 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(4));

export const MODEL_NAMES: Record<string, string> = {
  teacher: 'teacher',
  student: 'student, distilled (fp32)',
  'student-pruned': 'student, pruned (fp32)',
  'student-int8': 'student, pruned + int8',
  'student-baseline': 'student, hard labels only',
};

export function summaryTable(task: TaskDefinition, e: EvaluationLike, params: Record<string, number>, gain: number, served: string): string {
  const rows = [['model', 'params', 'bytes', 'accuracy', 'macro-F1', 'F1', 'ROC-AUC', 'agree w/ teacher', 'p50 ms', 'p99 ms']];
  for (const m of Object.keys(MODEL_NAMES).filter((k) => e.models[k])) {
    const x = e.models[m];
    rows.push([
      `${MODEL_NAMES[m]}${m === served ? ' *' : ''}`, String(params[m] ?? '–'), String(x.bytes), f4(x.accuracy), f4(x.macroF1), f4(x.f1), f4(x.auc),
      f4(e.agreementWithTeacher[m]), x.latencyMs.p50.toFixed(4), x.latencyMs.p99.toFixed(4),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const s = metricOf(task, e.models[served]), t = metricOf(task, e.models.teacher);
  const fp32 = e.models['student-pruned'], int8 = e.models['student-int8'];
  lines.push(
    `* served. ${e.testRows} test rows; latency is single-instance on onnxruntime-node (1 thread), models interleaved in one run.`,
    `${task.gate.metric}: served student ${f4(s)} = ${((s / t) * 100).toFixed(1)} % of teacher ${f4(t)} · distillation gain ${gain >= 0 ? '+' : ''}${gain.toFixed(4)} · ` +
      `served student has 1/${(params.teacher / params[served]).toFixed(1)} of the teacher's parameters` +
      (int8 ? ` · int8 file ${(fp32.bytes / int8.bytes).toFixed(2)}× smaller than fp32` : ''),
  );
  return lines.join('\n');
}
