/**
 * Ingest: validate · dedupe · redact PII · append to the lake. Runs twice on the same events with the
 * same result (idempotent on the change identity); an invalid event goes to the dead-letter store
 * with its reason and never stops the valid events around it.
 */
import { createHash } from 'node:crypto';
import type { ErpEvent, EventValidator } from './events.js';
import type { TaskDefinition } from './task.js';
import type { Clock, DeadLetterStore, Lake } from '../ports/index.js';

export interface IngestDeps {
  validator: EventValidator;
  lake: Lake;
  deadLetters: DeadLetterStore;
  clock: Clock;
}

export interface IngestReport {
  received: number;
  stored: number;
  duplicates: number;
  stale: number;
  invalid: number;
  /** Index in the batch and reason of each refused event (the SQS adapter reports these as failures). */
  failures: { index: number; reason: string }[];
  /** Outcomes (labels) newly stored, by task: what the retraining counters add up. */
  outcomesStored: Record<string, number>;
}

export function emptyReport(): IngestReport {
  return { received: 0, stored: 0, duplicates: 0, stale: 0, invalid: 0, failures: [], outcomesStored: {} };
}

export function addReports(a: IngestReport, b: IngestReport): IngestReport {
  return {
    received: a.received + b.received,
    stored: a.stored + b.stored,
    duplicates: a.duplicates + b.duplicates,
    stale: a.stale + b.stale,
    invalid: a.invalid + b.invalid,
    failures: [...a.failures, ...b.failures],
    outcomesStored: Object.fromEntries(
      [...new Set([...Object.keys(a.outcomesStored), ...Object.keys(b.outcomesStored)])].map((t) => [t, (a.outcomesStored[t] ?? 0) + (b.outcomesStored[t] ?? 0)]),
    ),
  };
}

/** Keeps only the fields the task reads; PII fields listed under `hash` are replaced by a salted digest. */
export function redact(task: TaskDefinition, data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of task.features) {
    if (task.pii.drop.includes(f.name) || !(f.name in data)) continue;
    const v = data[f.name];
    out[f.name] = task.pii.hash.includes(f.name) && v !== null && v !== undefined ? pseudonym(task.name, String(v)) : v;
  }
  return out;
}

export function pseudonym(salt: string, value: string): string {
  return 'h:' + createHash('sha256').update(`${salt}\u0000${value}`).digest('hex').slice(0, 16);
}

export function labelOf(task: TaskDefinition, e: ErpEvent, outcome: TaskDefinition['outcomes'][number]): string | { error: string } {
  const raw = outcome.label ?? e.detail.data[outcome.labelField as string];
  const label = String(raw).trim();
  if (!label) return { error: `outcome field ${outcome.labelField} is empty` };
  if (task.labels && !task.labels.includes(label)) return { error: `label "${label}" is not one of ${task.labels.join(', ')}` };
  return label;
}

export async function ingestEvents(events: readonly unknown[], deps: IngestDeps, origin?: string): Promise<IngestReport> {
  const report = emptyReport();
  const letters: { at: string; reason: string; event: unknown; origin?: string }[] = [];
  const refuse = (index: number, event: unknown, reason: string) => {
    report.invalid++;
    report.failures.push({ index, reason });
    letters.push({ at: deps.clock.now().toISOString(), reason, event, origin });
  };
  for (let i = 0; i < events.length; i++) {
    report.received++;
    const verdict = deps.validator.validate(events[i]);
    if (!verdict.ok) {
      refuse(i, events[i], verdict.reason ?? 'invalid');
      continue;
    }
    const e = events[i] as ErpEvent;
    const results: string[] = [];
    for (const role of verdict.roles) {
      const base = { entityId: e.detail.entityId, version: e.detail.version, occurredAt: new Date(e.detail.occurredAt).toISOString(), source: e.source };
      if (role.role === 'input') {
        results.push(await deps.lake.putInput(role.task.name, { ...base, data: redact(role.task, e.detail.data) }));
      } else {
        const label = labelOf(role.task, e, role.outcome);
        if (typeof label !== 'string') {
          refuse(i, e, label.error);
          results.length = 0;
          break;
        }
        const put = await deps.lake.putOutcome(role.task.name, { ...base, detailType: e['detail-type'], label });
        if (put === 'stored') report.outcomesStored[role.task.name] = (report.outcomesStored[role.task.name] ?? 0) + 1;
        results.push(put);
      }
    }
    if (results.includes('stored')) report.stored++;
    else if (results.includes('stale')) report.stale++;
    else if (results.length) report.duplicates++;
  }
  await deps.deadLetters.put(letters);
  return report;
}
