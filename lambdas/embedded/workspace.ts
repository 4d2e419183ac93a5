/**
 * The embedded port set: a folder as blob store, SQLite as lake and registry, a JSONL dead-letter
 * store, the in-process bus with one rule per task and event kind, and the trainer as a child process.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EventValidator } from '../core/events.js';
import { emptyReport, addReports, ingestEvents, type IngestReport } from '../core/ingest.js';
import type { TaskDefinition } from '../core/task.js';
import type { Clock } from '../ports/index.js';
import { FsBlobStore } from './fs-blob-store.js';
import { InProcessBus } from './in-process-bus.js';
import { JsonlDeadLetters } from './jsonl-dead-letters.js';
import { LocalTrainerLauncher } from './local-trainer.js';
import { SqliteStore } from './sqlite-store.js';

export class Workspace {
  readonly home: string;
  readonly blobs: FsBlobStore;
  readonly store: SqliteStore;
  readonly deadLetters: JsonlDeadLetters;
  readonly bus: InProcessBus;
  readonly launcher: LocalTrainerLauncher;
  readonly validator: EventValidator;
  readonly clock: Clock = { now: () => new Date() };
  private report: IngestReport = emptyReport();

  constructor(home: string, readonly tasks: readonly TaskDefinition[], opts: { python?: string } = {}) {
    this.home = resolve(home);
    mkdirSync(this.home, { recursive: true });
    this.blobs = new FsBlobStore(join(this.home, 'blobs'));
    this.store = new SqliteStore(join(this.home, 'distillery.db'));
    this.deadLetters = new JsonlDeadLetters(join(this.home, 'dead-letter', 'events.jsonl'));
    this.bus = new InProcessBus(join(this.home, 'system-events.jsonl'));
    this.launcher = new LocalTrainerLauncher(this.blobs, { python: opts.python });
    this.validator = new EventValidator(tasks);
    // one rule per task and event kind, as in AWS; every rule feeds the same ingest code
    for (const task of tasks) {
      for (const kind of [task.input.detailType, ...task.outcomes.map((o) => o.detailType)]) {
        this.bus.addRule({
          name: `${task.name}-${kind}`,
          pattern: { sourcePrefix: task.sourcePrefix, detailType: [kind] },
          target: async (events) => {
            this.report = addReports(this.report, await ingestEvents(events, { validator: this.validator, lake: this.store, deadLetters: this.deadLetters, clock: this.clock }));
          },
        });
      }
    }
  }

  /** Sends ERP events through the bus to ingest; an event no rule matches is a dead letter too. */
  async send(events: readonly unknown[], origin?: string): Promise<IngestReport> {
    this.report = emptyReport();
    const { unmatched } = await this.bus.putEvents(events);
    const report = this.report;
    if (unmatched.length) {
      const at = this.clock.now().toISOString();
      await this.deadLetters.put(unmatched.map((event) => ({ at, reason: this.validator.validate(event).reason ?? 'no rule matches this event', event, origin })));
      report.received += unmatched.length;
      report.invalid += unmatched.length;
    }
    return report;
  }

  close(): void {
    this.store.close();
  }
}
