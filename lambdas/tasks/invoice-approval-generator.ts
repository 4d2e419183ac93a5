/**
 * A generated stream of accounts-payable events for the demo: vendors, amounts, currencies, cost
 * centres, GL accounts and an approval policy with noise. Approvals and rejections arrive days after
 * their postings, some events repeat (at-least-once delivery) and a few are malformed, as in life.
 */
import type { ErpEvent } from '../core/events.js';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CATEGORIES = [
  { gl: '6100', words: ['office supplies', 'printer paper and toner', 'stationery order'] },
  { gl: '6200', words: ['cloud hosting', 'software subscription', 'saas licence renewal'] },
  { gl: '6300', words: ['consulting services', 'advisory retainer', 'implementation project phase'] },
  { gl: '6400', words: ['travel expenses', 'hotel and flights', 'conference travel'] },
  { gl: '6500', words: ['facility maintenance', 'cleaning services', 'hvac repair'] },
  { gl: '5100', words: ['raw materials', 'steel coil delivery', 'packaging materials'] },
  { gl: '6600', words: ['marketing campaign', 'trade show booth', 'advertising placement'] },
];
const COUNTRIES = [
  { country: 'DE', currency: 'EUR' }, { country: 'FR', currency: 'EUR' }, { country: 'US', currency: 'USD' },
  { country: 'GB', currency: 'GBP' }, { country: 'CH', currency: 'CHF' }, { country: 'JP', currency: 'JPY' },
];
const COST_CENTRES = ['CC-100', 'CC-110', 'CC-200', 'CC-210', 'CC-300', 'CC-400', 'CC-410', 'CC-500'];

export interface GeneratedStream {
  events: ErpEvent[];
  /** Malformed events mixed into the stream, expected to land in the dead-letter store. */
  malformed: number;
  duplicates: number;
  invoices: number;
}

export function generateInvoiceApprovalStream(opts: { invoices: number; seed?: number; start?: string; source?: string }): GeneratedStream {
  const rnd = mulberry32(opts.seed ?? 42);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const source = opts.source ?? 'erp.sap';
  const vendors = Array.from({ length: 80 }, (_, i) => {
    const c = pick(COUNTRIES);
    return {
      id: `V${String(1000 + i)}`,
      taxId: `${c.country}${Math.floor(1e8 + rnd() * 9e8)}`,
      ...c,
      risk: rnd() < 0.15 ? 0.6 : rnd() * 0.15, // a few vendors with a poor record
      category: pick(CATEGORIES),
      typicalAmount: Math.exp(5 + rnd() * 5),
    };
  });
  const t0 = Date.parse(opts.start ?? '2025-01-01T08:00:00Z');
  const timeline: { at: number; event: ErpEvent }[] = [];
  let duplicates = 0;
  let malformed = 0;
  for (let i = 0; i < opts.invoices; i++) {
    const v = pick(vendors);
    const postedAt = t0 + i * 45 * 60_000 + Math.floor(rnd() * 30 * 60_000);
    const category = rnd() < 0.85 ? v.category : pick(CATEGORIES); // some lines coded to an unusual account
    const amount = Math.round(v.typicalAmount * Math.exp((rnd() - 0.5) * 1.6) * 100) / 100;
    const hasPo = rnd() < 0.7;
    const currency = rnd() < 0.93 ? v.currency : pick(COUNTRIES).currency;
    const costCenter = pick(COST_CENTRES);
    const description = `${pick(category.words)} ${pick(['q1', 'q2', 'q3', 'q4', 'march', 'june', 'batch 7', 'ref 2231', ''])}`.trim();
    const invoiceDate = new Date(postedAt - Math.floor(rnd() * 10) * 86_400_000);
    const dueDate = new Date(invoiceDate.getTime() + pick([14, 30, 30, 45, 60]) * 86_400_000);

    // the approval policy the model has to discover: vendor record, purchase order, amount, account,
    // wording and payment terms, with 4 % of decisions flipped at random (approvers are people)
    const dueInDays = Math.round((dueDate.getTime() - invoiceDate.getTime()) / 86_400_000);
    let logit = -3 + v.risk * 5;
    if (!hasPo) logit += 1.0;
    if (!hasPo && amount > 5000) logit += 2.5;
    if (amount > 20000) logit += 1.0;
    if (category.gl === '6600' || category.gl === '6400') logit += 1.0;
    if (/retainer|advisory|booth/.test(description)) logit += 1.5;
    if (dueInDays <= 14) logit += 1.0;
    if (currency !== v.currency) logit += 1.5;
    let rejected = rnd() < 1 / (1 + Math.exp(-logit));
    if (rnd() < 0.04) rejected = !rejected;
    const entityId = `INV-${String(100000 + i)}`;
    const posted: ErpEvent = {
      id: `evt-${i}-p`,
      source,
      'detail-type': 'Invoice.Posted',
      time: new Date(postedAt).toISOString(),
      detail: {
        entityId, version: 1, occurredAt: new Date(postedAt).toISOString(), companyCode: '1000',
        data: {
          vendorId: v.id, vendorTaxId: v.taxId, amount, currency, costCenter, glAccount: category.gl, description,
          hasPurchaseOrder: hasPo ? 'yes' : 'no', invoiceDate: invoiceDate.toISOString().slice(0, 10), dueDate: dueDate.toISOString().slice(0, 10),
          approverEmail: `approver${Math.floor(rnd() * 20)}@example.com`,
        },
      },
    };
    if (rnd() < 0.01) {
      // malformed: the ERP sent an amount as text
      (posted.detail.data as Record<string, unknown>).amount = `${amount} ${currency}`;
      malformed++;
    }
    timeline.push({ at: postedAt, event: posted });
    const decidedAt = postedAt + (1 + Math.floor(rnd() * 10)) * 86_400_000 + Math.floor(rnd() * 8 * 3_600_000);
    const outcome: ErpEvent = {
      id: `evt-${i}-o`,
      source,
      'detail-type': rejected ? 'Invoice.Rejected' : 'Invoice.Approved',
      time: new Date(decidedAt).toISOString(),
      detail: { entityId, version: 2, occurredAt: new Date(decidedAt).toISOString(), companyCode: '1000', data: { decidedBy: 'workflow' } },
    };
    timeline.push({ at: decidedAt, event: outcome });
    if (rnd() < 0.02) {
      timeline.push({ at: decidedAt + 1000, event: structuredClone(outcome) }); // redelivered
      duplicates++;
    }
  }
  timeline.sort((a, b) => a.at - b.at);
  return { events: timeline.map((t) => t.event), malformed, duplicates, invoices: opts.invoices };
}
