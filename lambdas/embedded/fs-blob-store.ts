/** A folder as the blob store: keys are relative paths under the root. */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { BlobStore } from '../ports/index.js';

export class FsBlobStore implements BlobStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** The file behind a key; refuses keys that climb out of the root. */
  pathOf(key: string): string {
    const p = resolve(this.root, key);
    if (p !== this.root && !p.startsWith(this.root + sep)) throw new Error(`blob key ${key} escapes the store`);
    return p;
  }

  async put(key: string, data: Buffer | string): Promise<void> {
    const p = this.pathOf(key);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, data);
  }

  async get(key: string): Promise<Buffer> {
    return readFile(this.pathOf(key));
  }

  async exists(key: string): Promise<boolean> {
    return existsSync(this.pathOf(key));
  }

  async list(prefix: string): Promise<string[]> {
    const base = this.pathOf(prefix);
    if (!existsSync(base)) return [];
    const entries = await readdir(base, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => relative(this.root, join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)).split(sep).join('/')).sort();
  }
}
