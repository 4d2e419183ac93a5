/**
 * ERP event envelope (DESIGN 4.1) and its validation against one JSON Schema per event kind.
 * Identity of a change is (source, detail-type, entityId, version), never the EventBridge id.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS: its default export arrives wrapped under ESM interop in some loaders.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (a: Ajv) => void;
import type { FeatureSpec, TaskDefinition } from './task.js';

export interface ErpEventDetail {
  entityId: string;
  version: number;
  occurredAt: string;
  companyCode?: string;
  data: Record<string, unknown>;
}

export interface ErpEvent {
  id?: string;
  source: string;
  'detail-type': string;
  time?: string;
  detail: ErpEventDetail;
}

export type EventRole = { task: TaskDefinition; role: 'input' } | { task: TaskDefinition; role: 'outcome'; outcome: TaskDefinition['outcomes'][number] };

export function identityOf(e: ErpEvent): string {
  return `${e.source}|${e['detail-type']}|${e.detail.entityId}|${e.detail.version}`;
}

const envelopeProperties = {
  id: { type: 'string' },
  source: { type: 'string', pattern: '^erp\\.[a-z0-9][a-z0-9._-]*$' },
  'detail-type': { type: 'string', pattern: '^[A-Z][A-Za-z]*\\.[A-Z][A-Za-z]*$' },
  time: { type: 'string', format: 'date-time' },
};

function featureSchema(f: FeatureSpec): object {
  switch (f.type) {
    case 'numeric':
      return { type: ['number', 'null'] };
    case 'categorical':
      return { type: ['string', 'number', 'boolean', 'null'], maxLength: 256 };
    case 'text':
      return { type: ['string', 'null'], maxLength: 20000 };
    case 'date':
      return { type: ['string', 'null'], anyOf: [{ type: 'null' }, { format: 'date' }, { format: 'date-time' }] };
  }
}

/** JSON Schema of one event kind: the envelope plus the `data` fields the task reads. */
export function eventSchema(detailType: string, dataProperties: Record<string, object>, required: string[]): object {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `https://erp-distillery.dev/schemas/${detailType}.json`,
    title: detailType,
    type: 'object',
    required: ['source', 'detail-type', 'detail'],
    properties: {
      ...envelopeProperties,
      'detail-type': { const: detailType },
      detail: {
        type: 'object',
        required: ['entityId', 'version', 'occurredAt', 'data'],
        properties: {
          entityId: { type: 'string', minLength: 1, maxLength: 256 },
          version: { type: 'integer', minimum: 0 },
          occurredAt: { type: 'string', format: 'date-time' },
          companyCode: { type: 'string' },
          data: { type: 'object', required, properties: dataProperties },
        },
      },
    },
  };
}

/** Every event kind a task reads, with its schema. */
export function schemasOfTask(task: TaskDefinition): Record<string, object> {
  const props = Object.fromEntries(task.features.map((f) => [f.name, featureSchema(f)]));
  const required = task.features.filter((f) => f.required).map((f) => f.name);
  const out: Record<string, object> = { [task.input.detailType]: eventSchema(task.input.detailType, props, required) };
  for (const o of task.outcomes) {
    const p = o.labelField ? { [o.labelField]: { type: ['string', 'number', 'boolean'] } } : {};
    out[o.detailType] = eventSchema(o.detailType, p, o.labelField ? [o.labelField] : []);
  }
  return out;
}

export interface Verdict {
  ok: boolean;
  reason?: string;
  roles: EventRole[];
}

/** Validates events against the schemas of every task that reads their kind. Compiled once. */
export class EventValidator {
  private readonly validators = new Map<string, { fn: ValidateFunction; roles: EventRole[] }[]>();
  private readonly envelope: ValidateFunction;

  constructor(tasks: readonly TaskDefinition[]) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    const generic = eventSchema('X.Y', {}, []) as { properties: Record<string, unknown> };
    generic.properties['detail-type'] = envelopeProperties['detail-type'];
    this.envelope = ajv.compile(generic);
    for (const task of tasks) {
      const schemas = schemasOfTask(task);
      for (const [kind, schema] of Object.entries(schemas)) {
        const roles: EventRole[] = kind === task.input.detailType
          ? [{ task, role: 'input' }]
          : task.outcomes.filter((o) => o.detailType === kind).map((outcome) => ({ task, role: 'outcome', outcome }));
        const list = this.validators.get(kind) ?? [];
        list.push({ fn: ajv.compile({ ...schema, $id: `${task.name}/${kind}` }), roles });
        this.validators.set(kind, list);
      }
    }
  }

  /** Kinds any task reads; everything else on the bus is not ours to judge. */
  get kinds(): string[] {
    return [...this.validators.keys()];
  }

  validate(event: unknown): Verdict {
    if (!this.envelope(event)) return { ok: false, reason: describe(this.envelope.errors), roles: [] };
    const e = event as ErpEvent;
    const entries = this.validators.get(e['detail-type']);
    if (!entries) return { ok: false, reason: `no task reads events of kind ${e['detail-type']}`, roles: [] };
    const roles: EventRole[] = [];
    for (const { fn, roles: r } of entries) {
      const matching = r.filter((x) => e.source.startsWith(x.task.sourcePrefix));
      if (matching.length === 0) continue;
      if (!fn(e)) return { ok: false, reason: describe(fn.errors), roles: [] };
      roles.push(...matching);
    }
    if (roles.length === 0) return { ok: false, reason: `no task reads ${e['detail-type']} from source ${e.source}`, roles: [] };
    if (Number.isNaN(Date.parse(e.detail.occurredAt))) return { ok: false, reason: 'detail.occurredAt is not a valid time', roles: [] };
    return { ok: true, roles };
  }
}

export function describe(errors: ErrorObject[] | null | undefined): string {
  if (!errors?.length) return 'invalid';
  const seen = new Set<string>();
  for (const e of errors) {
    if (e.keyword === 'anyOf' || e.keyword === 'if') continue;
    const where = e.instancePath ? e.instancePath.replace(/^\//, '').replace(/\//g, '.') : 'event';
    seen.add(e.keyword === 'required' ? `${where}: missing ${(e.params as { missingProperty: string }).missingProperty}` : `${where}: ${e.message}`);
  }
  return [...seen].slice(0, 5).join('; ') || 'invalid';
}
