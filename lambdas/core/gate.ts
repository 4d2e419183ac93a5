/**
 * The gate (DESIGN principle 3): nothing reaches production without numbers measured on the serving
 * runtime. Every failed rule is a reason the registry keeps and the CLI prints.
 */
import type { GateSpec } from './task.js';

export interface ModelMeasures {
  metric: number;
  p99Ms: number;
}

export interface GateInput {
  spec: GateSpec;
  student: ModelMeasures;
  teacher: ModelMeasures;
  agreement: number;
  parity: { ok: boolean; maxAbsDiff: number };
  /** The served student's metric of the model now in production, if any. */
  production?: { version: number; metric: number };
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
  check(g.parity.ok, `ONNX matches PyTorch on probe rows (max |Δ| ${g.parity.maxAbsDiff.toExponential(2)})`,
    `ONNX output differs from PyTorch on probe rows (max |Δ| ${g.parity.maxAbsDiff.toExponential(2)})`);
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
  return { passed: failed.length === 0, reasons: failed.length ? failed : passed };
}
