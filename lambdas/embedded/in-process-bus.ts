/**
 * The in-process stand-in for the EventBridge bus: rules with the same patterns (source prefix and
 * detail-type) route ERP events to their targets; Distillery's own events are appended to a log.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ErpEvent } from '../core/events.js';
import type { EventPublisher, SystemEvent } from '../ports/index.js';

export interface Rule {
  name: string;
  pattern: { sourcePrefix: string; detailType: string[] };
  target: (events: ErpEvent[]) => Promise<void>;
}

export function matches(pattern: Rule['pattern'], e: { source?: unknown; 'detail-type'?: unknown }): boolean {
  return typeof e.source === 'string' && e.source.startsWith(pattern.sourcePrefix) && pattern.detailType.includes(e['detail-type'] as string);
}

export class InProcessBus implements EventPublisher {
  private readonly rules: Rule[] = [];
  readonly published: SystemEvent[] = [];

  constructor(private readonly logPath?: string) {}

  addRule(rule: Rule): void {
    this.rules.push(rule);
  }

  /** Routes each event to every matching rule's target; returns the events no rule matched. */
  async putEvents(events: readonly unknown[]): Promise<{ routed: number; unmatched: unknown[] }> {
    const byRule = new Map<Rule, ErpEvent[]>();
    const unmatched: unknown[] = [];
    for (const e of events) {
      const hits = this.rules.filter((r) => e && typeof e === 'object' && matches(r.pattern, e as ErpEvent));
      if (!hits.length) unmatched.push(e);
      for (const r of hits) byRule.set(r, [...(byRule.get(r) ?? []), e as ErpEvent]);
    }
    for (const [rule, batch] of byRule) await rule.target(batch);
    return { routed: events.length - unmatched.length, unmatched };
  }

  async publish(events: SystemEvent[]): Promise<void> {
    this.published.push(...events);
    if (!this.logPath || !events.length) return;
    await mkdir(dirname(this.logPath), { recursive: true });
    const time = new Date().toISOString();
    await appendFile(this.logPath, events.map((e) => JSON.stringify({ time, source: e.source, 'detail-type': e.detailType, detail: e.detail })).join('\n') + '\n');
  }
}
