/**
 * Evaluation on the serving runtime (onnxruntime-node): quality of every model on the test split,
 * student–teacher agreement, parity with PyTorch on probe rows, size, and single-instance latency
 * measured side by side (interleaved) so the models share the same machine noise.
 */
import { performance } from 'node:perf_hooks';
import { argmaxRows, classificationMetrics, quantile } from '../core/metrics.js';
import type { EvaluationLike, ModelEvaluationLike } from '../core/train-run.js';
import { sliceBatch, type Batch } from '../core/batch.js';
import { OnnxModel } from './onnx-model.js';

export interface Probes {
  rows: number;
  inputs: { dense: number[][]; ids: number[][]; weights: number[][] };
  outputs: Record<string, { probabilities: number[][] }>;
}

/** What the core's training run expects of an evaluation (defined there: the core cannot import onnxruntime). */
export type ModelEvaluation = ModelEvaluationLike;
export type Evaluation = EvaluationLike & { agreement: Record<string, Record<string, number>> };

export function probesToBatch(p: Probes): Batch {
  const n = p.inputs.ids.length;
  return {
    n,
    denseDim: p.inputs.dense[0]?.length ?? 0,
    tokens: p.inputs.ids[0]?.length ?? 0,
    dense: Float32Array.from(p.inputs.dense.flat()),
    ids: Int32Array.from(p.inputs.ids.flat()),
    weights: Float32Array.from(p.inputs.weights.flat()),
  };
}

/**
 * Largest absolute difference between onnxruntime-node's and the trainer's probabilities on the probe
 * rows. Checked with basic graph optimisations: at 'all', onnxruntime fuses DequantizeLinear + MatMul
 * into integer kernels that also quantise activations, which is faster but no longer the exported
 * graph's exact arithmetic (its effect on quality is measured on the test split instead).
 */
export async function parity(model: OnnxModel, probes: Probes, file: string): Promise<number> {
  const expected = probes.outputs[file]?.probabilities;
  if (!expected) throw new Error(`probes hold no PyTorch outputs for ${file}`);
  const got = await model.predict(probesToBatch(probes));
  const flat = expected.flat();
  if (flat.length !== got.probabilities.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < flat.length; i++) worst = Math.max(worst, Math.abs(flat[i] - got.probabilities[i]));
  return worst;
}

async function exactParity(bytes: Uint8Array, probes: Probes, file: string): Promise<number> {
  const m = await OnnxModel.load(bytes, 1, 'basic');
  try {
    return await parity(m, probes, file);
  } finally {
    await m.release();
  }
}

export async function evaluateModels(opts: {
  /** Model name → ONNX bytes; probes are looked up as `<name>.onnx`. */
  files: Record<string, Uint8Array>;
  teacher: string;
  test: Batch;
  y: ArrayLike<number>;
  probes: Probes;
  latencyRuns?: number;
}): Promise<Evaluation> {
  const names = Object.keys(opts.files);
  const loaded: Record<string, OnnxModel> = {};
  for (const name of names) loaded[name] = await OnnxModel.load(opts.files[name]);
  const models: Record<string, ModelEvaluation> = {};
  const preds: Record<string, Int32Array> = {};
  for (const name of names) {
    const { probabilities, classes } = await loaded[name].predictAll(opts.test);
    preds[name] = argmaxRows(probabilities, classes);
    models[name] = {
      ...classificationMetrics(probabilities, opts.y, classes),
      bytes: loaded[name].bytes,
      latencyMs: { p50: NaN, p99: NaN, runs: 0 },
      parityMaxAbsDiff: await exactParity(opts.files[name], opts.probes, `${name}.onnx`),
    };
  }
  const runs = opts.latencyRuns ?? 300;
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = -20; r < runs; r++) {
    const i = ((r % opts.test.n) + opts.test.n) % opts.test.n;
    const one = sliceBatch(opts.test, i, i + 1);
    for (const name of names) {
      const t0 = performance.now();
      await loaded[name].predict(one);
      if (r >= 0) times[name].push(performance.now() - t0);
    }
  }
  for (const name of names) {
    const sorted = times[name].sort((a, b) => a - b);
    models[name].latencyMs = { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), runs: sorted.length };
    await loaded[name].release();
  }
  const agreement: Record<string, Record<string, number>> = {};
  for (const a of names) {
    agreement[a] = {};
    for (const b of names) {
      let same = 0;
      for (let i = 0; i < opts.test.n; i++) if (preds[a][i] === preds[b][i]) same++;
      agreement[a][b] = opts.test.n ? same / opts.test.n : 0;
    }
  }
  const agreementWithTeacher = Object.fromEntries(names.map((n) => [n, agreement[n][opts.teacher]]));
  return { models, agreementWithTeacher, agreement, testRows: opts.test.n };
}
