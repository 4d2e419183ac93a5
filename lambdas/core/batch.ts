/** Model input for n rows, row-major (DESIGN 4.3): what the featurizer produces and every model reads. */
import { decodeNpy } from './npy.js';
import type { FeatureRow } from './featurizer.js';

export interface Batch {
  n: number;
  dense: Float32Array;
  denseDim: number;
  ids: Int32Array;
  weights: Float32Array;
  tokens: number;
}

export function batchOf(rows: readonly FeatureRow[], denseDim: number, tokens: number): Batch {
  const n = rows.length;
  const b: Batch = { n, denseDim, tokens, dense: new Float32Array(n * denseDim), ids: new Int32Array(n * tokens), weights: new Float32Array(n * tokens) };
  rows.forEach((r, i) => {
    b.dense.set(r.dense, i * denseDim);
    b.ids.set(r.ids, i * tokens);
    b.weights.set(r.weights, i * tokens);
  });
  return b;
}

export function sliceBatch(b: Batch, start: number, end: number): Batch {
  return {
    n: end - start,
    denseDim: b.denseDim,
    tokens: b.tokens,
    dense: b.dense.subarray(start * b.denseDim, end * b.denseDim),
    ids: b.ids.subarray(start * b.tokens, end * b.tokens),
    weights: b.weights.subarray(start * b.tokens, end * b.tokens),
  };
}

/** A split of a snapshot, read back from its .npy files. */
export function batchFromNpy(files: { dense: Buffer; ids: Buffer; weights: Buffer; y: Buffer }): { batch: Batch; y: Int32Array } {
  const dense = decodeNpy(files.dense), ids = decodeNpy(files.ids), weights = decodeNpy(files.weights), y = decodeNpy(files.y);
  const n = ids.shape[0];
  return {
    batch: { n, denseDim: dense.shape[1] ?? 0, tokens: ids.shape[1], dense: dense.data as Float32Array, ids: ids.data as Int32Array, weights: weights.data as Float32Array },
    y: Int32Array.from(y.data as BigInt64Array, (v) => Number(v)),
  };
}
