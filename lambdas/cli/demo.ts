/**
 * `npm start`: the whole loop on a generated invoice-approval stream — events through the bus into
 * the lake, a teacher, a distilled student, evaluation on onnxruntime-node, the gate, and a local
 * HTTP endpoint answering predictions.
 */
import type { Server } from 'node:http';
import { generateInvoiceApprovalStream } from '../tasks/invoice-approval-generator.js';
import { addReports, emptyReport } from '../core/ingest.js';
import type { Workspace } from '../embedded/workspace.js';
import { Progress } from './progress.js';
import { formatTrain, runTrain } from './train.js';
import { serve } from './serve.js';

export const SAMPLE_INVOICE = {
  vendorId: 'V1007', amount: 18250.0, currency: 'EUR', costCenter: 'CC-300', glAccount: '6300',
  description: 'consulting services q3', hasPurchaseOrder: 'no', invoiceDate: '2025-06-02', dueDate: '2025-07-02',
};

export async function runDemo(ws: Workspace, opts: { invoices: number; port: number; keepServing: boolean }): Promise<{ server?: Server; ok: boolean }> {
  const say = (s: string) => process.stdout.write(s + '\n');
  const progress = new Progress();
  say(`ERP Distillery demo — workspace ${ws.home}`);
  say(`\n1. An ERP emits events: ${opts.invoices} vendor invoices posted, approved or rejected days later`);
  const stream = generateInvoiceApprovalStream({ invoices: opts.invoices });
  let report = emptyReport();
  for (let i = 0; i < stream.events.length; i += 500) {
    report = addReports(report, await ws.send(stream.events.slice(i, i + 500), 'demo-generator'));
    progress.update(`  ingest ${Math.min(i + 500, stream.events.length)}/${stream.events.length} events`);
  }
  progress.done(
    `  ${report.received} events: stored ${report.stored} · duplicates ${report.duplicates} · stale ${report.stale} · ` +
      `dead-lettered ${report.invalid} (the ERP sent ${stream.malformed} malformed, ${stream.duplicates} redelivered)`,
  );
  const counts = await ws.store.counts('invoice-approval');
  say(`  lake: ${counts.inputs} postings · ${counts.outcomes} decisions · ${counts.labelled} labelled examples (PII dropped or hashed)`);

  say('\n2. Train: snapshot → teacher → distilled student → ONNX → evaluation on onnxruntime-node → gate');
  const result = await runTrain(ws, 'invoice-approval');
  say(formatTrain(result, ws.blobs.pathOf(`${result.record.bundleKey}/report.html`)));

  say('\n3. Serve the production model over HTTP');
  const { server, url } = await serve(ws, { port: opts.port, anyPortIfTaken: true });
  const res = await fetch(`${url}/tasks/invoice-approval/predict`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [SAMPLE_INVOICE] }),
  });
  const body = await res.text();
  say(`  POST ${url}/tasks/invoice-approval/predict → ${res.status}\n  ${body}`);

  const s = result.evaluation.models[result.served.variant], t = result.evaluation.models.teacher;
  const sp = result.params[result.served.variant];
  say('\nSummary');
  say(`  teacher: ${result.params.teacher} parameters, ${(t.bytes / 1024).toFixed(0)} KiB, AUC ${t.auc?.toFixed(4)}, accuracy ${t.accuracy.toFixed(4)}, p50 ${t.latencyMs.p50.toFixed(3)} ms`);
  say(`  served student (${result.served.variant === 'student-int8' ? 'pruned + int8' : 'pruned fp32'}): ${sp} parameters, ${(s.bytes / 1024).toFixed(0)} KiB, AUC ${s.auc?.toFixed(4)}, accuracy ${s.accuracy.toFixed(4)}, p50 ${s.latencyMs.p50.toFixed(3)} ms`);
  say(`  student is ${(result.params.teacher / sp).toFixed(0)}× smaller in parameters, ${(t.bytes / s.bytes).toFixed(0)}× in bytes, ` +
    `${(t.latencyMs.p50 / s.latencyMs.p50).toFixed(1)}× faster at p50; distillation gain ${result.distillationGain >= 0 ? '+' : ''}${result.distillationGain.toFixed(4)} AUC`);
  say(`  model v${result.record.version}: ${result.record.status}`);
  const ok = res.status === 200;
  if (opts.keepServing) {
    say(`\nServing at ${url} — try:\n  curl -s -X POST ${url}/tasks/invoice-approval/predict -H 'content-type: application/json' -d '${JSON.stringify({ instances: [SAMPLE_INVOICE] })}'\nCtrl-C to stop.`);
    return { server, ok };
  }
  server.close();
  say(`\nDemo done. Serve again any time with: npm run distillery -- serve`);
  return { ok };
}
