/**
 * The trainer container as a local child process: SageMaker's /opt/ml paths are mapped to folders of
 * the blob store through the trainer's SM_* environment variables, so the same Python code runs here
 * and in a SageMaker training job.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrainingError } from '../core/errors.js';
import type { TrainerLauncher, TrainingJob, TrainingProgress } from '../ports/index.js';
import type { FsBlobStore } from './fs-blob-store.js';
import { findPython } from './python.js';

export const TRAINER_DIR = fileURLToPath(new URL('../../containers/trainer', import.meta.url));

export class LocalTrainerLauncher implements TrainerLauncher {
  constructor(
    private readonly blobs: FsBlobStore,
    private readonly opts: { python?: string; threads?: number } = {},
  ) {}

  async run(job: TrainingJob, onProgress?: (p: TrainingProgress) => void): Promise<void> {
    const python = findPython(this.opts.python);
    const jobDir = this.blobs.pathOf(`jobs/${job.name}`);
    const configDir = join(jobDir, 'input', 'config');
    const outputDir = join(jobDir, 'output');
    await mkdir(configDir, { recursive: true });
    await mkdir(outputDir, { recursive: true });
    await writeFile(join(configDir, 'hyperparameters.json'), JSON.stringify(job.hyperparameters, null, 2));
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      PYTHONPATH: TRAINER_DIR,
      PYTHONUNBUFFERED: '1',
      SM_INPUT_CONFIG_DIR: configDir,
      SM_MODEL_DIR: this.blobs.pathOf(job.outputKey),
      SM_OUTPUT_DIR: outputDir,
      SM_CHECKPOINT_DIR: join(jobDir, 'checkpoints'),
    };
    if (this.opts.threads) env.OMP_NUM_THREADS = String(this.opts.threads);
    for (const [channel, key] of Object.entries(job.channels)) env[`SM_CHANNEL_${channel.toUpperCase()}`] = this.blobs.pathOf(key);
    await mkdir(env.SM_MODEL_DIR, { recursive: true });

    const stderrTail: string[] = [];
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(python, ['-m', 'distillery_trainer', 'train'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line.startsWith('{')) continue;
          try {
            const msg = JSON.parse(line);
            if (msg.progress) onProgress?.(msg.progress as TrainingProgress);
          } catch {
            /* not a progress line */
          }
        }
      });
      child.stderr.on('data', (d: Buffer) => {
        stderrTail.push(d.toString());
        if (stderrTail.length > 50) stderrTail.shift();
      });
      child.on('error', reject);
      child.on('close', (c) => resolve(c ?? 1));
    });
    if (code !== 0) {
      const failureFile = join(outputDir, 'failure');
      const reason = existsSync(failureFile) ? readFileSync(failureFile, 'utf8').trim() : stderrTail.join('').slice(-2000);
      throw new TrainingError(`trainer job ${job.name} (${job.phase}) failed: ${reason}`);
    }
  }
}
