/**
 * The distillation report: one self-contained HTML page per model version with charts people would
 * rather look at than read — quality, size and latency of teacher vs students, and the training curves.
 */
import type { TrainResult } from '../core/train-run.js';
import type { BlobStore } from '../ports/index.js';

const COLORS: Record<string, string> = { teacher: '#5b6abf', student: '#2a9d8f', 'student-pruned': '#8ab17d', 'student-int8': '#e9c46a', 'student-baseline': '#e76f51' };
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

function bars(title: string, values: [string, number][], fmt: (x: number) => string): string {
  const w = 520, rowH = 28, max = Math.max(...values.map(([, v]) => (Number.isFinite(v) ? v : 0)), 1e-9);
  const rows = values
    .map(([name, v], i) => {
      const len = Number.isFinite(v) ? (v / max) * 220 : 0;
      return `<text x="0" y="${i * rowH + 18}" font-size="12">${esc(name)}</text>
<rect x="150" y="${i * rowH + 5}" width="${len.toFixed(1)}" height="18" fill="${COLORS[name] ?? '#999'}"/>
<text x="${(155 + len).toFixed(1)}" y="${i * rowH + 18}" font-size="12">${esc(fmt(v))}</text>`;
    })
    .join('\n');
  return `<figure><figcaption>${esc(title)}</figcaption><svg width="${w}" height="${values.length * rowH + 8}" role="img">${rows}</svg></figure>`;
}

type Epoch = Record<string, number>;

function curves(title: string, series: [string, Epoch[]][], key: string): string {
  const w = 580, h = 220, pad = 34;
  const pts = series.flatMap(([, es]) => es.map((e) => e[key]).filter(Number.isFinite));
  if (!pts.length) return '';
  const maxE = Math.max(...series.map(([, es]) => es.length), 2);
  const lo = Math.min(...pts), hi = Math.max(...pts) + 1e-9;
  const x = (i: number) => pad + (i / (maxE - 1)) * (w - pad - 10);
  const y = (v: number) => h - pad + 10 - ((v - lo) / (hi - lo)) * (h - pad - 10);
  const paths = series
    .map(([name, es]) => `<polyline fill="none" stroke="${COLORS[name] ?? '#999'}" stroke-width="2" points="${es
      .map((e, i) => `${x(i).toFixed(1)},${y(e[key]).toFixed(1)}`).join(' ')}"><title>${esc(name)}</title></polyline>`)
    .join('\n');
  const legend = series.map(([name], i) => `<text x="${pad + i * 135}" y="12" font-size="11" fill="${COLORS[name] ?? '#999'}">■ ${esc(name)}</text>`).join('');
  return `<figure><figcaption>${esc(title)}</figcaption><svg width="${w}" height="${h}" role="img">${legend}
<text x="0" y="${y(hi) + 4}" font-size="10">${hi.toFixed(3)}</text><text x="0" y="${y(lo)}" font-size="10">${lo.toFixed(3)}</text>
<text x="${w - 60}" y="${h - 4}" font-size="10">epoch →</text>${paths}</svg></figure>`;
}

export function renderReport(r: TrainResult): string {
  const e = r.evaluation.models;
  const metric = r.record.metrics.metric as string;
  const names = ['teacher', 'student', 'student-pruned', 'student-int8', 'student-baseline'].filter((n) => e[n]);
  const get = (m: string) => (metric === 'auc' ? e[m].auc ?? NaN : metric === 'f1' ? e[m].f1 ?? NaN : e[m].accuracy);
  const hist = r.history as [string, Epoch[]][];
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(r.record.task)} v${r.record.version} — distillation report</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1200px}figure{display:inline-block;margin:0 2em 1.5em 0}figcaption{font-weight:600;margin-bottom:.3em}
pre{background:#f6f6f6;padding:1em;overflow:auto;font-size:11px}.pass{color:#2a9d8f}.fail{color:#c0392b}</style></head><body>
<h1>${esc(r.record.task)} v${r.record.version}</h1>
<p>Snapshot ${esc(r.manifest.snapshotId)} · train ${r.manifest.counts.train} · validation ${r.manifest.counts.validation} · test ${r.manifest.counts.test} rows (newest data).
Serving <b>${esc(r.served.variant === 'student-int8' ? 'the int8 student' : 'the pruned fp32 student')}</b>: ${esc(r.served.reason)}.
Gate: <b class="${r.verdict.passed ? 'pass' : 'fail'}">${r.verdict.passed ? 'passed' : 'failed'}</b> → ${esc(r.record.status)}.</p>
<ul>${r.verdict.reasons.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>
${bars(`Test ${metric} (onnxruntime-node)`, names.map((n) => [n, get(n)]), (v) => v.toFixed(4))}
${bars('Agreement with the teacher', names.map((n) => [n, r.evaluation.agreementWithTeacher[n]]), (v) => `${(v * 100).toFixed(1)} %`)}
${bars('Model file size', names.map((n) => [n, e[n].bytes]), (v) => `${(v / 1024).toFixed(0)} KiB`)}
${bars('Single-instance latency p50', names.map((n) => [n, e[n].latencyMs.p50]), (v) => `${v.toFixed(3)} ms`)}
${curves('Validation metric per epoch', hist, 'valMetric')}
${curves('Cross-entropy on the hard labels per epoch (training)', hist, 'ce')}
<h2>Table</h2><pre>${esc(r.table)}</pre>
</body></html>`;
}

export async function writeReport(blobs: BlobStore, r: TrainResult): Promise<string> {
  const key = `${r.record.bundleKey}/report.html`;
  await blobs.put(key, renderReport(r));
  return key;
}
