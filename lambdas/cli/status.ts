/** `distillery status`: tasks, data counts, model versions with their metrics and gate verdicts. */
import type { Workspace } from '../embedded/workspace.js';
import type { ModelRecord } from '../ports/index.js';

export interface StatusReport {
  home: string;
  deadLetters: number;
  tasks: {
    name: string;
    kind: string;
    description: string;
    data: { inputs: number; outcomes: number; labelled: number };
    production: number | null;
    models: {
      version: number;
      status: ModelRecord['status'];
      metric: string;
      teacher: number | null;
      /** The served student (pruned, int8 or fp32). */
      student: number | null;
      /** The distilled student before pruning and quantisation. */
      distilled: number | null;
      served: 'int8' | 'fp32';
      baseline: number | null;
      distillationGain: number | null;
      params: { teacher: number; student: number } | null;
      gate: ModelRecord['gate'];
      createdAt: string;
      lineage: ModelRecord['lineage'];
    }[];
  }[];
}

type M = { accuracy?: number; auc?: number; f1?: number } | undefined;

export async function collectStatus(ws: Workspace): Promise<StatusReport> {
  const tasks: StatusReport['tasks'] = [];
  for (const t of ws.tasks) {
    const models = await ws.store.list(t.name);
    const pick = (m: M) => (m ? (m as Record<string, number>)[t.gate.metric] ?? null : null);
    tasks.push({
      name: t.name,
      kind: t.kind,
      description: t.description,
      data: await ws.store.counts(t.name),
      production: models.find((m) => m.status === 'production')?.version ?? null,
      models: models.map((m) => {
        const x = m.metrics as { teacher?: M; student?: M; served?: M; servedVariant?: string; baseline?: M; distillationGain?: number; params?: Record<string, number> };
        const served = x.servedVariant ?? 'student';
        return {
          version: m.version, status: m.status, metric: t.gate.metric,
          teacher: pick(x.teacher), student: pick(x.served ?? x.student), distilled: pick(x.student), baseline: pick(x.baseline),
          served: served === 'student-int8' ? 'int8' : 'fp32',
          distillationGain: x.distillationGain ?? null,
          params: x.params ? { teacher: x.params.teacher, student: x.params[served] ?? x.params.student } : null,
          gate: m.gate, createdAt: m.createdAt, lineage: m.lineage,
        };
      }),
    });
  }
  return { home: ws.home, deadLetters: await ws.deadLetters.count(), tasks };
}

const f4 = (x: number | null) => (x === null || !Number.isFinite(x) ? '–' : x.toFixed(4));

export function formatStatus(s: StatusReport): string {
  const out = [`workspace ${s.home} · dead letters ${s.deadLetters}`];
  for (const t of s.tasks) {
    out.push('', `${t.name} (${t.kind}) — ${t.description}`);
    out.push(`  data: ${t.data.inputs} inputs · ${t.data.outcomes} outcomes · ${t.data.labelled} labelled examples`);
    if (!t.models.length) out.push('  models: none yet');
    for (const m of t.models) {
      out.push(
        `  v${m.version} ${m.status.padEnd(10)} ${m.metric}: teacher ${f4(m.teacher)} · served ${m.served} student ${f4(m.student)} · distilled ${f4(m.distilled)} · hard-label ${f4(m.baseline)}` +
          ` · gain ${m.distillationGain === null ? '–' : (m.distillationGain >= 0 ? '+' : '') + m.distillationGain.toFixed(4)}` +
          (m.params ? ` · params ${m.params.teacher} → ${m.params.student}` : '') + ` · ${m.createdAt}`,
      );
      out.push(`      gate ${m.gate.passed ? 'passed' : 'failed'}: ${m.gate.reasons.join('; ')}`);
    }
  }
  return out.join('\n');
}
