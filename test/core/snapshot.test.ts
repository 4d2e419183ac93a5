import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNpy } from '../../lambdas/core/npy.js';
import { timeSplit, writeSnapshot } from '../../lambdas/core/snapshot.js';
import { FsBlobStore } from '../../lambdas/embedded/fs-blob-store.js';
import { invoiceApproval } from '../../lambdas/tasks/index.js';

const at = (i: number) => new Date(Date.UTC(2025, 0, 1) + i * 3_600_000).toISOString();

describe('snapshot', () => {
  it('splits by time: the newest rows are the test set, the next newest validation', () => {
    const rows = Array.from({ length: 100 }, (_, i) => ({ entityId: `e${i}`, occurredAt: at(99 - i) }));
    const s = timeSplit(rows, { validation: 0.1, test: 0.2 });
    expect([s.train.length, s.validation.length, s.test.length]).toEqual([70, 10, 20]);
    expect(s.train.every((r) => r.occurredAt < s.validation[0].occurredAt)).toBe(true);
    expect(s.validation.every((r) => r.occurredAt < s.test[0].occurredAt)).toBe(true);
    const since = timeSplit(rows, { validation: 0.1, test: 0.2 }, at(90));
    expect([since.train.length, since.validation.length, since.test.length]).toEqual([81, 9, 10]);
  });

  it('writes npy tensors and a manifest with counts, ranges, label distribution and a content hash', async () => {
    const root = mkdtempSync(join(tmpdir(), 'snap-'));
    const blobs = new FsBlobStore(root);
    const examples = Array.from({ length: 50 }, (_, i) => ({
      entityId: `INV-${i}`, occurredAt: at(i), labelledAt: at(i + 24), label: i % 3 ? 'approved' : 'rejected',
      data: { vendorId: `V${i % 4}`, amount: 100 + i, currency: 'EUR', description: 'office supplies' },
    }));
    const { key, manifest } = await writeSnapshot(invoiceApproval, examples, { blobs, now: new Date('2025-06-01T00:00:00Z') });
    expect(manifest.counts).toEqual({ train: 35, validation: 5, test: 10 });
    expect(manifest.timeRanges.test.to).toBe(at(49));
    expect(manifest.labels).toEqual(['approved', 'rejected']);
    expect(manifest.labelDistribution.test).toEqual({ approved: 7, rejected: 3 });
    // the scaler saw the training split only (amounts 100..134), never the newer rows
    expect(manifest.featurizer.scalers.amount.mean).toBeCloseTo(examples.slice(0, 35).reduce((s, e) => s + Math.log1p(e.data.amount), 0) / 35, 10);
    const y = decodeNpy(readFileSync(join(root, key, 'test', 'y.npy')));
    expect(Array.from(y.data as BigInt64Array, Number)).toEqual(examples.slice(40).map((e) => (e.label === 'approved' ? 0 : 1)));
    const ids = decodeNpy(readFileSync(join(root, key, 'train', 'ids.npy')));
    expect(ids.shape).toEqual([35, invoiceApproval.featurizer.maxTokens]);
    expect(manifest.contentHash).toMatch(/^[0-9a-f]{64}$/);
    // same input, same content hash
    const again = await writeSnapshot(invoiceApproval, examples, { blobs, now: new Date('2025-06-02T00:00:00Z') });
    expect(again.manifest.contentHash).toBe(manifest.contentHash);
  });

  it('refuses to snapshot when a split would be empty', async () => {
    const blobs = new FsBlobStore(mkdtempSync(join(tmpdir(), 'snap-')));
    const one = [{ entityId: 'a', occurredAt: at(0), labelledAt: at(1), label: 'approved', data: {} }];
    await expect(writeSnapshot(invoiceApproval, one, { blobs, now: new Date() })).rejects.toThrow(/split is empty/);
  });
});
