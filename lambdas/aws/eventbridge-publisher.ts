/**
 * Distillery's events onto the EventBridge bus. PutEvents takes at most 10 entries and can accept
 * some while refusing others (FailedEntryCount, per-entry ErrorCode): only the refused entries are
 * sent again, with backoff, and an entry is never reported as sent unless EventBridge accepted it.
 */
import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { EventPublisher, SystemEvent } from '../ports/index.js';

export const MAX_ENTRIES_PER_CALL = 10;

export class PublishError extends Error {
  constructor(
    message: string,
    /** The events EventBridge never accepted, with the last error of each. */
    readonly failed: { event: SystemEvent; errorCode?: string; errorMessage?: string }[],
    cause?: unknown,
  ) {
    super(message, { cause });
    this.name = 'PublishError';
  }
}

export interface PublisherOptions {
  /** Attempts per entry, the first included; default 4. */
  maxAttempts?: number;
  /** Backoff before retry n is baseDelayMs·2^(n-1); default 100. */
  baseDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export class EventBridgePublisher implements EventPublisher {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly client: EventBridgeClient,
    readonly busName: string,
    opts: PublisherOptions = {},
  ) {
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 4);
    this.baseDelayMs = opts.baseDelayMs ?? 100;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  private entryOf(e: SystemEvent): PutEventsRequestEntry {
    return { EventBusName: this.busName, Source: e.source, DetailType: e.detailType, Detail: JSON.stringify(e.detail) };
  }

  /** Resolves once every event is accepted; otherwise throws a PublishError naming the ones that were not. */
  async publish(events: SystemEvent[]): Promise<void> {
    const failed: PublishError['failed'] = [];
    for (let i = 0; i < events.length; i += MAX_ENTRIES_PER_CALL) failed.push(...(await this.sendBatch(events.slice(i, i + MAX_ENTRIES_PER_CALL))));
    if (failed.length) {
      const names = failed.map((f) => `${f.event.detailType} (${f.errorCode ?? 'error'}: ${f.errorMessage ?? 'no message'})`);
      throw new PublishError(`EventBridge refused ${failed.length} of ${events.length} events after ${this.maxAttempts} attempts: ${names.join('; ')}`, failed);
    }
  }

  private async sendBatch(batch: SystemEvent[]): Promise<PublishError['failed']> {
    let pending = batch.map((event) => ({ event, errorCode: undefined as string | undefined, errorMessage: undefined as string | undefined }));
    for (let attempt = 1; attempt <= this.maxAttempts && pending.length; attempt++) {
      if (attempt > 1) await this.sleep(this.baseDelayMs * 2 ** (attempt - 2));
      try {
        const r = await this.client.send(new PutEventsCommand({ Entries: pending.map((p) => this.entryOf(p.event)) }));
        if (!r.FailedEntryCount) {
          pending = [];
          break;
        }
        // Entries answer in request order; one without an EventId (or with an ErrorCode) was not accepted.
        const entries = r.Entries ?? [];
        pending = pending
          .map((p, i) => ({ ...p, errorCode: entries[i]?.ErrorCode, errorMessage: entries[i]?.ErrorMessage, ok: !!entries[i]?.EventId && !entries[i]?.ErrorCode }))
          .filter((p) => !p.ok)
          .map(({ ok: _ok, ...p }) => p);
      } catch (err) {
        // the whole call failed (throttled, network): every pending entry is retried
        const e = err as Error;
        pending = pending.map((p) => ({ ...p, errorCode: e.name, errorMessage: e.message }));
      }
    }
    return pending;
  }
}
