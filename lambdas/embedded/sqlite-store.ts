/**
 * SQLite as the embedded lake and model registry. Versioned upserts make ingest idempotent:
 * a repeat of the same change is a duplicate, an older version never overwrites a newer one.
 */
import Database from 'better-sqlite3';
import type {
  InputRecord, LabelledExample, Lake, ModelRecord, ModelRegistry, ModelStatus, OutcomeRecord, PutResult,
} from '../ports/index.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS inputs (task TEXT, entity_id TEXT, version INTEGER, occurred_at TEXT, source TEXT, data TEXT,
  PRIMARY KEY (task, entity_id));
CREATE TABLE IF NOT EXISTS outcomes (task TEXT, entity_id TEXT, version INTEGER, occurred_at TEXT, source TEXT, detail_type TEXT, label TEXT,
  PRIMARY KEY (task, entity_id));
CREATE TABLE IF NOT EXISTS models (task TEXT, version INTEGER, status TEXT, bundle_key TEXT, metrics TEXT, gate TEXT, lineage TEXT,
  created_at TEXT, updated_at TEXT, PRIMARY KEY (task, version));
`;

export class SqliteStore implements Lake, ModelRegistry {
  readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  private upsert(table: 'inputs' | 'outcomes', task: string, entityId: string, version: number, row: Record<string, unknown>): PutResult {
    const existing = this.db.prepare(`SELECT version FROM ${table} WHERE task = ? AND entity_id = ?`).get(task, entityId) as
      | { version: number }
      | undefined;
    if (existing && existing.version === version) return 'duplicate';
    if (existing && existing.version > version) return 'stale';
    const cols = ['task', 'entity_id', 'version', ...Object.keys(row)];
    this.db
      .prepare(`INSERT OR REPLACE INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`)
      .run(task, entityId, version, ...Object.values(row));
    return 'stored';
  }

  async putInput(task: string, r: InputRecord): Promise<PutResult> {
    return this.upsert('inputs', task, r.entityId, r.version, { occurred_at: r.occurredAt, source: r.source, data: JSON.stringify(r.data) });
  }

  async putOutcome(task: string, r: OutcomeRecord): Promise<PutResult> {
    return this.upsert('outcomes', task, r.entityId, r.version, {
      occurred_at: r.occurredAt, source: r.source, detail_type: r.detailType, label: r.label,
    });
  }

  async labelled(task: string): Promise<LabelledExample[]> {
    const rows = this.db
      .prepare(
        `SELECT i.entity_id, i.occurred_at, i.data, o.label, o.occurred_at AS labelled_at FROM inputs i
         JOIN outcomes o ON o.task = i.task AND o.entity_id = i.entity_id WHERE i.task = ? ORDER BY i.occurred_at, i.entity_id`,
      )
      .all(task) as { entity_id: string; occurred_at: string; data: string; label: string; labelled_at: string }[];
    return rows.map((r) => ({ entityId: r.entity_id, occurredAt: r.occurred_at, data: JSON.parse(r.data), label: r.label, labelledAt: r.labelled_at }));
  }

  async counts(task: string): Promise<{ inputs: number; outcomes: number; labelled: number }> {
    const one = (sql: string) => (this.db.prepare(sql).get(task) as { n: number }).n;
    return {
      inputs: one('SELECT COUNT(*) AS n FROM inputs WHERE task = ?'),
      outcomes: one('SELECT COUNT(*) AS n FROM outcomes WHERE task = ?'),
      labelled: one('SELECT COUNT(*) AS n FROM inputs i JOIN outcomes o ON o.task = i.task AND o.entity_id = i.entity_id WHERE i.task = ?'),
    };
  }

  async nextVersion(task: string): Promise<number> {
    const r = this.db.prepare('SELECT MAX(version) AS v FROM models WHERE task = ?').get(task) as { v: number | null };
    return (r.v ?? 0) + 1;
  }

  async put(m: ModelRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO models (task, version, status, bundle_key, metrics, gate, lineage, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(m.task, m.version, m.status, m.bundleKey, JSON.stringify(m.metrics), JSON.stringify(m.gate), JSON.stringify(m.lineage), m.createdAt, m.updatedAt);
  }

  private static toRecord(r: Record<string, unknown>): ModelRecord {
    return {
      task: r.task as string,
      version: r.version as number,
      status: r.status as ModelStatus,
      bundleKey: r.bundle_key as string,
      metrics: JSON.parse(r.metrics as string),
      gate: JSON.parse(r.gate as string),
      lineage: JSON.parse(r.lineage as string),
      createdAt: r.created_at as string,
      updatedAt: r.updated_at as string,
    };
  }

  async get(task: string, version: number): Promise<ModelRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM models WHERE task = ? AND version = ?').get(task, version) as Record<string, unknown> | undefined;
    return r && SqliteStore.toRecord(r);
  }

  async list(task?: string): Promise<ModelRecord[]> {
    const rows = task
      ? this.db.prepare('SELECT * FROM models WHERE task = ? ORDER BY version').all(task)
      : this.db.prepare('SELECT * FROM models ORDER BY task, version').all();
    return (rows as Record<string, unknown>[]).map(SqliteStore.toRecord);
  }

  async production(task: string): Promise<ModelRecord | undefined> {
    const r = this.db.prepare("SELECT * FROM models WHERE task = ? AND status = 'production'").get(task) as Record<string, unknown> | undefined;
    return r && SqliteStore.toRecord(r);
  }

  async promote(task: string, version: number, at: string): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare("UPDATE models SET status = 'retired', updated_at = ? WHERE task = ? AND status = 'production' AND version != ?").run(at, task, version);
      const res = this.db.prepare("UPDATE models SET status = 'production', updated_at = ? WHERE task = ? AND version = ?").run(at, task, version);
      if (res.changes !== 1) throw new Error(`no model ${task} v${version} to promote`);
    })();
  }

  async setStatus(task: string, version: number, status: ModelStatus, at: string): Promise<void> {
    this.db.prepare('UPDATE models SET status = ?, updated_at = ? WHERE task = ? AND version = ?').run(status, at, task, version);
  }
}
