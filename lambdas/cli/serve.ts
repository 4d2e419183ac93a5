/** `distillery serve` and `distillery predict`: the inference handler with the embedded ports. */
import type { Server } from 'node:http';
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createPredictHandler } from '../handlers/predict.js';
import { startLocalServer, toApiEvent } from '../embedded/local-server.js';
import { ModelCache } from '../runtime/serving-model.js';
import type { Workspace } from '../embedded/workspace.js';

export function handlerFor(ws: Workspace, log: (m: string) => void = (m) => console.error(m)) {
  const models = new ModelCache(ws.store, ws.blobs, 5);
  return { models, handler: createPredictHandler({ tasks: ws.tasks, models, log }) };
}

export async function serve(ws: Workspace, opts: { port: number; host?: string; anyPortIfTaken?: boolean }): Promise<{ server: Server; loaded: string[]; url: string }> {
  const { models, handler } = handlerFor(ws);
  const loaded: string[] = [];
  // load every production model now, as a Lambda does at cold start, not on the first request
  for (const t of ws.tasks) {
    if (await ws.store.production(t.name)) {
      const m = await models.get(t.name);
      loaded.push(`${t.name} v${m.manifest.version}`);
    }
  }
  let server: Server;
  try {
    server = await startLocalServer(handler as never, { port: opts.port, host: opts.host });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    if (!opts.anyPortIfTaken) throw new Error(`port ${opts.port} on ${opts.host ?? '127.0.0.1'} is already in use; pass --port with a free one (0 picks any)`);
    console.error(`port ${opts.port} is taken; serving on a free port instead`);
    server = await startLocalServer(handler as never, { port: 0, host: opts.host });
  }
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return { server, loaded, url: `http://${opts.host ?? '127.0.0.1'}:${port}` };
}

/** One request through the same handler, in process: what `distillery predict` prints. */
export async function predictOnce(ws: Workspace, task: string, instances: unknown[]): Promise<APIGatewayProxyStructuredResultV2> {
  const { handler } = handlerFor(ws);
  const event = toApiEvent('POST', new URL(`http://local/tasks/${encodeURIComponent(task)}/predict`), { 'content-type': 'application/json' }, JSON.stringify({ instances }));
  return (await handler(event, {} as Context)) as APIGatewayProxyStructuredResultV2;
}
