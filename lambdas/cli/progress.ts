/** Progress on stderr: one line rewritten in place on a terminal, one line per step elsewhere (CI logs). */
import type { TrainingProgress } from '../ports/index.js';

export class Progress {
  private last = '';
  constructor(private readonly out: NodeJS.WriteStream = process.stderr, private readonly quiet = false) {}

  update(line: string): void {
    if (this.quiet) return;
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[2K${line}`);
      this.last = line;
    } else if (line !== this.last) {
      this.out.write(line + '\n');
      this.last = line;
    }
  }

  done(line?: string): void {
    if (this.quiet) return;
    if (this.out.isTTY && this.last) this.out.write('\r\x1b[2K');
    if (line) this.out.write(line + '\n');
    this.last = '';
  }

  training(p: TrainingProgress): void {
    const parts = [`${p.phase}${p.model && p.model !== p.phase ? `/${p.model}` : ''}`];
    if (p.epoch !== undefined) parts.push(`epoch ${p.epoch}/${p.epochs ?? '?'}`);
    if (p.loss !== undefined) parts.push(`loss ${p.loss.toFixed(4)}`);
    if (p.valAccuracy !== undefined) parts.push(`val acc ${p.valAccuracy.toFixed(4)}`);
    if (p.seconds !== undefined) parts.push(`${p.seconds.toFixed(1)} s`);
    this.update(`  ${parts.join('  ')}`);
  }
}
