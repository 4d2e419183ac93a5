import type { TaskDefinition } from '../core/task.js';

/** Customer query routing: the text of a customer message → the queue (intent) that handles it. */
export const queryRouting: TaskDefinition = {
  name: 'query-routing',
  description: 'Route a customer message to the queue that handles it (text → intent).',
  kind: 'classification',
  sourcePrefix: 'erp.',
  input: { detailType: 'CustomerQuery.Created' },
  outcomes: [{ detailType: 'CustomerQuery.Routed', labelField: 'queue' }],
  features: [
    { name: 'text', type: 'text', required: true },
    { name: 'channel', type: 'categorical' },
  ],
  pii: { drop: ['customerEmail'], hash: [] },
  featurizer: { hashBuckets: 1 << 20, maxTokens: 400, wordNgrams: 2, charNgrams: [2, 5] },
  teacher: {
    members: [
      { type: 'wide', buckets: 1 << 18 },
      { type: 'deep', buckets: 1 << 18, dim: 64, hidden: [512], dropout: 0.3 },
    ],
    epochs: 12,
    lr: 0.003,
  },
  student: { members: [{ type: 'deep', buckets: 1 << 15, dim: 40, hidden: [128], dropout: 0.1 }], epochs: 30, lr: 0.004 },
  distillation: { temperature: 3, alpha: 0.8 },
  compression: { pruneRatio: 0.25, fineTuneEpochs: 4, quantization: 'int8-weights', calibrationRows: 2048, maxQuantizationDrop: 0.01, latencyTolerance: 0.05, collapseDrop: 0.1 },
  split: { validation: 0.1, test: 0.2 },
  trainer: { batchSize: 128, seed: 7, instanceType: 'ml.g5.xlarge' },
  gate: { metric: 'accuracy', minMetric: 0.5, minShareOfTeacher: 0.95, minAgreement: 0.85, maxRegression: 0.01, maxP99LatencyMs: 50 },
  retrain: { minNewLabels: 1000 },
};
