/**
 * One typed error family for the whole code base. Each error says whether its message may be shown
 * to a caller (`expose`) and which HTTP status it maps to, so handlers never leak internals.
 */
export class DistilleryError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly details?: unknown;
  get expose(): boolean {
    return this.statusCode < 500;
  }
  constructor(message: string, opts: { statusCode?: number; code?: string; details?: unknown; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'DistilleryError';
    this.statusCode = opts.statusCode ?? 500;
    this.code = opts.code ?? 'internal_error';
    this.details = opts.details;
  }
}

/** The caller's input is malformed or breaks a schema (400, or 422 when well-formed but unusable). */
export class ValidationError extends DistilleryError {
  constructor(message: string, details?: unknown, statusCode = 400, code = 'invalid_request') {
    super(message, { statusCode, code, details });
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends DistilleryError {
  constructor(message: string, code = 'not_found') {
    super(message, { statusCode: 404, code });
    this.name = 'NotFoundError';
  }
}

export class PayloadTooLargeError extends DistilleryError {
  constructor(message: string) {
    super(message, { statusCode: 413, code: 'payload_too_large' });
    this.name = 'PayloadTooLargeError';
  }
}

export class MethodNotAllowedError extends DistilleryError {
  readonly allow: string[];
  constructor(method: string, allow: string[]) {
    super(`method ${method} is not allowed here; use ${allow.join(' or ')}`, { statusCode: 405, code: 'method_not_allowed' });
    this.name = 'MethodNotAllowedError';
    this.allow = allow;
  }
}

/** A training run, a trainer process or a model file failed; never the caller's fault. */
export class TrainingError extends DistilleryError {
  constructor(message: string, cause?: unknown) {
    super(message, { statusCode: 500, code: 'training_failed', cause });
    this.name = 'TrainingError';
  }
}
