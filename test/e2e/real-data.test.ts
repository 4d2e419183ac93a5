/**
 * The public data sets in ../shared/data through the CLI, as `npm run real:*` runs them, on a slice
 * of banking77 and the whole accounts-receivable file. Skipped (and says so) when the data is absent.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_DATA_DIR, REPO_ROOT } from '../../lambdas/cli/real.js';
import type { StatusReport } from '../../lambdas/cli/status.js';

const run = promisify(execFile);
const cli = (home: string, ...args: string[]) =>
  run(process.execPath, [join(REPO_ROOT, 'bin', 'distillery.mjs'), '--home', home, ...args], { maxBuffer: 64 << 20, env: { ...process.env, CI: '1' } });

const haveData = existsSync(join(DEFAULT_DATA_DIR, 'banking77', 'train.csv')) && existsSync(join(DEFAULT_DATA_DIR, 'accounts-receivable', 'accounts-receivable.csv'));
const describeData = haveData ? describe : describe.skip;
if (!haveData) console.warn(`real-data tests skipped: ${DEFAULT_DATA_DIR} is missing`);

describeData('real data through the CLI', () => {
  it('banking77 slice: import, train, status — a distilled student 1/20 the size of its teacher', async () => {
    const home = mkdtempSync(join(tmpdir(), 'b77-'));
    const { stdout } = await cli(home, 'real', 'banking77', '--sample', '4000', '1540');
    expect(stdout).toContain('$ distillery import');
    expect(stdout).toMatch(/imported train\.csv for query-routing: 4000 rows → 8000 events/);
    expect(stdout).toContain('student, hard labels only');
    const status = JSON.parse((await cli(home, 'status', '--json')).stdout) as StatusReport;
    const task = status.tasks.find((t) => t.name === 'query-routing')!;
    expect(task.data).toEqual({ inputs: 5540, outcomes: 5540, labelled: 5540 });
    const [m] = task.models;
    expect(m.status).toBe('production');
    // 4000 rows is ~52 per intent; the full set reaches 0.91 (see README)
    expect(m.teacher).toBeGreaterThan(0.75);
    expect(m.student!).toBeGreaterThan(0.97 * m.teacher! - 0.02);
    expect(m.params!.teacher / m.params!.student).toBeGreaterThanOrEqual(20);
  });

  it('accounts-receivable: Disputed from what is known at posting, split by invoice date', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ar-'));
    const { stdout } = await cli(home, 'real', 'accounts-receivable');
    expect(stdout).toMatch(/imported accounts-receivable\.csv for invoice-dispute: 2466 rows → 4932 events/);
    expect(stdout).toMatch(/test split: 493 rows from 2013-0/);
    const status = JSON.parse((await cli(home, 'status', '--json')).stdout) as StatusReport;
    const [m] = status.tasks.find((t) => t.name === 'invoice-dispute')!.models;
    expect(m.metric).toBe('auc');
    expect(m.teacher).toBeGreaterThan(0.75);
    expect(m.student! / m.teacher!).toBeGreaterThanOrEqual(0.97);
    expect(m.status).toBe('production');
  });
});

describe('the CLI', () => {
  it.each(['import', 'train', 'serve', 'predict', 'status', 'demo', 'real', 'schemas'])('has --help for %s', async (cmd) => {
    const { stdout } = await run(process.execPath, [join(REPO_ROOT, 'bin', 'distillery.mjs'), cmd, '--help']);
    expect(stdout).toContain(`Usage: distillery ${cmd}`);
  });

  it('says what is wrong, without a stack trace, for a bad command line', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cli-'));
    await expect(cli(home, 'train', '--task', 'no-such-task')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('unknown task "no-such-task"') });
    await expect(cli(home, 'train', '--task', 'query-routing')).rejects.toMatchObject({ stderr: expect.stringContaining('has only 0 labelled examples') });
    await expect(cli(home, 'import', 'missing.csv', '--mapping', join(REPO_ROOT, 'mappings', 'accounts-receivable.json'))).rejects.toMatchObject({
      stderr: expect.stringMatching(/distillery: .*missing\.csv/),
    });
    const predict = cli(home, 'predict', '--task', 'query-routing', '--json', '{"text": "where is my card"}');
    await expect(predict).rejects.toMatchObject({ stdout: expect.stringContaining('no production model') });
  });
});
