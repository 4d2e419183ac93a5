/** Quality metrics for classification, computed in Node on the serving runtime's outputs. */

export function argmaxRows(probs: Float32Array, classes: number): Int32Array {
  const n = probs.length / classes;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (probs[i * classes + c] > probs[i * classes + best]) best = c;
    out[i] = best;
  }
  return out;
}

export function accuracy(pred: ArrayLike<number>, y: ArrayLike<number>): number {
  let ok = 0;
  for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) ok++;
  return y.length ? ok / y.length : 0;
}

/** F1 of one class (binary: the positive class). */
export function f1Of(pred: ArrayLike<number>, y: ArrayLike<number>, cls: number): number {
  let tp = 0, fp = 0, fn = 0;
  for (let i = 0; i < y.length; i++) {
    if (pred[i] === cls && y[i] === cls) tp++;
    else if (pred[i] === cls) fp++;
    else if (y[i] === cls) fn++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

export function macroF1(pred: ArrayLike<number>, y: ArrayLike<number>, classes: number): number {
  let s = 0, n = 0;
  for (let c = 0; c < classes; c++) {
    let present = false;
    for (let i = 0; i < y.length && !present; i++) present = y[i] === c || pred[i] === c;
    if (present) {
      s += f1Of(pred, y, c);
      n++;
    }
  }
  return n ? s / n : 0;
}

/** ROC-AUC by the rank-sum (Mann–Whitney U) formula, ties averaged. */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSumPos = 0, nPos = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]] === scores[idx[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (positive[idx[k]]) {
      rankSumPos += avgRank;
      nPos++;
    }
    i = j + 1;
  }
  const nNeg = scores.length - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

export function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export interface ClassificationMetrics {
  accuracy: number;
  macroF1: number;
  /** Binary tasks: F1 and ROC-AUC of the positive class (the second label). */
  f1?: number;
  auc?: number;
}

export function classificationMetrics(probs: Float32Array, y: ArrayLike<number>, classes: number): ClassificationMetrics {
  const pred = argmaxRows(probs, classes);
  const m: ClassificationMetrics = { accuracy: accuracy(pred, y), macroF1: macroF1(pred, y, classes) };
  if (classes === 2) {
    const scores = Array.from({ length: y.length }, (_, i) => probs[i * 2 + 1]);
    m.f1 = f1Of(pred, y, 1);
    m.auc = rocAuc(scores, Array.from(y, (v) => v === 1));
  }
  return m;
}
