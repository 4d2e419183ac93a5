/**
 * Backfill: a CSV or JSONL export of ERP records becomes the same ERP events a live ERP would emit.
 * A mapping says which column is the key, which are fields, which holds the outcome and when each
 * became known. Rows that cannot become an event are refused with a reason, never silently dropped.
 */
import type { ErpEvent } from './events.js';
import type { FeatureSpec, TaskDefinition } from './task.js';
import { parseIsoTime } from './time.js';

export type TimeSpec =
  | { column: string; format?: 'iso' | 'mdy' | 'dmy' }
  /**
   * Exports without a time column: rows arrive `stepSeconds` apart from `start`, in file order, or in a
   * seeded random order when the file is sorted by something else (a file sorted by label would put
   * whole classes into the newest split).
   */
  | { sequence: { start: string; stepSeconds: number; order?: 'file' | 'shuffled'; seed?: number } };

export interface ImportMapping {
  task: string;
  /** EventBridge source, `erp.<system>`. */
  source: string;
  /** Column holding the entity id that joins input and outcome; `#row` numbers the rows instead. */
  key: string;
  /** Prefix for `#row` keys, so two files of one export do not share ids. */
  keyPrefix?: string;
  /** Column holding the change version; default 1. */
  version?: string;
  /** Optional column telling whether a row is an input or an outcome record; default: both. */
  rowKind?: { column: string; input: string[]; outcome: string[] };
  input: { detailType?: string; occurredAt: TimeSpec; fields: Record<string, string> };
  outcome: { detailType?: string; occurredAt: TimeSpec; label: string; labelMap?: Record<string, string> };
}

export interface RowRefusal {
  row: number;
  reason: string;
  record: Record<string, unknown>;
}

const MISSING = new Set(['', 'na', 'n/a', 'null', 'none', 'nan']);

function isBlank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && MISSING.has(v.trim().toLowerCase()));
}

/** Parses 1/2/2013 (mdy), 2/1/2013 (dmy) or ISO; returns an ISO string or undefined. */
export function parseTime(v: unknown, format: 'iso' | 'mdy' | 'dmy' = 'iso'): string | undefined {
  if (isBlank(v)) return undefined;
  const s = String(v).trim();
  if (format !== 'iso') {
    const m = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})$/.exec(s);
    if (!m) return undefined;
    // two-digit years pivot at 70: 69 → 2069, 70 → 1970 (POSIX strptime's rule)
    const yy = Number(m[3]);
    const [a, b, y] = [Number(m[1]), Number(m[2]), m[3].length === 2 ? (yy < 70 ? 2000 + yy : 1900 + yy) : m[3].length === 4 ? yy : NaN];
    const [month, day] = format === 'mdy' ? [a, b] : [b, a];
    const d = new Date(Date.UTC(y, month - 1, day));
    if (d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return undefined;
    return d.toISOString();
  }
  return parseIsoTime(s);
}


/** Coerces an export's text to the feature's type; a value that does not fit is kept so the schema refuses it. */
function coerce(f: FeatureSpec | undefined, v: unknown, dateFormat: 'iso' | 'mdy' | 'dmy'): unknown {
  if (isBlank(v)) return null;
  if (!f) return v;
  if (f.type === 'numeric') {
    if (typeof v === 'number') return v;
    const n = Number(String(v).trim().replace(/,/g, ''));
    return Number.isFinite(n) ? n : v;
  }
  if (f.type === 'date') {
    const iso = parseTime(v, dateFormat);
    return iso ? iso.slice(0, 10) : v;
  }
  return typeof v === 'string' ? v : typeof v === 'object' ? v : String(v);
}

function shuffledPositions(n: number, seed: number): Int32Array {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

export class RecordMapper {
  private seq = 0;
  private positions?: Int32Array;
  /** `rows`: how many rows the export holds, needed for a shuffled sequence. */
  constructor(readonly mapping: ImportMapping, readonly task: TaskDefinition, rows = 0) {
    const seqs = [mapping.input.occurredAt, mapping.outcome.occurredAt].filter((t) => 'sequence' in t && t.sequence.order === 'shuffled');
    if (seqs.length) this.positions = shuffledPositions(rows, ('sequence' in seqs[0] && seqs[0].sequence.seed) || 1);
    const missing = Object.keys(mapping.input.fields).filter((k) => !task.features.some((f) => f.name === k));
    if (missing.length) throw new Error(`mapping names fields the task ${task.name} does not read: ${missing.join(', ')}`);
    if (!/^erp\.[a-z0-9][a-z0-9._-]*$/.test(mapping.source)) throw new Error(`mapping source ${mapping.source} must look like erp.<system>`);
  }

  private time(spec: TimeSpec, r: Record<string, unknown>, index: number): string | undefined {
    if ('sequence' in spec) {
      const at = spec.sequence.order === 'shuffled' && this.positions ? this.positions[index] ?? index : index;
      return new Date(Date.parse(spec.sequence.start) + at * spec.sequence.stepSeconds * 1000).toISOString();
    }
    return parseTime(r[spec.column], spec.format);
  }

  private dateFormat(): 'iso' | 'mdy' | 'dmy' {
    const t = this.mapping.input.occurredAt;
    return 'column' in t ? t.format ?? 'iso' : 'iso';
  }

  /** One export row → its events, or a refusal naming what is wrong. */
  map(r: Record<string, unknown>, rowNumber: number): { events: ErpEvent[] } | RowRefusal {
    const index = this.seq++;
    const m = this.mapping;
    const key = r[m.key];
    if (isBlank(key)) return { row: rowNumber, reason: `key column "${m.key}" is empty`, record: r };
    if (typeof key !== 'string' && typeof key !== 'number') return { row: rowNumber, reason: `key column "${m.key}" must hold a string or a number`, record: r };
    let version = 1;
    if (m.version) {
      const raw = String(r[m.version] ?? '').trim();
      version = /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(version)) return { row: rowNumber, reason: `version column "${m.version}" must be a whole number ≥ 0, got ${JSON.stringify(r[m.version] ?? null)}`, record: r };
    }
    let kinds: ('input' | 'outcome')[] = ['input', 'outcome'];
    if (m.rowKind) {
      const k = String(r[m.rowKind.column] ?? '').trim();
      if (m.rowKind.input.includes(k)) kinds = ['input'];
      else if (m.rowKind.outcome.includes(k)) kinds = ['outcome'];
      else return { row: rowNumber, reason: `row kind "${k}" in column "${m.rowKind.column}" is neither ${[...m.rowKind.input, ...m.rowKind.outcome].join(' nor ')}`, record: r };
    }
    const events: ErpEvent[] = [];
    const entityId = String(key).trim();
    if (kinds.includes('input')) {
      const occurredAt = this.time(m.input.occurredAt, r, index);
      if (!occurredAt) return { row: rowNumber, reason: `input time ${JSON.stringify(m.input.occurredAt)} is missing or not a date`, record: r };
      const data: Record<string, unknown> = {};
      for (const [field, column] of Object.entries(m.input.fields)) {
        data[field] = coerce(this.task.features.find((f) => f.name === field), r[column], this.dateFormat());
      }
      events.push({ source: m.source, 'detail-type': m.input.detailType ?? this.task.input.detailType, detail: { entityId, version, occurredAt, data } });
    }
    if (kinds.includes('outcome')) {
      const occurredAt = this.time(m.outcome.occurredAt, r, index);
      const raw = r[m.outcome.label];
      // an outcome not yet known (no settlement date, no label) is not an error: it has not happened
      if (occurredAt && !isBlank(raw)) {
        const rawLabel = String(raw).trim();
        const label = m.outcome.labelMap && Object.hasOwn(m.outcome.labelMap, rawLabel) ? m.outcome.labelMap[rawLabel] : rawLabel;
        // tasks whose outcome kinds each mean one label (Invoice.Approved / Invoice.Rejected) pick the kind by label
        const outcome =
          this.task.outcomes.find((o) => (m.outcome.detailType ? o.detailType === m.outcome.detailType : o.label === label)) ??
          this.task.outcomes.find((o) => o.labelField) ??
          this.task.outcomes[0];
        if (outcome.label && outcome.label !== label) {
          return { row: rowNumber, reason: `outcome "${label}" matches no outcome event kind of task ${this.task.name}`, record: r };
        }
        const field = outcome.labelField ?? 'label';
        events.push({ source: m.source, 'detail-type': outcome.detailType, detail: { entityId, version, occurredAt, data: { [field]: label } } });
      } else if (kinds.length === 1) {
        return { row: rowNumber, reason: `outcome row without ${occurredAt ? `a value in "${m.outcome.label}"` : 'a valid outcome time'}`, record: r };
      }
    }
    return { events };
  }
}

const TIME_SPEC = (where: string, t: unknown): string | undefined => {
  if (!t || typeof t !== 'object') return `${where} must be {"column": ...} or {"sequence": {...}}`;
  const o = t as Record<string, unknown>;
  if ('column' in o) {
    if (typeof o.column !== 'string' || !o.column) return `${where}.column must be a column name`;
    if (o.format !== undefined && !['iso', 'mdy', 'dmy'].includes(o.format as string)) return `${where}.format must be iso, mdy or dmy`;
    return undefined;
  }
  const seq = o.sequence as Record<string, unknown> | undefined;
  if (!seq || typeof seq !== 'object') return `${where} must be {"column": ...} or {"sequence": {...}}`;
  if (typeof seq.start !== 'string' || !parseIsoTime(seq.start)) return `${where}.sequence.start must be an ISO-8601 time`;
  if (typeof seq.stepSeconds !== 'number' || !(seq.stepSeconds > 0)) return `${where}.sequence.stepSeconds must be a number > 0`;
  if (seq.order !== undefined && seq.order !== 'file' && seq.order !== 'shuffled') return `${where}.sequence.order must be file or shuffled`;
  return undefined;
};

/** Checks a mapping's shape and names the first field that is wrong. */
export function validateMapping(m: unknown): string | undefined {
  if (!m || typeof m !== 'object' || Array.isArray(m)) return 'it must be a JSON object';
  const o = m as Record<string, unknown>;
  for (const k of ['task', 'source', 'key']) if (typeof o[k] !== 'string' || !o[k]) return `"${k}" must be a non-empty string`;
  if (o.version !== undefined && typeof o.version !== 'string') return '"version" must be a column name';
  const input = o.input as Record<string, unknown> | undefined;
  if (!input || typeof input !== 'object') return '"input" must be an object';
  const inputTime = TIME_SPEC('input.occurredAt', input.occurredAt);
  if (inputTime) return inputTime;
  if (!input.fields || typeof input.fields !== 'object' || Object.values(input.fields).some((c) => typeof c !== 'string')) return 'input.fields must map field names to column names';
  const outcome = o.outcome as Record<string, unknown> | undefined;
  if (!outcome || typeof outcome !== 'object') return '"outcome" must be an object';
  const outcomeTime = TIME_SPEC('outcome.occurredAt', outcome.occurredAt);
  if (outcomeTime) return outcomeTime;
  if (typeof outcome.label !== 'string' || !outcome.label) return 'outcome.label must be a column name';
  if (outcome.labelMap !== undefined && (typeof outcome.labelMap !== 'object' || Object.values(outcome.labelMap as object).some((v) => typeof v !== 'string'))) return 'outcome.labelMap must map values to label strings';
  if (o.rowKind !== undefined) {
    const rk = o.rowKind as Record<string, unknown>;
    if (typeof rk.column !== 'string' || !Array.isArray(rk.input) || !Array.isArray(rk.outcome)) return 'rowKind must be {"column": ..., "input": [...], "outcome": [...]}';
  }
  return undefined;
}

/** Parses JSONL text; a line that is not a JSON object is refused with its line number. */
export function parseJsonl(text: string): { rows: { row: number; record: Record<string, unknown> }[]; refused: RowRefusal[] } {
  const rows: { row: number; record: Record<string, unknown> }[] = [];
  const refused: RowRefusal[] = [];
  (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    try {
      const v = JSON.parse(line);
      if (v && typeof v === 'object' && !Array.isArray(v)) rows.push({ row: i + 1, record: v });
      else refused.push({ row: i + 1, reason: 'line is not a JSON object', record: { line } });
    } catch (err) {
      refused.push({ row: i + 1, reason: `line is not valid JSON: ${(err as Error).message}`, record: { line } });
    }
  });
  return { rows, refused };
}
