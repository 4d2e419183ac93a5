/** The `distillery` CLI: each command wires the embedded ports to the core; `--help` on every command. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { Workspace } from '../lambdas/embedded/workspace.js';
import { builtInTasks } from '../lambdas/tasks/index.js';
import { formatImport, importFile, loadMapping } from '../lambdas/cli/import-file.js';
import { formatTrain, runTrain } from '../lambdas/cli/train.js';
import { collectStatus, formatStatus } from '../lambdas/cli/status.js';
import { predictOnce, serve } from '../lambdas/cli/serve.js';
import { runDemo } from '../lambdas/cli/demo.js';
import { runReal } from '../lambdas/cli/real.js';
import { Progress } from '../lambdas/cli/progress.js';
import { schemasOfTask } from '../lambdas/core/events.js';

const int = (name: string, max = Number.MAX_SAFE_INTEGER) => (v: string) => {
  const n = /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n > max) throw new InvalidArgumentError(`${name} must be a whole number from 0 to ${max}`);
  return n;
};
const port = int('--port', 65535);

function workspace(cmd: Command): Workspace {
  const { home, python } = cmd.optsWithGlobals() as { home: string; python?: string };
  return new Workspace(home, builtInTasks, { python });
}

async function withWorkspace<T>(cmd: Command, f: (ws: Workspace) => Promise<T>): Promise<T> {
  const ws = workspace(cmd);
  try {
    return await f(ws);
  } finally {
    ws.close();
  }
}

export function program(): Command {
  const p = new Command('distillery')
    .description('Turn ERP change events into small, fast, distilled ONNX models, and serve them.')
    .addOption(new Option('--home <dir>', 'workspace folder: lake, registry, datasets, models').env('DISTILLERY_HOME').default('.distillery'))
    .addOption(new Option('--python <path>', 'Python interpreter with torch, numpy and onnx (default: the first that has them)').env('DISTILLERY_PYTHON'))
    .showHelpAfterError();

  p.command('import')
    .description('Turn a CSV or JSONL export of ERP records into ERP events and feed them to ingest (backfill)')
    .argument('<file>', 'CSV (with a header row) or JSONL export')
    .requiredOption('--mapping <file>', 'JSON mapping: task, source, key column, input fields and time, outcome column and time (see mappings/)')
    .addOption(new Option('--format <format>', 'file format (default: from the extension)').choices(['csv', 'jsonl']))
    .option('--limit <rows>', 'import only the first N rows', int('--limit'))
    .option('--sample <rows>', 'import N rows spread evenly over the file (a quick slice of a sorted export)', int('--sample'))
    .action(async (file: string, o: { mapping: string; format?: 'csv' | 'jsonl'; limit?: number; sample?: number }, cmd: Command) =>
      withWorkspace(cmd, async (ws) => {
        const progress = new Progress();
        const s = await importFile(ws, file, loadMapping(o.mapping), { format: o.format, limit: o.limit, sample: o.sample, onProgress: (d, t) => progress.update(`import ${d}/${t} rows`) });
        progress.done();
        console.log(formatImport(s));
      }),
    );

  p.command('train')
    .description('Snapshot, teacher, distilled student, ONNX export, evaluation, registration; promotion if the gate passes')
    .requiredOption('--task <task>', `task to train: ${builtInTasks.map((t) => t.name).join(', ')}`)
    .option('--test-since <time>', 'ISO time: examples from then on form the test split (default: the newest share of the data)')
    .option('--json', 'print the result as JSON')
    .action(async (o: { task: string; testSince?: string; json?: boolean }, cmd: Command) =>
      withWorkspace(cmd, async (ws) => {
        if (o.testSince && Number.isNaN(Date.parse(o.testSince))) throw new InvalidArgumentError('--test-since must be an ISO time');
        const r = await runTrain(ws, o.task, { testSince: o.testSince });
        console.log(o.json ? JSON.stringify({ record: r.record, evaluation: r.evaluation, params: r.params, distillationGain: r.distillationGain }, null, 2) : formatTrain(r, ws.blobs.pathOf(`${r.record.bundleKey}/report.html`)));
      }),
    );

  p.command('serve')
    .description('Serve the production model of every task over HTTP on 127.0.0.1 (POST /tasks/{task}/predict, GET /tasks/{task})')
    .option('--port <port>', 'port (0 picks a free one)', port, 8080)
    .action(async (o: { port: number }, cmd: Command) => {
      const ws = workspace(cmd);
      const { url, loaded, server } = await serve(ws, { port: o.port });
      console.log(`serving ${loaded.length ? loaded.join(', ') : 'no models yet (train one first)'} at ${url}`);
      await new Promise<void>((resolve) => {
        const stop = () => server.close(() => resolve());
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      ws.close();
    });

  p.command('predict')
    .description('Predict with the production model of a task, in process, through the same handler as serve')
    .requiredOption('--task <task>', 'task name')
    .option('--json <instance>', 'one instance as a JSON object, e.g. \'{"text":"my card has not arrived"}\'')
    .option('--file <path>', 'JSONL file: one instance per line')
    .action(async (o: { task: string; json?: string; file?: string }, cmd: Command) =>
      withWorkspace(cmd, async (ws) => {
        if (!o.json === !o.file) throw new InvalidArgumentError('give exactly one of --json or --file');
        let instances: unknown[];
        try {
          instances = o.json ? [JSON.parse(o.json)] : readFileSync(o.file as string, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
        } catch (err) {
          throw new InvalidArgumentError(`instances are not valid JSON: ${(err as Error).message}`);
        }
        const res = await predictOnce(ws, o.task, instances);
        console.log(JSON.stringify(JSON.parse(res.body ?? '{}'), null, 2));
        if ((res.statusCode ?? 200) >= 400) process.exitCode = 1;
      }),
    );

  p.command('status')
    .description('Tasks, data counts, model versions with their metrics and gate verdicts')
    .option('--json', 'print as JSON, for scripts')
    .action(async (o: { json?: boolean }, cmd: Command) =>
      withWorkspace(cmd, async (ws) => {
        const s = await collectStatus(ws);
        console.log(o.json ? JSON.stringify(s, null, 2) : formatStatus(s));
      }),
    );

  p.command('demo')
    .description('The whole loop on a generated invoice-approval stream, ending with a local HTTP endpoint')
    .option('--invoices <n>', 'invoices to generate', int('--invoices'), 6000)
    .option('--port <port>', 'port of the local endpoint (0 picks a free one)', port, 8080)
    .option('--exit', 'stop after the summary instead of serving until Ctrl-C (the default when not on a terminal)')
    .action(async (o: { invoices: number; port: number; exit?: boolean }, cmd: Command) => {
      const ws = workspace(cmd);
      const keepServing = !o.exit && !!process.stdout.isTTY && !process.env.CI;
      const { server, ok } = await runDemo(ws, { invoices: o.invoices, port: o.port, keepServing });
      if (server) {
        await new Promise<void>((resolve) => {
          const stop = () => server.close(() => resolve());
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      }
      ws.close();
      if (!ok) process.exitCode = 1;
    });

  p.command('real')
    .description('Run a public data set end to end through the CLI path: import, train, status')
    .argument('<dataset>', 'banking77 or accounts-receivable')
    .option('--data-dir <dir>', 'folder holding the data sets (default: ../shared/data beside the repo)')
    .option('--sample <rows...>', 'import N rows spread evenly over each file (one number per file): a quick slice')
    .action(async (dataset: string, o: { dataDir?: string; sample?: string[] }, cmd: Command) =>
      withWorkspace(cmd, async (ws) => {
        await runReal(ws, dataset, { dataDir: o.dataDir, samples: o.sample?.map((x) => int('--sample')(x)) });
      }),
    );

  p.command('schemas')
    .description('Print the JSON Schema of every ERP event kind the tasks read, or write one file per kind')
    .option('--out <dir>', 'write <detail-type>.json files into this folder (the repo keeps them in schemas/)')
    .action((o: { out?: string }) => {
      const all: Record<string, object> = {};
      for (const t of builtInTasks) Object.assign(all, schemasOfTask(t));
      if (!o.out) return console.log(JSON.stringify(all, null, 2));
      mkdirSync(o.out, { recursive: true });
      for (const [kind, schema] of Object.entries(all)) writeFileSync(join(o.out, `${kind}.json`), JSON.stringify(schema, null, 2) + '\n');
      console.log(`wrote ${Object.keys(all).length} schemas to ${o.out}`);
    });
  return p;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return (process.exitCode as number | undefined) ?? 0;
  } catch (err) {
    console.error(`distillery: ${(err as Error).message}`);
    if (process.env.DISTILLERY_DEBUG) console.error(err);
    return 1;
  }
}
