/**
 * Error middleware: a DistilleryError the caller caused becomes its 4xx with a JSON body that names
 * the problem; anything else becomes a plain 500 with no internals (Middy's expose = status < 500).
 */
import type middy from '@middy/core';
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { DistilleryError, MethodNotAllowedError } from '../core/errors.js';

export const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export function errorResponse(err: unknown, log: (msg: string) => void = (m) => console.error(m)): APIGatewayProxyResultV2 {
  if (err instanceof DistilleryError && err.expose) {
    const headers: Record<string, string> = { ...JSON_HEADERS };
    if (err instanceof MethodNotAllowedError) headers.allow = err.allow.join(', ');
    const body: Record<string, unknown> = { code: err.code, message: err.message };
    if (err.details !== undefined) body.details = err.details;
    return { statusCode: err.statusCode, headers, body: JSON.stringify({ error: body }) };
  }
  log(`internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  return { statusCode: 500, headers: JSON_HEADERS, body: JSON.stringify({ error: { code: 'internal_error', message: 'internal error; the request was not processed' } }) };
}

export function httpErrors(opts: { log?: (msg: string) => void } = {}): middy.MiddlewareObj {
  return {
    onError: async (request) => {
      request.response = errorResponse(request.error, opts.log);
    },
  };
}
