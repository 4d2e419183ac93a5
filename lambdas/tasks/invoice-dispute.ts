import type { TaskDefinition } from '../core/task.js';

/**
 * Invoice dispute: will the customer dispute this invoice? Only what is known when the invoice is
 * posted is an input; settlement date, days to settle and days late are outcomes and would leak.
 * The date a customer went paperless is left out too: it often lies after the invoice date.
 */
export const invoiceDispute: TaskDefinition = {
  name: 'invoice-dispute',
  description: 'Predict at posting time whether a customer will dispute an invoice.',
  kind: 'classification',
  sourcePrefix: 'erp.',
  input: { detailType: 'CustomerInvoice.Posted' },
  outcomes: [{ detailType: 'CustomerInvoice.Settled', labelField: 'disputed' }],
  labels: ['No', 'Yes'],
  features: [
    { name: 'customerId', type: 'categorical', required: true },
    { name: 'countryCode', type: 'categorical' },
    { name: 'amount', type: 'numeric', log: true, required: true },
    { name: 'invoiceDate', type: 'date', required: true },
    { name: 'dueDate', type: 'date', daysFrom: 'invoiceDate' },
    { name: 'paperlessBill', type: 'categorical' },
  ],
  pii: { drop: [], hash: ['customerId'] },
  featurizer: { hashBuckets: 1 << 20, maxTokens: 8, wordNgrams: 1, charNgrams: [0, 0] },
  teacher: {
    members: [
      { type: 'wide', buckets: 1 << 14 },
      { type: 'deep', buckets: 1 << 14, dim: 32, hidden: [64, 32], dropout: 0.2 },
    ],
    epochs: 40,
    lr: 0.003,
    weightDecay: 0.0001,
  },
  student: { members: [{ type: 'deep', buckets: 1 << 12, dim: 24, hidden: [16], dropout: 0.1 }], epochs: 60, lr: 0.005 },
  distillation: { temperature: 2, alpha: 0.7 },
  compression: { pruneRatio: 0.25, fineTuneEpochs: 6, quantization: 'int8-weights', calibrationRows: 1024, maxQuantizationDrop: 0.01, latencyTolerance: 0.05, collapseDrop: 0.1 },
  split: { validation: 0.1, test: 0.2 },
  trainer: { batchSize: 64, seed: 7, instanceType: 'ml.g5.xlarge' },
  gate: { metric: 'auc', minMetric: 0.6, minShareOfTeacher: 0.97, minAgreement: 0.8, maxRegression: 0.01, maxP99LatencyMs: 50 },
  retrain: { minNewLabels: 200 },
};
