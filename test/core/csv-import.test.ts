import { parseCsv } from '../../lambdas/core/csv.js';
import { parseJsonl, parseTime, RecordMapper, validateMapping, type ImportMapping } from '../../lambdas/core/importer.js';
import { parseIsoTime } from '../../lambdas/core/time.js';
import { invoiceDispute } from '../../lambdas/tasks/index.js';

describe('CSV', () => {
  it('parses quotes, doubled quotes, quoted newlines, CRLF and a BOM', () => {
    const { header, rows } = parseCsv('\ufeffa,b,c\r\n1,"x, ""y""",3\r\n2,"multi\nline",4\n');
    expect(header).toEqual(['a', 'b', 'c']);
    expect(rows.map((r) => r.record)).toEqual([{ a: '1', b: 'x, "y"', c: '3' }, { a: '2', b: 'multi\nline', c: '4' }]);
    expect(rows.map((r) => r.line)).toEqual([2, 3]);
  });

  it('refuses a row whose quote never closes, and keeps the rows after it', () => {
    const { rows } = parseCsv('id,amount,flag\nA,1,No\nB,"55.94,No\nC,3,Yes\nD,4,No\n');
    expect(rows[0]).toEqual({ line: 2, record: { id: 'A', amount: '1', flag: 'No' } });
    expect(rows[1]).toMatchObject({ line: 3, error: 'unterminated quote opened on line 3' });
    expect(rows.slice(2).map((r) => r.record.id)).toEqual(['C', 'D']);
  });

  it('flags rows with too few or too many fields', () => {
    const { rows } = parseCsv('a,b,c\n1,2\n1,2,3,4,5\n1,2,3\n');
    expect(rows.map((r) => r.error)).toEqual(['has 2 fields, the header has 3', 'has 5 fields, the header has 3', undefined]);
  });
});

describe('import mapping', () => {
  const mapping: ImportMapping = {
    task: 'invoice-dispute', source: 'erp.test', key: 'id', version: 'v',
    input: { occurredAt: { column: 'at', format: 'mdy' }, fields: { customerId: 'c', amount: 'amt', invoiceDate: 'at' } },
    outcome: { occurredAt: { column: 'settled', format: 'mdy' }, label: 'd', labelMap: { Y: 'Yes', N: 'No' } },
  };
  const row = { id: 'I1', v: '2', at: '1/2/13', c: 'C9', amt: '12.5', settled: '2/3/13', d: 'Y' };

  it('maps a row to its input and outcome events', () => {
    const r = new RecordMapper(mapping, invoiceDispute).map(row, 2);
    expect('events' in r && r.events.map((e) => [e['detail-type'], e.detail.version, e.detail.occurredAt, e.detail.data])).toEqual([
      ['CustomerInvoice.Posted', 2, '2013-01-02T00:00:00.000Z', { customerId: 'C9', amount: 12.5, invoiceDate: '2013-01-02' }],
      ['CustomerInvoice.Settled', 2, '2013-02-03T00:00:00.000Z', { disputed: 'Yes' }],
    ]);
  });

  it.each([
    [{ id: { x: 1 } }, 'key column "id" must hold a string or a number'],
    [{ v: ' ' }, 'version column "v" must be a whole number ≥ 0, got " "'],
    [{ v: '0x10' }, 'must be a whole number'],
    [{ v: '1e3' }, 'must be a whole number'],
    [{ v: '99999999999999999999' }, 'must be a whole number'],
    [{ at: '2/31/2013' }, 'input time'],
  ])('refuses %j with a reason', (patch, reason) => {
    const r = new RecordMapper(mapping, invoiceDispute).map({ ...row, ...patch }, 7);
    expect('reason' in r && r.reason).toContain(reason);
  });

  it('takes labelMap entries only, never inherited keys', () => {
    const r = new RecordMapper(mapping, invoiceDispute).map({ ...row, d: '__proto__' }, 2);
    expect('events' in r && r.events[1].detail.data).toEqual({ disputed: '__proto__' });
  });

  it.each([
    [5, 'it must be a JSON object'],
    [{ ...mapping, input: { fields: {} } }, 'input.occurredAt must be'],
    [{ ...mapping, input: { ...mapping.input, occurredAt: { sequence: { start: 'not-a-date', stepSeconds: 60 } } } }, 'input.occurredAt.sequence.start must be an ISO-8601 time'],
    [{ ...mapping, input: { ...mapping.input, occurredAt: { sequence: { start: '2024-01-01', stepSeconds: 'x' } } } }, 'stepSeconds must be a number > 0'],
    [{ ...mapping, outcome: { ...mapping.outcome, label: 3 } }, 'outcome.label must be a column name'],
  ])('names what is wrong in a mapping: %j', (m, message) => {
    expect(validateMapping(m)).toContain(message);
  });

  it('parses dates strictly: real calendar dates, two-digit years pivot at 70', () => {
    expect(parseIsoTime('foo 1')).toBeUndefined();
    expect(parseIsoTime('2020-02-31')).toBeUndefined();
    expect(parseIsoTime('2020-02-29')).toBe('2020-02-29T00:00:00.000Z');
    expect(parseIsoTime('2020-02-29T10:30:00+02:00')).toBe('2020-02-29T08:30:00.000Z');
    expect(parseTime('1/2/99', 'mdy')).toBe('1999-01-02T00:00:00.000Z');
    expect(parseTime('1/2/13', 'mdy')).toBe('2013-01-02T00:00:00.000Z');
    expect(parseTime('13/2/2013', 'mdy')).toBeUndefined();
    expect(parseTime('13/2/2013', 'dmy')).toBe('2013-02-13T00:00:00.000Z');
  });

  it('reads JSONL with a BOM and refuses lines that are not objects', () => {
    const { rows, refused } = parseJsonl('\ufeff{"a":1}\n[1,2]\nnot json\n');
    expect(rows).toEqual([{ row: 1, record: { a: 1 } }]);
    expect(refused.map((r) => [r.row, r.reason.split(':')[0]])).toEqual([[2, 'line is not a JSON object'], [3, 'line is not valid JSON']]);
  });
});
