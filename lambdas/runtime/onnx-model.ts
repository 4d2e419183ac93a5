/** A classification model on onnxruntime-node: the serving runtime, used by evaluation and inference alike. */
import * as ort from 'onnxruntime-node';

import { sliceBatch, type Batch } from '../core/batch.js';

export type { Batch };

export class OnnxModel {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly bytes: number,
  ) {}

  /** Single-threaded by default: a Lambda has one or two vCPUs, and single-instance latency is what callers feel. */
  static async load(model: string | Uint8Array, threads = 1, optimization: 'basic' | 'all' = 'all'): Promise<OnnxModel> {
    const opts: ort.InferenceSession.SessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: optimization };
    const session = typeof model === 'string' ? await ort.InferenceSession.create(model, opts) : await ort.InferenceSession.create(model, opts);
    const bytes = typeof model === 'string' ? (await import('node:fs')).statSync(model).size : model.byteLength;
    for (const name of ['dense', 'ids', 'weights']) {
      if (!session.inputNames.includes(name)) throw new Error(`model has no input ${name} (inputs: ${session.inputNames.join(', ')})`);
    }
    if (!session.outputNames.includes('probabilities')) throw new Error(`model has no output probabilities (outputs: ${session.outputNames.join(', ')})`);
    return new OnnxModel(session, bytes);
  }

  /** Probabilities, row-major [n, classes]. */
  async predict(b: Batch): Promise<{ probabilities: Float32Array; classes: number }> {
    const feeds = {
      dense: new ort.Tensor('float32', b.dense, [b.n, b.denseDim]),
      ids: new ort.Tensor('int32', b.ids, [b.n, b.tokens]),
      weights: new ort.Tensor('float32', b.weights, [b.n, b.tokens]),
    };
    const out = await this.session.run(feeds, ['probabilities']);
    const p = out.probabilities;
    return { probabilities: p.data as Float32Array, classes: p.dims[1] as number };
  }

  /** Probabilities in slices of `size` rows, so large test splits stay within memory. */
  async predictAll(b: Batch, size = 1024): Promise<{ probabilities: Float32Array; classes: number }> {
    const chunks: Float32Array[] = [];
    let classes = 0;
    for (let s = 0; s < b.n; s += size) {
      const e = Math.min(b.n, s + size);
      const r = await this.predict(sliceBatch(b, s, e));
      chunks.push(r.probabilities);
      classes = r.classes;
    }
    const all = new Float32Array(b.n * classes);
    let o = 0;
    for (const c of chunks) {
      all.set(c, o);
      o += c.length;
    }
    return { probabilities: all, classes };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
