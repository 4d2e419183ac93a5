/**
 * RFC 4180 CSV: quoted fields, doubled quotes, quoted newlines, CRLF or LF, a leading BOM.
 * A row whose field count differs from the header's, or whose quote never closes, comes back with an
 * `error` instead of being guessed at, so the importer can refuse that row and keep the rest.
 */
export interface CsvRow {
  /** 1-based line where the row starts. */
  line: number;
  record: Record<string, string>;
  error?: string;
}

interface RawRecord {
  line: number;
  fields: string[];
  error?: string;
}

function records(s: string): RawRecord[] {
  const out: RawRecord[] = [];
  let i = 0, line = 1;
  while (i < s.length) {
    const start = i, startLine = line;
    const fields: string[] = [];
    let field = '', inQuotes = false, quoteLine = line, done = false;
    for (; i < s.length && !done; i++) {
      const ch = s[i];
      if (inQuotes) {
        if (ch === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i++;
          } else inQuotes = false;
        } else {
          if (ch === '\n') line++;
          field += ch;
        }
      } else if (ch === '"' && field === '') {
        inQuotes = true;
        quoteLine = line;
      } else if (ch === ',') {
        fields.push(field);
        field = '';
      } else if (ch === '\n' || ch === '\r') {
        if (ch === '\r' && s[i + 1] === '\n') i++;
        line++;
        done = true;
      } else field += ch;
    }
    if (inQuotes) {
      // the quote never closes: refuse this row alone and go on from the line after it
      const nl = s.indexOf('\n', start);
      out.push({ line: startLine, fields: [], error: `unterminated quote opened on line ${quoteLine}` });
      if (nl < 0) break;
      i = nl + 1;
      line = startLine + 1;
      continue;
    }
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '')) out.push({ line: startLine, fields });
  }
  return out;
}

export function parseCsv(text: string): { header: string[]; rows: CsvRow[] } {
  const recs = records(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  const head = recs.shift();
  const header = (head?.fields ?? []).map((h) => h.trim());
  const rows = recs.map((r): CsvRow => {
    const record = Object.fromEntries(header.map((h, i) => [h, r.fields[i] ?? '']));
    if (r.error) return { line: r.line, record, error: r.error };
    if (r.fields.length !== header.length) {
      return { line: r.line, record, error: `has ${r.fields.length} fields, the header has ${header.length}` };
    }
    return { line: r.line, record };
  });
  return { header, rows };
}
