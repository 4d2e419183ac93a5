/** Task definitions (DESIGN 4.2): one declaration drives ingest, snapshot, trainer, gate and endpoint. */

export type TaskKind = 'classification' | 'regression' | 'anomaly' | 'forecast';

export interface FeatureSpec {
  readonly name: string;
  readonly type: 'numeric' | 'categorical' | 'text' | 'date';
  /** Reject an event (or a prediction request) that lacks it. Default false: missing is a value. */
  readonly required?: boolean;
  /** numeric: scale log1p(|x|)·sign(x) instead of x; right for money amounts. Default false. */
  readonly log?: boolean;
  /** date: also emit the signed number of days from this other date field. */
  readonly daysFrom?: string;
}

export interface OutcomeSpec {
  /** `detail-type` of the later event that reveals the outcome. */
  readonly detailType: string;
  /** Constant label this event kind means (e.g. Invoice.Approved → "approved")... */
  readonly label?: string;
  /** ...or the `data` field that holds the label. */
  readonly labelField?: string;
}

export interface ModelMemberSpec {
  readonly type: 'wide' | 'deep';
  readonly buckets: number;
  readonly dim?: number;
  readonly hidden?: number[];
  readonly dropout?: number;
}

export interface ModelSpec {
  readonly members: ModelMemberSpec[];
  readonly epochs: number;
  readonly lr: number;
  readonly weightDecay?: number;
}

export interface GateSpec {
  /** Metric the gate reads: accuracy for multi-class, auc for binary tasks. */
  readonly metric: 'accuracy' | 'auc' | 'f1';
  /** Absolute floor for the served student on the test split. */
  readonly minMetric: number;
  /** Student metric must be at least this share of the teacher's. */
  readonly minShareOfTeacher: number;
  /** Student and teacher must agree on at least this share of test rows. */
  readonly minAgreement: number;
  /** Largest drop allowed against the model now in production. */
  readonly maxRegression: number;
  /** Single-instance p99 latency ceiling on onnxruntime-node. */
  readonly maxP99LatencyMs: number;
}

export interface CompressionSpec {
  /** Share of the student's hidden units and embedding dimensions removed by structured pruning. */
  readonly pruneRatio: number;
  /** Epochs of distillation fine-tuning after pruning. */
  readonly fineTuneEpochs: number;
  /** `int8-weights`: int8 weights, float activations; `int8-static`: activations too, calibrated on training rows. */
  readonly quantization: 'int8-weights' | 'int8-static' | 'none';
  /** Training rows used to calibrate activation ranges. */
  readonly calibrationRows: number;
  /** Largest drop in the gate metric int8 may cost against the pruned fp32 student and still be served. */
  readonly maxQuantizationDrop: number;
  /** int8 may be this much slower at p50 than fp32 and still count as "no slower" (timing noise). */
  readonly latencyTolerance: number;
  /** A drop this large means the quantisation is broken: the candidate is refused. */
  readonly collapseDrop: number;
}

export interface TaskDefinition {
  readonly name: string;
  readonly description: string;
  readonly kind: TaskKind;
  /** ERP sources whose events feed the task, as EventBridge prefixes: `erp.` matches every ERP. */
  readonly sourcePrefix: string;
  readonly input: { readonly detailType: string };
  readonly outcomes: readonly OutcomeSpec[];
  readonly labels?: readonly string[];
  readonly features: readonly FeatureSpec[];
  readonly pii: { readonly drop: readonly string[]; readonly hash: readonly string[] };
  readonly featurizer: {
    readonly hashBuckets: number;
    readonly maxTokens: number;
    readonly wordNgrams: number;
    readonly charNgrams: readonly [number, number];
  };
  readonly teacher: ModelSpec;
  readonly student: ModelSpec;
  readonly distillation: { readonly temperature: number; readonly alpha: number };
  readonly compression: CompressionSpec;
  readonly split: { readonly validation: number; readonly test: number };
  readonly trainer: { readonly batchSize: number; readonly seed: number; readonly instanceType: string };
  readonly gate: GateSpec;
  readonly retrain: { readonly minNewLabels: number };
}

/** Fails fast, naming the rule, when a task definition cannot work. */
export function validateTask(task: TaskDefinition): void {
  const problems: string[] = [];
  if (!/^[a-z][a-z0-9-]{1,40}$/.test(task.name)) problems.push('name must be kebab-case, 2–41 characters');
  if (task.kind !== 'classification') problems.push(`kind ${task.kind} is not trainable yet (classification only)`);
  if (task.features.length === 0) problems.push('at least one feature is needed');
  if (task.outcomes.length === 0) problems.push('at least one outcome event kind is needed');
  for (const o of task.outcomes) {
    if (!o.label === !o.labelField) problems.push(`outcome ${o.detailType} needs exactly one of label or labelField`);
  }
  const { alpha, temperature } = task.distillation;
  if (!(alpha >= 0 && alpha <= 1)) problems.push('distillation.alpha must be in [0, 1]');
  if (!(temperature >= 1)) problems.push('distillation.temperature must be ≥ 1');
  const c = task.compression;
  if (!(c.pruneRatio >= 0 && c.pruneRatio < 1)) problems.push('compression.pruneRatio must be in [0, 1)');
  if (!(c.maxQuantizationDrop >= 0 && c.collapseDrop > c.maxQuantizationDrop)) problems.push('compression.collapseDrop must exceed maxQuantizationDrop ≥ 0');
  const { validation, test } = task.split;
  if (!(validation > 0 && test > 0 && validation + test < 0.9)) problems.push('split fractions must be > 0 and sum < 0.9');
  for (const f of task.features) {
    if (f.daysFrom && !task.features.some((g) => g.name === f.daysFrom && g.type === 'date')) {
      problems.push(`feature ${f.name}.daysFrom names ${f.daysFrom}, which is not a date feature`);
    }
  }
  if (problems.length) throw new Error(`task ${task.name} is invalid: ${problems.join('; ')}`);
}

export function paramsOf(spec: ModelSpec, numClasses: number, denseDim: number): number {
  let n = 0;
  for (const m of spec.members) {
    if (m.type === 'wide') n += m.buckets * numClasses + denseDim * numClasses + numClasses;
    else {
      const dim = m.dim ?? 32;
      n += m.buckets * dim;
      let prev = dim + denseDim;
      for (const h of m.hidden ?? []) {
        n += prev * h + h;
        prev = h;
      }
      n += prev * numClasses + numClasses;
    }
  }
  return n;
}
