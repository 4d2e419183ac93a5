import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { marshall } from '@aws-sdk/util-dynamodb';
import { toItem } from '../../lambdas/aws/dynamodb-registry.js';
import { Workspace } from '../../lambdas/embedded/workspace.js';
import { runTrain } from '../../lambdas/cli/train.js';
import { builtInTasks } from '../../lambdas/tasks/index.js';
import { generateInvoiceApprovalStream } from '../../lambdas/tasks/invoice-approval-generator.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { invoiceApproval } from '../../lambdas/tasks/index.js';

const run = promisify(execFile);
import { DistilleryBucket } from '../../lib/distillery-bucket.js';
import { DistilleryTables } from '../../lib/distillery-tables.js';
import { InferenceApi } from '../../lib/inference-api.js';

const LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024;

function sizeOf(path: string): number {
  const s = statSync(path);
  return s.isDirectory() ? readdirSync(path).reduce((n, f) => n + sizeOf(join(path, f)), 0) : s.size;
}

describe('inference Lambda asset (real esbuild bundling + onnxruntime-node copy)', () => {
  let outdir: string;
  let assetDir: string;

  beforeAll(() => {
    // GIVEN an inference API for one task, synthesised with real bundling
    outdir = mkdtempSync(join(tmpdir(), 'distillery-asset-'));
    const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
    const stack = new Stack(app, 'Asset');
    const storage = new DistilleryBucket(stack, 'Bucket');
    const tables = new DistilleryTables(stack, 'Tables');
    new InferenceApi(stack, 'Inference', { tasks: [invoiceApproval], bucket: storage, registryTable: tables.registry });
    // WHEN it is synthesised
    const fns = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
    app.synth();
    expect(fns).toHaveLength(1);
    assetDir = join(outdir, fns[0].Metadata['aws:asset:path']);
  });

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it('holds the ESM bundle and onnxruntime-node with its linux-x64 binding', () => {
    expect(existsSync(join(assetDir, 'index.mjs'))).toBe(true);
    expect(existsSync(join(assetDir, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node'))).toBe(true);
    expect(existsSync(join(assetDir, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1'))).toBe(true);
    expect(existsSync(join(assetDir, 'node_modules/onnxruntime-node/dist/index.js'))).toBe(true);
    expect(existsSync(join(assetDir, 'node_modules/onnxruntime-common/package.json'))).toBe(true);
  });

  it('ships no darwin, win32 or linux-arm64 binaries', () => {
    expect(readdirSync(join(assetDir, 'node_modules/onnxruntime-node/bin/napi-v6')).sort()).toEqual(['linux']);
    expect(readdirSync(join(assetDir, 'node_modules/onnxruntime-node/bin/napi-v6/linux'))).toEqual(['x64']);
  });

  it("stays under Lambda's 250 MB unzipped limit", () => {
    const bytes = sizeOf(assetDir);
    expect(bytes).toBeLessThan(LAMBDA_UNZIPPED_LIMIT_BYTES);
    expect(bytes).toBeGreaterThan(10 * 1024 * 1024); // the linux-x64 runtime really is in there
  });

  it('loads the bundled handler from the asset folder in a fresh Node process and serves one prediction from a real model file', async () => {
    // GIVEN a real model trained by the real trainer, and a stand-in for S3 and DynamoDB on 127.0.0.1
    const ws = new Workspace(mkdtempSync(join(tmpdir(), 'asset-model-')), builtInTasks);
    try {
      await ws.send(generateInvoiceApprovalStream({ invoices: 800, seed: 5 }).events);
      const { record } = await runTrain(ws, 'invoice-approval', { quiet: true });
      const item = marshall(toItem({ ...record, status: 'production' }), { removeUndefinedValues: true });
      const requests: string[] = [];
      const server = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          const target = String(req.headers['x-amz-target'] ?? '');
          requests.push(target || `${req.method} ${req.url}`);
          if (target.startsWith('DynamoDB_20120810.')) {
            res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
            return res.end(JSON.stringify(target.endsWith('.Query') ? { Items: [item], Count: 1 } : { Items: [] }));
          }
          // S3 GetObject, path style: /<bucket>/<key>
          const key = decodeURIComponent((req.url ?? '').split('?')[0].replace(/^\/models-bucket\//, ''));
          const file = ws.blobs.pathOf(key);
          if (!existsSync(file)) {
            res.writeHead(404, { 'content-type': 'application/xml' });
            return res.end('<Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>');
          }
          const bytes = readFileSync(file);
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
          res.end(bytes);
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as AddressInfo).port;
      try {
        // WHEN a fresh Node process loads the bundled handler from the asset folder and gets one request
        const script = `
          const { handler } = await import(${JSON.stringify(join(assetDir, 'index.mjs'))});
          const res = await handler({ rawPath: '/tasks/invoice-approval/predict', requestContext: { http: { method: 'POST' } },
            body: JSON.stringify({ instances: [{ vendorId: 'V1001', amount: 980, currency: 'EUR', hasPurchaseOrder: 'yes' }] }) }, {});
          console.log(JSON.stringify(res));`;
        const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
          cwd: assetDir,
          env: {
            PATH: process.env.PATH ?? '', AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
            AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`, DISTILLERY_TASK: 'invoice-approval', DISTILLERY_BUCKET: 'models-bucket', DISTILLERY_REGISTRY_TABLE: 'registry',
          },
        });
        // THEN it answers with the trained model's prediction
        const res = JSON.parse(stdout.trim().split('\n').pop() as string);
        expect(res.statusCode).toBe(200);
        const body = JSON.parse(res.body);
        expect(body.model).toEqual({ task: 'invoice-approval', version: record.version });
        expect(['approved', 'rejected']).toContain(body.predictions[0].label);
        expect(body.predictions[0].probabilities.approved + body.predictions[0].probabilities.rejected).toBeCloseTo(1, 4);
        // the model was fetched from "S3" by key, verified and loaded once, at cold start
        expect(requests.filter((r) => r.includes('/model.onnx'))).toHaveLength(1);
      } finally {
        server.close();
      }
    } finally {
      ws.close();
    }
  });
});
