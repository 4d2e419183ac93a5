/** Dead letters in S3: one JSON-lines object per refused batch under `dead-letter/`, each line the event and why. */
import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command, PutObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DeadLetter, DeadLetterStore } from '../ports/index.js';
import { LAYOUT } from './config.js';

export class S3DeadLetters implements DeadLetterStore {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    private readonly prefix: string = LAYOUT.deadLetters,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Writes one new object, `dead-letter/YYYY/MM/DD/<time>-<random>.jsonl`; never appends to another. */
  async put(letters: DeadLetter[]): Promise<void> {
    if (!letters.length) return;
    const t = this.now().toISOString();
    const key = `${this.prefix}${t.slice(0, 10).replace(/-/g, '/')}/${t.replace(/[:.]/g, '')}-${randomBytes(4).toString('hex')}.jsonl`;
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: letters.map((l) => JSON.stringify(l)).join('\n') + '\n', ContentType: 'application/x-ndjson' }),
    );
  }

  /** Counts the letters (lines) in every object under the prefix. */
  async count(): Promise<number> {
    let n = 0;
    let token: string | undefined;
    do {
      const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, ContinuationToken: token }));
      for (const o of r.Contents ?? []) {
        const body = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: o.Key }));
        n += (await body.Body!.transformToString()).split('\n').filter(Boolean).length;
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return n;
  }
}
