import { accuracy, classificationMetrics, f1Of, macroF1, quantile, rocAuc } from '../../lambdas/core/metrics.js';

describe('metrics', () => {
  it('computes accuracy, F1 and macro-F1', () => {
    const y = [0, 0, 1, 1, 2], p = [0, 1, 1, 1, 0];
    expect(accuracy(p, y)).toBeCloseTo(0.6);
    expect(f1Of(p, y, 1)).toBeCloseTo((2 * 2) / (2 * 2 + 1 + 0));
    expect(macroF1(p, y, 3)).toBeCloseTo((0.5 + 0.8 + 0) / 3);
  });

  it('computes ROC-AUC with ties averaged', () => {
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [false, false, true, true])).toBeCloseTo(0.75);
    expect(rocAuc([0.5, 0.5], [false, true])).toBeCloseTo(0.5);
    expect(rocAuc([0.5, 0.5], [true, true])).toBeNaN();
  });

  it('reports AUC and F1 for binary probabilities', () => {
    const probs = Float32Array.from([0.9, 0.1, 0.2, 0.8, 0.6, 0.4, 0.3, 0.7]);
    const m = classificationMetrics(probs, [0, 1, 1, 1], 2);
    expect(m.accuracy).toBeCloseTo(0.75);
    expect(m.auc).toBeCloseTo(1);
    expect(m.f1).toBeCloseTo(0.8);
    expect(quantile([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(quantile([1, 2, 3, 4, 5], 0.99)).toBeCloseTo(4.96);
  });
});
