/** Dead letters as one JSON object per line: the event as received and why it was refused. */
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DeadLetter, DeadLetterStore } from '../ports/index.js';

export class JsonlDeadLetters implements DeadLetterStore {
  constructor(readonly path: string) {}

  async put(letters: DeadLetter[]): Promise<void> {
    if (!letters.length) return;
    await mkdir(dirname(this.path), { recursive: true });
    await appendFile(this.path, letters.map((l) => JSON.stringify(l)).join('\n') + '\n');
  }

  async count(): Promise<number> {
    if (!existsSync(this.path)) return 0;
    return readFileSync(this.path, 'utf8').split('\n').filter(Boolean).length;
  }
}
