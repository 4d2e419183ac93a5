import { gate } from '../../lambdas/core/gate.js';
import { jobName } from '../../lambdas/core/train-run.js';
import { queryRouting } from '../../lambdas/tasks/index.js';

const base = {
  spec: queryRouting.gate,
  student: { metric: 0.9, p99Ms: 0.5 },
  teacher: { metric: 0.92, p99Ms: 2 },
  agreement: 0.93,
  parity: { ok: true, maxAbsDiff: 1e-6 },
};

describe('gate', () => {
  it('passes a good student and says why', () => {
    const v = gate(base);
    expect(v.passed).toBe(true);
    expect(v.reasons.join(' ')).toContain('97.8 % of the teacher');
  });

  it('refuses a collapsed, disagreeing, regressing or mismatched student with every reason', () => {
    const v = gate({ ...base, student: { metric: 0.3, p99Ms: 80 }, agreement: 0.2, parity: { ok: false, maxAbsDiff: 0.2 }, production: { version: 3, metric: 0.9 } });
    expect(v.passed).toBe(false);
    expect(v.reasons).toHaveLength(6);
    expect(v.reasons.join('\n')).toMatch(/below the floor[\s\S]*only 32.6 %[\s\S]*only 20.0 %[\s\S]*over 50 ms[\s\S]*regresses against production v3/);
    expect(gate({ ...base, student: { metric: NaN, p99Ms: 1 } }).reasons[0]).toContain('collapsed');
  });

  it('names training jobs the way SageMaker accepts', () => {
    const name = jobName('a-very-long-task-name-that-goes-on-and-on-and-on', 'teacher', new Date('2025-01-02T03:04:05Z'), 'abc123');
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[A-Za-z0-9](-?[A-Za-z0-9])*$/);
    expect(name).toContain('teacher-20250102030405-abc123');
  });
});
