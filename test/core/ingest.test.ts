import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ErpEvent } from '../../lambdas/core/events.js';
import { EventValidator } from '../../lambdas/core/events.js';
import { ingestEvents, pseudonym } from '../../lambdas/core/ingest.js';
import { JsonlDeadLetters } from '../../lambdas/embedded/jsonl-dead-letters.js';
import { SqliteStore } from '../../lambdas/embedded/sqlite-store.js';
import { builtInTasks } from '../../lambdas/tasks/index.js';

function posted(id: string, version = 1, data: Record<string, unknown> = {}): ErpEvent {
  return {
    source: 'erp.sap',
    'detail-type': 'Invoice.Posted',
    detail: {
      entityId: id, version, occurredAt: '2025-03-01T10:00:00Z',
      data: { vendorId: 'V1', vendorTaxId: 'DE123', amount: 120.5, currency: 'EUR', approverEmail: 'x@example.com', ...data },
    },
  };
}
const decided = (id: string, kind = 'Invoice.Approved', version = 2): ErpEvent => ({
  source: 'erp.sap', 'detail-type': kind, detail: { entityId: id, version, occurredAt: '2025-03-05T10:00:00Z', data: {} },
});

describe('ingest', () => {
  let store: SqliteStore;
  let deadLetters: JsonlDeadLetters;
  let deps: Parameters<typeof ingestEvents>[1];
  beforeEach(() => {
    const dir = mkdtempSync(join(tmpdir(), 'ingest-'));
    store = new SqliteStore(join(dir, 'db.sqlite'));
    deadLetters = new JsonlDeadLetters(join(dir, 'dead.jsonl'));
    deps = { validator: new EventValidator(builtInTasks), lake: store, deadLetters, clock: { now: () => new Date('2025-03-10T00:00:00Z') } };
  });
  afterEach(() => store.close());

  it('stores valid events, dead-letters invalid ones with the reason, and keeps the rest', async () => {
    const bad = posted('INV-2', 1, { amount: '120 EUR' });
    const noKey = { ...posted('x'), detail: { ...posted('x').detail, entityId: '' } };
    const r = await ingestEvents([posted('INV-1'), bad, noKey, decided('INV-1'), { hello: 'world' }], deps);
    expect(r).toMatchObject({ received: 5, stored: 2, invalid: 3, duplicates: 0 });
    expect(r.failures.map((f) => f.index)).toEqual([1, 2, 4]);
    expect(r.failures[0].reason).toContain('detail.data.amount: must be number,null');
    expect(r.failures[1].reason).toContain('detail.entityId');
    const letters = readFileSync(deadLetters.path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(letters).toHaveLength(3);
    expect(letters[0].event.detail.entityId).toBe('INV-2');
    expect(await store.counts('invoice-approval')).toEqual({ inputs: 1, outcomes: 1, labelled: 1 });
  });

  it('is idempotent on (source, detail-type, entityId, version) and never lets an older version win', async () => {
    await ingestEvents([posted('INV-1', 2, { amount: 200 })], deps);
    const again = await ingestEvents([posted('INV-1', 2, { amount: 200 }), posted('INV-1', 1, { amount: 1 })], deps);
    expect(again).toMatchObject({ stored: 0, duplicates: 1, stale: 1 });
    await ingestEvents([decided('INV-1')], deps);
    const [ex] = await store.labelled('invoice-approval');
    expect(ex.data.amount).toBe(200);
  });

  it('joins outcomes that arrive before their inputs; a later decision replaces an earlier one', async () => {
    await ingestEvents([decided('INV-7', 'Invoice.Rejected', 2)], deps);
    expect(await store.labelled('invoice-approval')).toHaveLength(0);
    await ingestEvents([posted('INV-7')], deps);
    expect((await store.labelled('invoice-approval'))[0].label).toBe('rejected');
    await ingestEvents([decided('INV-7', 'Invoice.Approved', 3)], deps);
    expect((await store.labelled('invoice-approval'))[0].label).toBe('approved');
  });

  it('drops PII fields and hashes the ones marked for hashing before storing', async () => {
    await ingestEvents([posted('INV-1'), decided('INV-1')], deps);
    const [ex] = await store.labelled('invoice-approval');
    expect(ex.data).not.toHaveProperty('approverEmail');
    expect(ex.data.vendorTaxId).toBe(pseudonym('invoice-approval', 'DE123'));
    expect(String(ex.data.vendorTaxId)).not.toContain('DE123');
  });
});
