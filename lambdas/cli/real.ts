/** `npm run real:<dataset>`: a public data set through the CLI path — import, train, status. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Workspace } from '../embedded/workspace.js';
import { formatImport, importFile, loadMapping } from './import-file.js';
import { Progress } from './progress.js';
import { collectStatus, formatStatus } from './status.js';
import { formatTrain, runTrain } from './train.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DEFAULT_DATA_DIR = join(REPO_ROOT, '..', 'shared', 'data');

const DATASETS: Record<string, { files: [string, string, number | undefined][]; task: string; testSince?: string }> = {
  banking77: {
    task: 'query-routing',
    files: [['banking77/train.csv', 'banking77-train.json', undefined], ['banking77/test.csv', 'banking77-test.json', undefined]],
    testSince: '2025-01-01T00:00:00Z',
  },
  'accounts-receivable': { task: 'invoice-dispute', files: [['accounts-receivable/accounts-receivable.csv', 'accounts-receivable.json', undefined]] },
};

export async function runReal(ws: Workspace, name: string, opts: { dataDir?: string; samples?: number[]; quiet?: boolean }) {
  const ds = DATASETS[name];
  if (!ds) throw new Error(`unknown data set "${name}"; known: ${Object.keys(DATASETS).join(', ')}`);
  const dataDir = opts.dataDir ?? DEFAULT_DATA_DIR;
  const say = (s: string) => process.stdout.write(s + '\n');
  for (const [i, [file, mapping]] of ds.files.entries()) {
    const path = join(dataDir, file);
    if (!existsSync(path)) throw new Error(`${path} is missing; pass --data-dir to the folder holding ${file}`);
    const mappingPath = join(REPO_ROOT, 'mappings', mapping);
    say(`$ distillery import ${path} --mapping mappings/${mapping}${opts.samples?.[i] ? ` --sample ${opts.samples[i]}` : ''}`);
    const progress = new Progress(process.stderr, opts.quiet);
    const summary = await importFile(ws, path, loadMapping(mappingPath), { sample: opts.samples?.[i], onProgress: (d, t) => progress.update(`  import ${d}/${t} rows`) });
    progress.done();
    say(formatImport(summary));
  }
  say(`\n$ distillery train --task ${ds.task}${ds.testSince ? ` --test-since ${ds.testSince}` : ''}`);
  const result = await runTrain(ws, ds.task, { testSince: ds.testSince, quiet: opts.quiet });
  say(formatTrain(result, ws.blobs.pathOf(`${result.record.bundleKey}/report.html`)));
  say('\n$ distillery status');
  say(formatStatus(await collectStatus(ws)));
  return result;
}
