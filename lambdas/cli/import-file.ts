/** `distillery import`: an export file → ERP events → the same bus and ingest a live ERP feeds. */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { addReports, emptyReport, type IngestReport } from '../core/ingest.js';
import { parseCsv } from '../core/csv.js';
import { parseJsonl, RecordMapper, validateMapping, type ImportMapping, type RowRefusal } from '../core/importer.js';
import { taskByName } from '../tasks/index.js';
import type { ErpEvent } from '../core/events.js';
import type { Workspace } from '../embedded/workspace.js';

export interface ImportSummary {
  file: string;
  task: string;
  rows: number;
  events: number;
  refusedRows: number;
  ingest: IngestReport;
  deadLetters: string;
}

export function loadMapping(path: string): ImportMapping {
  let m: unknown;
  try {
    m = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`mapping ${path} is not readable JSON: ${(err as Error).message}`);
  }
  const problem = validateMapping(m);
  if (problem) throw new Error(`mapping ${path} is invalid: ${problem}`);
  return m as ImportMapping;
}

export async function importFile(
  ws: Workspace,
  file: string,
  mapping: ImportMapping,
  opts: { format?: 'csv' | 'jsonl'; limit?: number; sample?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<ImportSummary> {
  const task = taskByName(mapping.task, ws.tasks);
  if (!task) throw new Error(`mapping names task "${mapping.task}", which is not one of ${ws.tasks.map((t) => t.name).join(', ')}`);
  const problem = validateMapping(mapping);
  if (problem) throw new Error(`mapping is invalid: ${problem}`);
  new RecordMapper(mapping, task); // fails fast on a mapping the task cannot use, before reading the file
  const text = readFileSync(file, 'utf8');
  const format = opts.format ?? (/\.jsonl?$/i.test(file) ? 'jsonl' : 'csv');
  let rows: { row: number; record: Record<string, unknown> }[];
  const refused: RowRefusal[] = [];
  if (format === 'jsonl') {
    const parsed = parseJsonl(text);
    rows = parsed.rows;
    refused.push(...parsed.refused); // lines that are not JSON objects count as rows, refused
  } else {
    const { header, rows: csvRows } = parseCsv(text);
    const needed = [mapping.key, ...Object.values(mapping.input.fields), mapping.outcome.label].filter((c) => c !== '#row');
    const absent = needed.filter((c) => !header.includes(c));
    if (absent.length) throw new Error(`${basename(file)} has no column ${absent.join(', ')} (columns: ${header.join(', ')})`);
    rows = [];
    for (const r of csvRows) {
      if (r.error) refused.push({ row: r.line, reason: r.error, record: r.record });
      else rows.push({ row: r.line, record: r.record });
    }
  }
  if (opts.limit !== undefined) rows = rows.slice(0, opts.limit);
  if (opts.sample !== undefined && opts.sample < rows.length) {
    // every k-th row: a slice that still spans the whole file, even when the file is sorted by label
    const step = rows.length / opts.sample;
    rows = Array.from({ length: opts.sample }, (_, i) => rows[Math.floor(i * step)]);
  }
  const unparsed = refused.length; // rows the file format itself refused (broken lines, wrong field counts)
  const mapper = new RecordMapper(mapping, task, rows.length);
  let report = emptyReport();
  let events = 0;
  let batch: ErpEvent[] = [];
  const flush = async () => {
    if (!batch.length) return;
    events += batch.length;
    report = addReports(report, await ws.send(batch, basename(file)));
    batch = [];
  };
  for (let i = 0; i < rows.length; i++) {
    const { row, record } = rows[i];
    const r = mapper.map(mapping.key === '#row' ? { ...record, '#row': `${mapping.keyPrefix ?? ''}${row}` } : record, row);
    if ('events' in r) batch.push(...r.events);
    else refused.push(r);
    if (batch.length >= 1000) await flush();
    if ((i + 1) % 2000 === 0) opts.onProgress?.(i + 1, rows.length);
  }
  await flush();
  opts.onProgress?.(rows.length, rows.length);
  const at = ws.clock.now().toISOString();
  await ws.deadLetters.put(refused.map((r) => ({ at, reason: `row ${r.row}: ${r.reason}`, event: r.record, origin: `${basename(file)}:${r.row}` })));
  report.invalid += refused.length;
  return { file, task: task.name, rows: rows.length + unparsed, events, refusedRows: refused.length, ingest: report, deadLetters: ws.deadLetters.path };
}

export function formatImport(s: ImportSummary): string {
  const r = s.ingest;
  return [
    `imported ${basename(s.file)} for ${s.task}: ${s.rows} rows → ${s.events} events`,
    `  stored ${r.stored} · duplicates ${r.duplicates} · stale ${r.stale} · invalid ${r.invalid} (rows refused ${s.refusedRows}, events refused ${r.invalid - s.refusedRows})`,
    r.invalid ? `  dead letters, with reasons: ${s.deadLetters}` : '',
    ...[...new Set(r.failures.map((f) => f.reason))].slice(0, 5).map((x) => `    e.g. ${x}`),
  ].filter(Boolean).join('\n');
}
