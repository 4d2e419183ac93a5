/**
 * The featurizer (DESIGN 4.3): raw ERP record → { dense, ids, weights }. Fitted on the training split
 * only; its state is plain JSON stored in the manifest and restored exactly by the inference Lambda,
 * so training and serving run the same code on the same state.
 */
import type { FeatureSpec, TaskDefinition } from './task.js';

export interface FeaturizerState {
  version: 1;
  hashSeed: number;
  hashBuckets: number;
  maxTokens: number;
  wordNgrams: number;
  charNgrams: [number, number];
  features: FeatureSpec[];
  /** Mean and standard deviation of each scaled numeric column, by dense column name. */
  scalers: Record<string, { mean: number; std: number }>;
  /** Names of the dense columns, in order. */
  dense: string[];
}

export interface FeatureRow {
  dense: Float32Array;
  ids: Int32Array;
  weights: Float32Array;
}

export type RawRecord = Record<string, unknown>;

const DAY_MS = 86_400_000;

/** FNV-1a over UTF-16 code units, seeded; fast, stable across Node versions and machines. */
export function hash32(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // final avalanche (murmur3 fmix) so nearby strings land far apart
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+(?:'[\p{L}]+)?/gu) ?? [];
}

function isMissing(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '') || (typeof v === 'number' && !Number.isFinite(v));
}

function toTime(v: unknown): number | undefined {
  if (isMissing(v)) return undefined;
  const t = Date.parse(String(v));
  return Number.isNaN(t) ? undefined : t;
}

function scaleNumber(f: FeatureSpec, v: number): number {
  return f.log ? Math.sign(v) * Math.log1p(Math.abs(v)) : v;
}

/** Dense column values before standardisation; NaN marks missing. */
function rawDense(features: readonly FeatureSpec[], r: RawRecord): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of features) {
    const v = r[f.name];
    if (f.type === 'numeric') {
      const x = isMissing(v) ? NaN : Number(v);
      out.set(f.name, Number.isFinite(x) ? scaleNumber(f, x) : NaN);
    } else if (f.type === 'date') {
      const t = toTime(v);
      const d = t === undefined ? undefined : new Date(t);
      const tau = 2 * Math.PI;
      out.set(`${f.name}.month.sin`, d ? Math.sin((tau * d.getUTCMonth()) / 12) : NaN);
      out.set(`${f.name}.month.cos`, d ? Math.cos((tau * d.getUTCMonth()) / 12) : NaN);
      out.set(`${f.name}.dow.sin`, d ? Math.sin((tau * d.getUTCDay()) / 7) : NaN);
      out.set(`${f.name}.dow.cos`, d ? Math.cos((tau * d.getUTCDay()) / 7) : NaN);
      out.set(`${f.name}.dom`, d ? (d.getUTCDate() - 1) / 30 : NaN);
      if (f.daysFrom) {
        const t0 = toTime(r[f.daysFrom]);
        out.set(`${f.name}.daysFrom.${f.daysFrom}`, t !== undefined && t0 !== undefined ? (t - t0) / DAY_MS : NaN);
      }
    }
  }
  return out;
}

export class Featurizer {
  readonly state: FeaturizerState;

  private constructor(state: FeaturizerState) {
    this.state = state;
  }

  /** Restores a fitted featurizer from its manifest state. */
  static restore(state: FeaturizerState): Featurizer {
    if (state.version !== 1) throw new Error(`featurizer state version ${state.version} is not supported`);
    return new Featurizer(state);
  }

  /** Fits scalers on the training records only (never on validation or test: that would leak). */
  static fit(task: TaskDefinition, train: readonly RawRecord[], hashSeed = 0x5eed): Featurizer {
    const sums = new Map<string, { n: number; s: number; ss: number }>();
    const order: string[] = [];
    for (const r of train) {
      for (const [k, v] of rawDense(task.features, r)) {
        let acc = sums.get(k);
        if (!acc) {
          acc = { n: 0, s: 0, ss: 0 };
          sums.set(k, acc);
          order.push(k);
        }
        if (!Number.isNaN(v)) {
          acc.n++;
          acc.s += v;
          acc.ss += v * v;
        }
      }
    }
    if (train.length === 0) for (const k of rawDense(task.features, {}).keys()) order.push(k);
    const scalers: FeaturizerState['scalers'] = {};
    const dense: string[] = [];
    for (const k of order) {
      const { n, s, ss } = sums.get(k) ?? { n: 0, s: 0, ss: 0 };
      const mean = n ? s / n : 0;
      const variance = n ? Math.max(ss / n - mean * mean, 0) : 0;
      scalers[k] = { mean, std: Math.sqrt(variance) || 1 };
      dense.push(k, `${k}.missing`);
    }
    return new Featurizer({
      version: 1,
      hashSeed,
      hashBuckets: task.featurizer.hashBuckets,
      maxTokens: task.featurizer.maxTokens,
      wordNgrams: task.featurizer.wordNgrams,
      charNgrams: [...task.featurizer.charNgrams] as [number, number],
      features: task.features.map((f) => ({ ...f })),
      scalers,
      dense,
    });
  }

  get denseDim(): number {
    return this.state.dense.length;
  }

  private id(token: string): number {
    // id 0 is padding; real tokens land in [1, hashBuckets)
    return 1 + (hash32(token, this.state.hashSeed) % (this.state.hashBuckets - 1));
  }

  /** Hashed tokens with sublinear tf weights, L2-normalised per feature group. */
  private tokens(r: RawRecord): Map<number, number> {
    const out = new Map<number, number>();
    const addGroup = (toks: string[]) => {
      const tf = new Map<number, number>();
      for (const t of toks) {
        const id = this.id(t);
        tf.set(id, (tf.get(id) ?? 0) + 1);
      }
      let norm = 0;
      for (const [id, c] of tf) {
        const w = 1 + Math.log(c);
        tf.set(id, w);
        norm += w * w;
      }
      norm = Math.sqrt(norm) || 1;
      for (const [id, w] of tf) out.set(id, (out.get(id) ?? 0) + w / norm);
    };
    for (const f of this.state.features) {
      const v = r[f.name];
      if (f.type === 'categorical') {
        addGroup([`${f.name}=${isMissing(v) ? '\u0000missing' : String(v).trim().toLowerCase()}`]);
      } else if (f.type === 'text' && !isMissing(v)) {
        const ws = words(String(v));
        const wordToks: string[] = [];
        for (let n = 1; n <= this.state.wordNgrams; n++) {
          for (let i = 0; i + n <= ws.length; i++) wordToks.push(`${f.name}:w${n}:${ws.slice(i, i + n).join(' ')}`);
        }
        const charToks: string[] = [];
        const [lo, hi] = this.state.charNgrams;
        for (const w of ws) {
          const padded = `<${w}>`;
          for (let n = lo; n <= hi; n++) {
            for (let i = 0; i + n <= padded.length; i++) charToks.push(`${f.name}:c:${padded.slice(i, i + n)}`);
          }
        }
        addGroup(wordToks);
        if (lo > 0) addGroup(charToks);
      }
    }
    return out;
  }

  transform(r: RawRecord): FeatureRow {
    const { maxTokens, dense: names, scalers } = this.state;
    const dense = new Float32Array(names.length);
    const raw = rawDense(this.state.features, r);
    for (let i = 0; i < names.length; i += 2) {
      const v = raw.get(names[i]);
      if (v === undefined || Number.isNaN(v)) {
        dense[i + 1] = 1;
      } else {
        const { mean, std } = scalers[names[i]];
        dense[i] = Math.max(-10, Math.min(10, (v - mean) / std));
      }
    }
    const ids = new Int32Array(maxTokens);
    const weights = new Float32Array(maxTokens);
    let k = 0;
    for (const [id, w] of this.tokens(r)) {
      if (k >= maxTokens) break;
      ids[k] = id;
      weights[k] = w;
      k++;
    }
    return { dense, ids, weights };
  }
}
