/**
 * The inference contract (DESIGN 4.7), minus the runtime: parse and validate a predict request,
 * then shape the model's probabilities into predictions. Every caller mistake is a ValidationError
 * that names the problem.
 */
import { PayloadTooLargeError, ValidationError } from './errors.js';
import type { RawRecord } from './featurizer.js';
import type { FeatureSpec } from './task.js';
import { parseIsoTime } from './time.js';

export const LIMITS = { maxInstances: 100, maxBodyBytes: 256 * 1024 };

function typeProblem(f: FeatureSpec, v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  switch (f.type) {
    case 'numeric':
      return typeof v === 'number' && Number.isFinite(v) ? undefined : 'must be a number';
    case 'text':
      return typeof v === 'string' ? undefined : 'must be a string';
    case 'categorical':
      return ['string', 'number', 'boolean'].includes(typeof v) ? undefined : 'must be a string, number or boolean';
    case 'date':
      return typeof v === 'string' && parseIsoTime(v) ? undefined : 'must be an ISO-8601 date (YYYY-MM-DD) or date-time';
  }
}

export function parsePredictRequest(body: string | undefined, features: readonly FeatureSpec[], limits = LIMITS): RawRecord[] {
  if (body === undefined || body === '') throw new ValidationError('request body is empty; send {"instances": [ {...}, ... ]}');
  if (Buffer.byteLength(body) > limits.maxBodyBytes) throw new PayloadTooLargeError(`request body is over ${limits.maxBodyBytes} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    throw new ValidationError(`request body is not valid JSON: ${(err as Error).message}`, undefined, 400, 'invalid_json');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ValidationError('request body must be a JSON object with an "instances" array');
  const instances = (parsed as { instances?: unknown }).instances;
  if (instances === undefined) throw new ValidationError('"instances" is missing; send {"instances": [ {...}, ... ]}');
  if (!Array.isArray(instances)) throw new ValidationError('"instances" must be an array of records');
  if (instances.length === 0) throw new ValidationError('"instances" is empty; send at least one record', undefined, 422, 'empty_instances');
  if (instances.length > limits.maxInstances) throw new PayloadTooLargeError(`"instances" holds ${instances.length} records; at most ${limits.maxInstances} per request`);
  const problems: { path: string; problem: string }[] = [];
  instances.forEach((inst, i) => {
    if (!inst || typeof inst !== 'object' || Array.isArray(inst)) {
      problems.push({ path: `instances[${i}]`, problem: 'must be an object of ERP fields' });
      return;
    }
    for (const f of features) {
      const v = (inst as RawRecord)[f.name];
      if (f.required && (v === undefined || v === null || v === '')) problems.push({ path: `instances[${i}].${f.name}`, problem: `is required (${f.type})` });
      else {
        const p = typeProblem(f, v);
        if (p) problems.push({ path: `instances[${i}].${f.name}`, problem: p });
      }
    }
  });
  if (problems.length) {
    const head = problems.slice(0, 3).map((p) => `${p.path} ${p.problem}`).join('; ');
    throw new ValidationError(`${problems.length} invalid field(s): ${head}`, { fields: problems.slice(0, 50) }, 422, 'invalid_instances');
  }
  return instances as RawRecord[];
}

export interface Prediction {
  label: string;
  probabilities: Record<string, number>;
}

export function toPredictions(probs: Float32Array, labels: readonly string[]): Prediction[] {
  const C = labels.length;
  const out: Prediction[] = [];
  for (let i = 0; i < probs.length / C; i++) {
    let best = 0;
    const p: Record<string, number> = {};
    for (let c = 0; c < C; c++) {
      p[labels[c]] = Math.round(probs[i * C + c] * 1e6) / 1e6;
      if (probs[i * C + c] > probs[i * C + best]) best = c;
    }
    out.push({ label: labels[best], probabilities: p });
  }
  return out;
}
