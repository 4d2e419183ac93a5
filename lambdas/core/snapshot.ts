/**
 * Dataset snapshot (DESIGN 4.4): join labels, split by time (newest = test), fit the featurizer on the
 * training split only, write tensors as .npy plus a manifest with counts, time ranges, label
 * distribution, featurizer state and a content hash.
 */
import { createHash } from 'node:crypto';
import { Featurizer, type FeaturizerState } from './featurizer.js';
import { encodeNpy } from './npy.js';
import type { TaskDefinition } from './task.js';
import type { BlobStore, LabelledExample } from '../ports/index.js';

export const SPLITS = ['train', 'validation', 'test'] as const;
export type SplitName = (typeof SPLITS)[number];

export interface SnapshotManifest {
  task: string;
  kind: string;
  snapshotId: string;
  createdAt: string;
  labels: string[];
  featurizer: FeaturizerState & { denseDim: number };
  counts: Record<SplitName, number>;
  timeRanges: Record<SplitName, { from: string | null; to: string | null }>;
  labelDistribution: Record<SplitName, Record<string, number>>;
  split: { validation: number; test: number; testSince: string | null };
  contentHash: string;
  source: { labelledExamples: number; entityIds: { first: string | null; last: string | null } };
  files: Record<string, { shape: number[]; sha256: string }>;
}

/**
 * Splits examples by the time their input event happened. With `testSince`, every example at or after
 * it is test data (an export's own test period); otherwise the newest `split.test` share is.
 */
export function timeSplit<T extends { occurredAt: string; entityId: string }>(
  examples: readonly T[],
  split: { validation: number; test: number },
  testSince?: string,
): Record<SplitName, T[]> {
  const sorted = [...examples].sort((a, b) => (a.occurredAt < b.occurredAt ? -1 : a.occurredAt > b.occurredAt ? 1 : a.entityId < b.entityId ? -1 : a.entityId > b.entityId ? 1 : 0));
  let testStart: number;
  if (testSince) {
    const cut = new Date(testSince).toISOString();
    testStart = sorted.findIndex((e) => e.occurredAt >= cut);
    if (testStart < 0) testStart = sorted.length;
  } else testStart = Math.round(sorted.length * (1 - split.test));
  const rest = sorted.slice(0, testStart);
  const valStart = Math.round(rest.length * (1 - split.validation / (1 - (testSince ? 0 : split.test))));
  return { train: rest.slice(0, valStart), validation: rest.slice(valStart), test: sorted.slice(testStart) };
}

export interface SnapshotResult {
  key: string;
  manifest: SnapshotManifest;
}

export async function writeSnapshot(
  task: TaskDefinition,
  examples: readonly LabelledExample[],
  deps: { blobs: BlobStore; now: Date },
  opts: { testSince?: string; onProgress?: (done: number, total: number) => void } = {},
): Promise<SnapshotResult> {
  const parts = timeSplit(examples, task.split, opts.testSince);
  for (const s of SPLITS) {
    if (parts[s].length === 0) throw new Error(`snapshot of ${task.name}: the ${s} split is empty (${examples.length} labelled examples); import more data`);
  }
  const labels = task.labels ? [...task.labels] : [...new Set(examples.map((e) => e.label))].sort();
  const featurizer = Featurizer.fit(task, parts.train.map((e) => e.data));
  const { maxTokens } = featurizer.state;
  const D = featurizer.denseDim;
  const files: SnapshotManifest['files'] = {};
  const blobs: [string, Buffer][] = [];
  const total = examples.length;
  let done = 0;
  for (const s of SPLITS) {
    const rows = parts[s];
    const n = rows.length;
    const dense = new Float32Array(n * D), ids = new Int32Array(n * maxTokens), weights = new Float32Array(n * maxTokens), y = new BigInt64Array(n);
    rows.forEach((e, i) => {
      const f = featurizer.transform(e.data);
      dense.set(f.dense, i * D);
      ids.set(f.ids, i * maxTokens);
      weights.set(f.weights, i * maxTokens);
      const yi = labels.indexOf(e.label);
      if (yi < 0) throw new Error(`label ${e.label} of ${e.entityId} is not one of the task's labels`);
      y[i] = BigInt(yi);
      if (++done % 2000 === 0) opts.onProgress?.(done, total);
    });
    for (const [name, data, shape] of [
      ['dense', dense, [n, D]], ['ids', ids, [n, maxTokens]], ['weights', weights, [n, maxTokens]], ['y', y, [n]],
    ] as const) {
      const buf = encodeNpy(data, [...shape]);
      files[`${s}/${name}.npy`] = { shape: [...shape], sha256: createHash('sha256').update(buf).digest('hex') };
      blobs.push([`${s}/${name}.npy`, buf]);
    }
  }
  opts.onProgress?.(total, total);
  const contentHash = createHash('sha256').update(JSON.stringify({ files, labels, featurizer: featurizer.state })).digest('hex');
  const snapshotId = `${deps.now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${contentHash.slice(0, 8)}`;
  const key = `datasets/${task.name}/${snapshotId}`;
  const count = (rows: LabelledExample[]) => rows.reduce<Record<string, number>>((acc, e) => ((acc[e.label] = (acc[e.label] ?? 0) + 1), acc), {});
  const range = (rows: LabelledExample[]) => ({ from: rows[0]?.occurredAt ?? null, to: rows[rows.length - 1]?.occurredAt ?? null });
  const manifest: SnapshotManifest = {
    task: task.name,
    kind: task.kind,
    snapshotId,
    createdAt: deps.now.toISOString(),
    labels,
    featurizer: { ...featurizer.state, denseDim: D },
    counts: { train: parts.train.length, validation: parts.validation.length, test: parts.test.length },
    timeRanges: { train: range(parts.train), validation: range(parts.validation), test: range(parts.test) },
    labelDistribution: { train: count(parts.train), validation: count(parts.validation), test: count(parts.test) },
    split: { ...task.split, testSince: opts.testSince ?? null },
    contentHash,
    source: { labelledExamples: examples.length, entityIds: { first: examples[0]?.entityId ?? null, last: examples[examples.length - 1]?.entityId ?? null } },
    files,
  };
  for (const [name, buf] of blobs) await deps.blobs.put(`${key}/${name}`, buf);
  await deps.blobs.put(`${key}/manifest.json`, JSON.stringify(manifest, null, 2));
  return { key, manifest };
}
