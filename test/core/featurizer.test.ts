import { Featurizer, hash32, words } from '../../lambdas/core/featurizer.js';
import { invoiceApproval, queryRouting } from '../../lambdas/tasks/index.js';

describe('featurizer', () => {
  const train = [
    { vendorId: 'V1', amount: 100, currency: 'EUR', invoiceDate: '2025-01-01', dueDate: '2025-01-31', description: 'office supplies' },
    { vendorId: 'V2', amount: 10000, currency: 'USD', invoiceDate: '2025-02-03', dueDate: '2025-03-05', description: 'cloud hosting' },
    { vendorId: 'V3', amount: null, currency: 'EUR', invoiceDate: '2025-03-03', dueDate: null, description: 'consulting services' },
  ];

  it('fits scalers on the training rows only and standardises numbers', () => {
    // GIVEN three invoices, one without an amount
    const f = Featurizer.fit(invoiceApproval, train);
    // THEN the amount scaler is the mean/std of log1p(amount) over the two present values
    const logs = [Math.log1p(100), Math.log1p(10000)];
    const mean = (logs[0] + logs[1]) / 2;
    expect(f.state.scalers.amount.mean).toBeCloseTo(mean, 10);
    expect(f.state.scalers.amount.std).toBeCloseTo(Math.abs(logs[0] - mean), 10);
    const row = f.transform(train[0]);
    const i = f.state.dense.indexOf('amount');
    expect(row.dense[i]).toBeCloseTo(-1, 5);
    expect(row.dense[i + 1]).toBe(0);
    // a missing amount is 0 with its missing indicator set
    const missing = f.transform(train[2]);
    expect(missing.dense[i]).toBe(0);
    expect(missing.dense[i + 1]).toBe(1);
    // days from invoice date to due date is its own column
    expect(f.state.dense).toContain('dueDate.daysFrom.invoiceDate');
  });

  it('restores from JSON state and produces identical tensors', () => {
    const f = Featurizer.fit(invoiceApproval, train);
    const g = Featurizer.restore(JSON.parse(JSON.stringify(f.state)));
    const rec = { vendorId: 'V9', amount: 777, currency: 'CHF', description: 'new vendor never seen', invoiceDate: '2025-05-05' };
    const a = f.transform(rec), b = g.transform(rec);
    expect(Array.from(b.dense)).toEqual(Array.from(a.dense));
    expect(Array.from(b.ids)).toEqual(Array.from(a.ids));
    expect(Array.from(b.weights)).toEqual(Array.from(a.weights));
  });

  it('hashes categorical values salted by field and text into word and char n-grams, L2-normalised per group', () => {
    const f = Featurizer.fit(queryRouting, [{ text: 'my card' }]);
    const row = f.transform({ text: 'My card' });
    const n = row.weights.filter((w) => w > 0).length;
    // words: my, card, "my card" (3) + char 2..5-grams of <my> and <card> + channel=<missing>
    expect(n).toBeGreaterThan(10);
    const ids = Array.from(row.ids).filter((_, k) => row.weights[k] > 0);
    expect(Math.min(...ids)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...ids)).toBeLessThan(1 << 20);
    // padding is id 0 with weight 0
    expect(row.ids[row.ids.length - 1]).toBe(0);
    expect(row.weights[row.weights.length - 1]).toBe(0);
    expect(hash32('a', 1)).not.toBe(hash32('a', 2));
    expect(words("I can't find my card!")).toEqual(['i', "can't", 'find', 'my', 'card']);
  });

  it('truncates to maxTokens', () => {
    const f = Featurizer.fit(queryRouting, []);
    const row = f.transform({ text: 'lorem ipsum dolor sit amet '.repeat(200) + 'unique words only here' });
    expect(row.ids.length).toBe(queryRouting.featurizer.maxTokens);
  });
});
