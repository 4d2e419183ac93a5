/**
 * The gate (DESIGN principle 3): nothing reaches production without numbers measured on the serving
 * runtime. Every failed rule is a reason the registry keeps and the CLI prints.
 */
import type { CompressionSpec, GateSpec } from './task.js';

export interface ModelMeasures {
  metric: number;
  p99Ms: number;
}

export interface GateInput {
  spec: GateSpec;
  student: ModelMeasures;
  teacher: ModelMeasures;
  agreement: number;
  parity: { ok: boolean; maxAbsDiff: number; model?: string };
  /** The served student's metric of the model now in production, if any. */
  production?: { version: number; metric: number };
  /** Further checks already decided elsewhere (compression, graph hygiene). */
  extra?: { ok: boolean; text: string }[];
}

export interface GateVerdict {
  passed: boolean;
  reasons: string[];
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));

export function gate(g: GateInput): GateVerdict {
  const { spec } = g;
  const failed: string[] = [];
  const passed: string[] = [];
  const check = (ok: boolean, yes: string, no: string) => (ok ? passed : failed).push(ok ? yes : no);
  const m = spec.metric;
  check(Number.isFinite(g.student.metric), `student ${m} is a number`, `student ${m} is not a number (${g.student.metric}): the model collapsed`);
  check(g.parity.ok, `every ONNX file matches the trainer on probe rows (max |Δ| ${g.parity.maxAbsDiff.toExponential(2)})`,
    `ONNX output of ${g.parity.model ?? 'a model'} differs from the trainer on probe rows (max |Δ| ${g.parity.maxAbsDiff.toExponential(2)})`);
  check(g.student.metric >= spec.minMetric, `student ${m} ${fmt(g.student.metric)} ≥ floor ${spec.minMetric}`,
    `student ${m} ${fmt(g.student.metric)} is below the floor ${spec.minMetric}`);
  const share = g.student.metric / g.teacher.metric;
  check(share >= spec.minShareOfTeacher, `student keeps ${(share * 100).toFixed(1)} % of the teacher's ${m} (≥ ${spec.minShareOfTeacher * 100} %)`,
    `student keeps only ${(share * 100).toFixed(1)} % of the teacher's ${m} (needs ${spec.minShareOfTeacher * 100} %)`);
  check(g.agreement >= spec.minAgreement, `student agrees with the teacher on ${(g.agreement * 100).toFixed(1)} % of test rows`,
    `student agrees with the teacher on only ${(g.agreement * 100).toFixed(1)} % of test rows (needs ${spec.minAgreement * 100} %)`);
  check(g.student.p99Ms <= spec.maxP99LatencyMs, `p99 latency ${g.student.p99Ms.toFixed(3)} ms ≤ ${spec.maxP99LatencyMs} ms`,
    `p99 latency ${g.student.p99Ms.toFixed(3)} ms is over ${spec.maxP99LatencyMs} ms`);
  if (g.production) {
    const drop = g.production.metric - g.student.metric;
    check(drop <= spec.maxRegression, `no regression against production v${g.production.version} (${m} ${fmt(g.production.metric)} → ${fmt(g.student.metric)})`,
      `regresses against production v${g.production.version}: ${m} ${fmt(g.production.metric)} → ${fmt(g.student.metric)} (allowed drop ${spec.maxRegression})`);
  }
  for (const x of g.extra ?? []) (x.ok ? passed : failed).push(x.text);
  return { passed: failed.length === 0, reasons: failed.length ? failed : passed };
}

export interface ServedChoice {
  variant: 'student-int8' | 'student-pruned';
  /** The int8 model is broken beyond a quality trade-off: the whole candidate must be refused. */
  collapsed: boolean;
  reason: string;
}

/**
 * int8 or fp32? Serve int8 when it costs at most the task's allowed drop and is no slower at p50
 * (within `latencyTolerance`, since single runs are noisy); otherwise serve fp32 and say why. An int8
 * model far outside any trade-off (a drop ≥ `collapseDrop`, or disagreeing with its own fp32 source on
 * more than a fifth of rows) means the quantisation is broken: the candidate is refused, not downgraded.
 */
export function chooseServed(c: {
  compression: CompressionSpec;
  metricName: string;
  fp32: { metric: number; p50Ms: number };
  int8?: { metric: number; p50Ms: number };
  agreement?: number;
}): ServedChoice {
  const fp32 = { variant: 'student-pruned' as const, collapsed: false };
  if (!c.int8) return { ...fp32, reason: 'serving the pruned fp32 student: quantisation is off for this task' };
  const drop = c.fp32.metric - c.int8.metric;
  const m = c.metricName;
  if (!Number.isFinite(c.int8.metric) || drop >= c.compression.collapseDrop || (c.agreement ?? 1) < 0.8) {
    return {
      variant: 'student-int8', collapsed: true,
      reason: `int8 student collapsed: ${m} ${fmt(c.int8.metric)} against ${fmt(c.fp32.metric)} in fp32` +
        (c.agreement !== undefined ? `, same label on only ${(c.agreement * 100).toFixed(1)} % of rows` : '') + ' — the quantisation is broken',
    };
  }
  if (drop > c.compression.maxQuantizationDrop) {
    return { ...fp32, reason: `serving fp32: int8 costs ${fmt(drop)} ${m}, more than the allowed ${c.compression.maxQuantizationDrop}` };
  }
  if (c.int8.p50Ms > c.fp32.p50Ms * (1 + c.compression.latencyTolerance)) {
    return { ...fp32, reason: `serving fp32: int8 is slower at p50 (${c.int8.p50Ms.toFixed(4)} ms vs ${c.fp32.p50Ms.toFixed(4)} ms)` };
  }
  return {
    variant: 'student-int8', collapsed: false,
    reason: `serving int8: ${m} ${fmt(c.int8.metric)} vs ${fmt(c.fp32.metric)} in fp32 (drop ${fmt(drop)} ≤ ${c.compression.maxQuantizationDrop}), ` +
      `p50 ${c.int8.p50Ms.toFixed(4)} ms vs ${c.fp32.p50Ms.toFixed(4)} ms`,
  };
}
