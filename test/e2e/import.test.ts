/**
 * Backfill through the CLI's import path with a messy export: schema-invalid rows, rows without a
 * key, duplicates, stale versions, a broken line, and outcomes that come before their inputs.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Workspace } from '../../lambdas/embedded/workspace.js';
import { builtInTasks } from '../../lambdas/tasks/index.js';
import { importFile } from '../../lambdas/cli/import-file.js';
import type { ImportMapping } from '../../lambdas/core/importer.js';

const mapping: ImportMapping = {
  task: 'query-routing',
  source: 'erp.helpdesk',
  key: 'id',
  version: 'version',
  rowKind: { column: 'kind', input: ['query'], outcome: ['routed'] },
  input: { occurredAt: { column: 'at' }, fields: { text: 'text', channel: 'channel' } },
  outcome: { occurredAt: { column: 'at' }, label: 'queue' },
};

const lines = [
  { kind: 'routed', id: 'Q1', version: 2, at: '2025-01-02T10:00:00Z', queue: 'card_arrival' }, // outcome before its input
  { kind: 'query', id: 'Q1', version: 1, at: '2025-01-01T10:00:00Z', text: 'my card has not arrived', channel: 'app' },
  { kind: 'query', id: '', version: 1, at: '2025-01-01T11:00:00Z', text: 'no key here' }, // no key
  { kind: 'query', id: 'Q3', version: 1, at: '2025-01-01T12:00:00Z', text: 'hello', channel: { nested: true } }, // schema-invalid
  { kind: 'query', id: 'Q1', version: 1, at: '2025-01-01T10:00:00Z', text: 'my card has not arrived', channel: 'app' }, // duplicate
  { kind: 'query', id: 'Q4', version: 1, at: '2025-01-01T13:00:00Z', text: 'top up failed', channel: 'web' },
  { kind: 'routed', id: 'Q4', version: 2, at: '2025-01-01T14:00:00Z', queue: 'top_up_failed' },
  { kind: 'query', id: 'Q5', version: 3, at: '2025-01-01T15:00:00Z', text: 'exchange rate was wrong (edited)' },
  { kind: 'query', id: 'Q5', version: 2, at: '2025-01-01T15:00:00Z', text: 'exchange rate was wrong' }, // older version
  { kind: 'routed', id: 'Q5', version: 4, at: '2025-01-01T16:00:00Z', queue: 'exchange_rate' },
  { kind: 'query', id: 'Q6', version: 1, at: 'yesterday-ish', text: 'bad time' }, // unparseable time
  { kind: 'escalated', id: 'Q7', version: 1, at: '2025-01-01T17:00:00Z' }, // unknown row kind
];

describe('import of a messy export', () => {
  it('dead-letters each bad row with its reason and lets every valid row arrive exactly once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'import-'));
    const file = join(dir, 'queries.jsonl');
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n{"kind": "query", "id": "Q8", broken json\n');
    const ws = new Workspace(join(dir, 'home'), builtInTasks);
    try {
      const s = await importFile(ws, file, mapping);
      expect(s.rows).toBe(13);
      expect(s.refusedRows).toBe(4); // no key, bad time, unknown row kind, broken line
      expect(s.ingest).toMatchObject({ stored: 6, duplicates: 1, stale: 1, invalid: 5 });
      // Q1 (outcome first), Q4 and Q5 (newest version) are joined; Q3 never arrived
      const labelled = await ws.store.labelled('query-routing');
      expect(labelled.map((e) => [e.entityId, e.label])).toEqual([['Q1', 'card_arrival'], ['Q4', 'top_up_failed'], ['Q5', 'exchange_rate']]);
      expect(labelled[2].data.text).toBe('exchange rate was wrong (edited)');
      expect(await ws.store.counts('query-routing')).toEqual({ inputs: 3, outcomes: 3, labelled: 3 });

      const letters = readFileSync(ws.deadLetters.path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const reasons = letters.map((l) => l.reason).join('\n');
      expect(letters).toHaveLength(5);
      expect(reasons).toContain('detail.data.channel: must be string,number,boolean,null');
      expect(reasons).toContain('row 3: key column "id" is empty');
      expect(reasons).toMatch(/row 11: input time .* is missing or not a date/);
      expect(reasons).toContain('row 12: row kind "escalated" in column "kind" is neither query nor routed');
      expect(reasons).toContain('row 13: line is not valid JSON');
      expect(letters.find((l) => l.reason.includes('channel')).event.detail.entityId).toBe('Q3');

      // importing the same file again changes nothing in the lake
      const again = await importFile(ws, file, mapping);
      expect(again.ingest.stored).toBe(0);
      expect(await ws.store.counts('query-routing')).toEqual({ inputs: 3, outcomes: 3, labelled: 3 });
    } finally {
      ws.close();
    }
  });

  it('refuses a mapping that names fields the task does not read, or a CSV without the mapped columns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'import-'));
    const ws = new Workspace(join(dir, 'home'), builtInTasks);
    try {
      const csv = join(dir, 'x.csv');
      writeFileSync(csv, 'id,body\n1,hello\n');
      await expect(importFile(ws, csv, { ...mapping, input: { ...mapping.input, fields: { colour: 'c' } } })).rejects.toThrow('does not read: colour');
      await expect(importFile(ws, csv, { ...mapping, rowKind: undefined })).rejects.toThrow(/has no column text, channel, queue/);
      await expect(importFile(ws, csv, { ...mapping, task: 'nope' })).rejects.toThrow('mapping names task "nope"');
    } finally {
      ws.close();
    }
  });
});
