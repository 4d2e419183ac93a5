/**
 * A local HTTP server in front of the inference handler: each request becomes the API Gateway
 * (HTTP API v2) event the Lambda would get, so the same handler answers here and in AWS.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { PayloadTooLargeError } from '../core/errors.js';
import { errorResponse } from '../handlers/http-errors.js';

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new PayloadTooLargeError(`request body is over ${limit} bytes`));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function toApiEvent(method: string, url: URL, headers: Record<string, string>, body: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: 'local', apiId: 'local', domainName: url.host, domainPrefix: 'local', requestId: `local-${Date.now()}`,
      routeKey: '$default', stage: '$default', time: new Date().toISOString(), timeEpoch: Date.now(),
      http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
    },
  } as APIGatewayProxyEventV2;
}

export function startLocalServer(handler: Handler, opts: { port: number; host?: string; maxBodyBytes?: number; log?: (m: string) => void }): Promise<Server> {
  const limit = opts.maxBodyBytes ?? 256 * 1024;
  const server = createServer(async (req, res) => {
    let result: APIGatewayProxyStructuredResultV2;
    try {
      // the path as sent (a Host header or a leading // must not change which route is taken)
      const raw = req.url ?? '/';
      const q = raw.indexOf('?');
      const url = new URL('http://localhost');
      url.pathname = (q < 0 ? raw : raw.slice(0, q)).replace(/^\/+/, '/');
      url.search = q < 0 ? '' : raw.slice(q);
      const body = await readBody(req, limit);
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v ?? '']));
      result = (await handler(toApiEvent(req.method ?? 'GET', url, headers, body), {} as Context)) as APIGatewayProxyStructuredResultV2;
    } catch (err) {
      result = errorResponse(err, opts.log) as APIGatewayProxyStructuredResultV2;
    }
    res.writeHead(result.statusCode ?? 200, (result.headers ?? {}) as Record<string, string>);
    res.end(req.method === 'HEAD' ? undefined : result.body ?? '');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve(server));
  });
}
