import type { TaskDefinition } from '../core/task.js';

/** Invoice approval: will this posted invoice be approved or rejected? The demo's task. */
export const invoiceApproval: TaskDefinition = {
  name: 'invoice-approval',
  description: 'Predict at posting time whether an invoice will be approved or rejected.',
  kind: 'classification',
  sourcePrefix: 'erp.',
  input: { detailType: 'Invoice.Posted' },
  outcomes: [
    { detailType: 'Invoice.Approved', label: 'approved' },
    { detailType: 'Invoice.Rejected', label: 'rejected' },
  ],
  labels: ['approved', 'rejected'],
  features: [
    { name: 'vendorId', type: 'categorical', required: true },
    { name: 'vendorTaxId', type: 'categorical' },
    { name: 'amount', type: 'numeric', log: true, required: true },
    { name: 'currency', type: 'categorical', required: true },
    { name: 'costCenter', type: 'categorical' },
    { name: 'glAccount', type: 'categorical' },
    { name: 'description', type: 'text' },
    { name: 'hasPurchaseOrder', type: 'categorical' },
    { name: 'invoiceDate', type: 'date' },
    { name: 'dueDate', type: 'date', daysFrom: 'invoiceDate' },
  ],
  pii: { drop: ['approverEmail'], hash: ['vendorTaxId'] },
  featurizer: { hashBuckets: 1 << 20, maxTokens: 48, wordNgrams: 2, charNgrams: [0, 0] },
  teacher: {
    members: [
      { type: 'wide', buckets: 1 << 16 },
      { type: 'deep', buckets: 1 << 16, dim: 32, hidden: [128, 64], dropout: 0.2 },
    ],
    epochs: 25,
    lr: 0.003,
  },
  student: { members: [{ type: 'deep', buckets: 1 << 11, dim: 8, hidden: [16], dropout: 0.05 }], epochs: 40, lr: 0.005 },
  distillation: { temperature: 2, alpha: 0.7 },
  compression: { pruneRatio: 0.25, fineTuneEpochs: 6, quantization: 'int8-weights', calibrationRows: 1024, maxQuantizationDrop: 0.01, latencyTolerance: 0.05, collapseDrop: 0.1 },
  split: { validation: 0.1, test: 0.2 },
  trainer: { batchSize: 64, seed: 7, instanceType: 'ml.g5.xlarge' },
  gate: { metric: 'auc', minMetric: 0.7, minShareOfTeacher: 0.95, minAgreement: 0.85, maxRegression: 0.01, maxP99LatencyMs: 50 },
  retrain: { minNewLabels: 500 },
};
