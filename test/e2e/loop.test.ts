/**
 * The whole loop on one machine with real components: generated ERP events → bus → ingest → SQLite
 * lake → snapshot → PyTorch teacher and student → ONNX → onnxruntime-node evaluation → gate →
 * registry → the inference handler behind the local HTTP server.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { request, type Server } from 'node:http';
import { findPython } from '../../lambdas/embedded/python.js';
import { trainTask } from '../../lambdas/core/train-run.js';
import { evaluateModels } from '../../lambdas/runtime/evaluate.js';
import type { TrainingJob, TrainingProgress } from '../../lambdas/ports/index.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Workspace } from '../../lambdas/embedded/workspace.js';
import { builtInTasks } from '../../lambdas/tasks/index.js';
import { generateInvoiceApprovalStream } from '../../lambdas/tasks/invoice-approval-generator.js';
import { runTrain } from '../../lambdas/cli/train.js';
import { serve } from '../../lambdas/cli/serve.js';
import { SAMPLE_INVOICE } from '../../lambdas/cli/demo.js';
import type { TrainResult } from '../../lambdas/core/train-run.js';

describe('the loop on one machine', () => {
  let ws: Workspace;
  let result: TrainResult;
  let server: Server;
  let url: string;
  const stream = generateInvoiceApprovalStream({ invoices: 2500, seed: 3 });

  beforeAll(async () => {
    ws = new Workspace(mkdtempSync(join(tmpdir(), 'loop-')), builtInTasks);
    const report = await ws.send(stream.events, 'test');
    expect(report.invalid).toBe(stream.malformed);
    expect(report.duplicates).toBe(stream.duplicates);
    result = await runTrain(ws, 'invoice-approval', { quiet: true });
    ({ server, url } = await serve(ws, { port: 0 }));
  });
  afterAll(() => {
    server?.close();
    ws?.close();
  });

  it('ingests idempotently: the same stream again stores nothing', async () => {
    const before = await ws.store.counts('invoice-approval');
    const again = await ws.send(stream.events, 'test');
    expect(again.stored).toBe(0);
    expect(again.duplicates).toBe(stream.events.length - stream.malformed);
    expect(await ws.store.counts('invoice-approval')).toEqual(before);
  });

  it('trains a teacher and a smaller distilled student that keeps its quality, and promotes it', () => {
    const { teacher, student } = result.evaluation.models;
    expect(result.record.status).toBe('production');
    expect(result.verdict.passed).toBe(true);
    expect(teacher.auc).toBeGreaterThan(0.7);
    expect(student.auc! / teacher.auc!).toBeGreaterThan(0.95);
    expect(result.params.student * 20).toBeLessThan(result.params.teacher);
    expect(student.bytes * 20).toBeLessThan(teacher.bytes);
    expect(Math.max(teacher.parityMaxAbsDiff, student.parityMaxAbsDiff)).toBeLessThan(1e-4);
    expect(result.evaluation.agreementWithTeacher.student).toBeGreaterThan(0.85);
    expect(result.table).toContain('student, hard labels only');
    expect(result.table).toContain('student, pruned + int8');
    expect(Number.isFinite(result.distillationGain)).toBe(true);
  });

  it('writes a bundle whose manifest hashes match its files, and a report with charts', () => {
    const dir = ws.blobs.pathOf(result.record.bundleKey);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    for (const [file, { sha256 }] of Object.entries(manifest.files as Record<string, { sha256: string }>)) {
      expect(createHash('sha256').update(readFileSync(join(dir, file))).digest('hex')).toBe(sha256);
    }
    expect(manifest.labels).toEqual(['approved', 'rejected']);
    expect(manifest.featurizer.scalers.amount.std).toBeGreaterThan(0);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(5);
    expect(existsSync(join(dir, 'metrics.json'))).toBe(true);
  });

  it('serves predictions over HTTP that equal the evaluated model', async () => {
    const res = await fetch(`${url}/tasks/invoice-approval/predict`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [SAMPLE_INVOICE, { ...SAMPLE_INVOICE, hasPurchaseOrder: 'yes', amount: 120 }] }),
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.model).toEqual({ task: 'invoice-approval', version: result.record.version });
    expect(body.predictions).toHaveLength(2);
    for (const p of body.predictions) {
      expect(['approved', 'rejected']).toContain(p.label);
      expect(p.probabilities.approved + p.probabilities.rejected).toBeCloseTo(1, 4);
    }
    // the policy rejects large invoices without a purchase order more often than small ones with one
    expect(body.predictions[0].probabilities.rejected).toBeGreaterThan(body.predictions[1].probabilities.rejected);
    const info = await (await fetch(`${url}/tasks/invoice-approval`)).json();
    expect(info.model.version).toBe(result.record.version);
    expect(info.input.find((f: { name: string }) => f.name === 'amount')).toEqual({ name: 'amount', type: 'numeric', required: true });
  });

  const post = (path: string, body: string, method = 'POST') =>
    fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'GET' ? undefined : body });

  it.each([
    ['invalid JSON', '/tasks/invoice-approval/predict', '{"instances": [', 400, 'invalid_json', 'not valid JSON'],
    ['no instances', '/tasks/invoice-approval/predict', '{"rows": []}', 400, 'invalid_request', '"instances" is missing'],
    ['instances not an array', '/tasks/invoice-approval/predict', '{"instances": {"a": 1}}', 400, 'invalid_request', 'must be an array'],
    ['empty instances', '/tasks/invoice-approval/predict', '{"instances": []}', 422, 'empty_instances', 'is empty'],
    ['too many instances', '/tasks/invoice-approval/predict', JSON.stringify({ instances: Array(101).fill(SAMPLE_INVOICE) }), 413, 'payload_too_large', 'at most 100'],
    ['missing required field', '/tasks/invoice-approval/predict', JSON.stringify({ instances: [{ ...SAMPLE_INVOICE, amount: undefined }] }), 422, 'invalid_instances', 'instances[0].amount is required'],
    ['wrongly typed field', '/tasks/invoice-approval/predict', JSON.stringify({ instances: [{ ...SAMPLE_INVOICE, amount: '12 EUR' }] }), 422, 'invalid_instances', 'instances[0].amount must be a number'],
    ['instance not an object', '/tasks/invoice-approval/predict', '{"instances": [42]}', 422, 'invalid_instances', 'must be an object'],
    ['unknown task', '/tasks/no-such-task/predict', '{"instances": [{}]}', 404, 'unknown_task', 'unknown task "no-such-task"'],
    ['task without a model', '/tasks/query-routing/predict', '{"instances": [{"text": "hi"}]}', 404, 'no_model', 'no production model'],
    ['unknown route', '/predict', '{}', 404, 'no_route', 'no route'],
  ])('answers %s with a JSON 4xx naming the problem', async (_name, path, body, status, code, message) => {
    const res = await post(path, body);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toContain('application/json');
    const json = await res.json();
    expect(json.error.code).toBe(code);
    expect(json.error.message).toContain(message);
    expect(JSON.stringify(json)).not.toMatch(/\.ts:\d+|at .*\(/);
  });

  it('answers a wrong method with 405 and Allow, and an oversized body with 413', async () => {
    const res = await post('/tasks/invoice-approval/predict', '', 'GET');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect((await res.json()).error.code).toBe('method_not_allowed');
    const put = await post('/tasks/invoice-approval', '{}', 'PUT');
    expect(put.status).toBe(405);
    const big = await post('/tasks/invoice-approval/predict', JSON.stringify({ instances: [{ ...SAMPLE_INVOICE, description: 'x'.repeat(300_000) }] }));
    expect(big.status).toBe(413);
    expect((await big.json()).error.code).toBe('payload_too_large');
  });

  it('routes by the path alone: odd Host headers, doubled slashes, bad percent-encoding, HEAD', async () => {
    const raw = (path: string, headers: Record<string, string>, method = 'GET') =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const u = new URL(url);
        const req = request({ host: u.hostname, port: u.port, path, method, headers, setHost: false }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    expect((await raw('/tasks/invoice-approval', { Host: '[bad' })).status).toBe(200);
    expect((await raw('//tasks/invoice-approval', { Host: 'localhost' })).status).toBe(200);
    const head = await raw('/tasks/invoice-approval', { Host: 'localhost' }, 'HEAD');
    expect([head.status, head.body]).toEqual([200, '']);
    const bad = await raw('/tasks/%E0%A4%A/predict', { Host: 'localhost' }, 'POST');
    expect(bad.status).toBe(404);
    expect(JSON.parse(bad.body).error.message).toContain('not valid percent-encoding');
    const big = await post('/tasks/invoice-approval/predict', 'x'.repeat(262_145));
    expect((await big.json()).error.message).toBe('request body is over 262144 bytes');
  });

  it('refuses a candidate whose int8 quantisation is broken, and keeps production', async () => {
    // GIVEN a trainer whose int8 export comes out broken: wrong-signed int8 codes and scales ×300
    const py = findPython();
    const corrupt = [
      'import onnx,sys,numpy as np',
      'from onnx import numpy_helper as nh',
      'm=onnx.load(sys.argv[1])',
      'for t in m.graph.initializer:',
      '  a=nh.to_array(t)',
      "  if a.dtype==np.int8: t.CopyFrom(nh.from_array(np.clip(-a.astype(np.int16),-128,127).astype(np.int8), t.name))",
      "  elif 'scale' in t.name: t.CopyFrom(nh.from_array((a*300).astype(a.dtype), t.name))",
      'onnx.save(m,sys.argv[1])',
    ].join('\n');
    const launcher = {
      run: async (job: TrainingJob, onProgress?: (p: TrainingProgress) => void) => {
        await ws.launcher.run(job, onProgress);
        if (job.phase === 'student') execFileSync(py, ['-c', corrupt, ws.blobs.pathOf(`${job.outputKey}/student-int8.onnx`)]);
      },
    };
    const before = (await ws.store.production('invoice-approval'))!.version;
    // WHEN it trains
    const r = await trainTask(builtInTasks.find((t) => t.name === 'invoice-approval')!, {
      lake: ws.store, blobs: ws.blobs, launcher, registry: ws.store, publisher: ws.bus, clock: ws.clock,
      evaluate: (input) => evaluateModels(input), codeVersion: 'test',
    });
    // THEN the candidate is rejected with the reason and production is unchanged
    expect(r.record.status).toBe('rejected');
    expect(r.verdict.reasons.join('\n')).toMatch(/int8 student collapsed: auc 0\.\d+ against 0\.\d+ in fp32.*the quantisation is broken/);
    expect((await ws.store.production('invoice-approval'))!.version).toBe(before);
    expect(ws.bus.published.at(-1)).toMatchObject({ detailType: 'ModelRejected', detail: { version: r.record.version } });
  });

  it('keeps production when a retrained model fails the gate', async () => {
    // GIVEN a production model, WHEN a run on the same data is held to an impossible floor
    const strict = builtInTasks.map((t) => (t.name === 'invoice-approval' ? { ...t, gate: { ...t.gate, minMetric: 0.999 } } : t));
    const ws2 = new Workspace(ws.home, strict);
    try {
      const r = await runTrain(ws2, 'invoice-approval', { quiet: true });
      // THEN it is rejected with the reason and the previous version still serves
      expect(r.record.status).toBe('rejected');
      expect(r.verdict.reasons.join(' ')).toContain('below the floor 0.999');
      expect((await ws2.store.production('invoice-approval'))?.version).toBe(result.record.version);
      expect((await ws2.store.get('invoice-approval', r.record.version))?.status).toBe('rejected');
    } finally {
      ws2.close();
    }
  });
});
