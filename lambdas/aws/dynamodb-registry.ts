/**
 * DynamoDB as the model registry (pk `task`, sk `version`). Metrics, gate and lineage are stored as
 * JSON strings: DynamoDB refuses NaN, which a collapsed model's metrics can hold. A promotion is one
 * transaction that retires the old production and promotes the new one.
 */
import { GetCommand, PutCommand, QueryCommand, ScanCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ModelRecord, ModelRegistry, ModelStatus } from '../ports/index.js';

export function toItem(m: ModelRecord): Record<string, unknown> {
  return { ...m, metrics: JSON.stringify(m.metrics), gate: JSON.stringify(m.gate), lineage: JSON.stringify(m.lineage) };
}

function toRecord(i: Record<string, unknown>): ModelRecord {
  const parse = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
  return {
    task: i.task as string,
    version: Number(i.version),
    status: i.status as ModelStatus,
    bundleKey: i.bundleKey as string,
    metrics: parse(i.metrics),
    gate: parse(i.gate),
    lineage: parse(i.lineage),
    createdAt: i.createdAt as string,
    updatedAt: i.updatedAt as string,
  };
}

export class DynamoDbRegistry implements ModelRegistry {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  private async query(task: string, opts: { newestFirst?: boolean; limit?: number } = {}): Promise<ModelRecord[]> {
    const out: ModelRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const r = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#t = :t',
          ExpressionAttributeNames: { '#t': 'task' },
          ExpressionAttributeValues: { ':t': task },
          ScanIndexForward: !opts.newestFirst,
          Limit: opts.limit,
          ExclusiveStartKey: start,
        }),
      );
      out.push(...(r.Items ?? []).map(toRecord));
      start = opts.limit && out.length >= opts.limit ? undefined : r.LastEvaluatedKey;
    } while (start);
    return out;
  }

  async nextVersion(task: string): Promise<number> {
    const [newest] = await this.query(task, { newestFirst: true, limit: 1 });
    return (newest?.version ?? 0) + 1;
  }

  /** Writes a new version; refuses to overwrite one that exists (two runs racing for the same number). */
  async put(record: ModelRecord): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: toItem(record), ConditionExpression: 'attribute_not_exists(#t)', ExpressionAttributeNames: { '#t': 'task' } }));
  }

  async get(task: string, version: number): Promise<ModelRecord | undefined> {
    const r = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { task, version } }));
    return r.Item && toRecord(r.Item);
  }

  async list(task?: string): Promise<ModelRecord[]> {
    if (task) return this.query(task);
    const out: ModelRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const r = await this.client.send(new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: start }));
      out.push(...(r.Items ?? []).map(toRecord));
      start = r.LastEvaluatedKey;
    } while (start);
    return out.sort((a, b) => (a.task < b.task ? -1 : a.task > b.task ? 1 : a.version - b.version));
  }

  async production(task: string): Promise<ModelRecord | undefined> {
    return (await this.query(task, { newestFirst: true })).find((m) => m.status === 'production');
  }

  async promote(task: string, version: number, at: string): Promise<void> {
    const current = await this.production(task);
    const names = { '#s': 'status', '#u': 'updatedAt' };
    const items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']> = [
      {
        Update: {
          TableName: this.tableName,
          Key: { task, version },
          UpdateExpression: 'SET #s = :p, #u = :at',
          ConditionExpression: 'attribute_exists(#s)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':p': 'production', ':at': at },
        },
      },
    ];
    if (current && current.version !== version) {
      items.push({
        Update: {
          TableName: this.tableName,
          Key: { task, version: current.version },
          UpdateExpression: 'SET #s = :r, #u = :at',
          // only if it is still production: a concurrent promotion fails the whole transaction
          ConditionExpression: '#s = :p',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':r': 'retired', ':p': 'production', ':at': at },
        },
      });
    }
    await this.client.send(new TransactWriteCommand({ TransactItems: items }));
  }

  async setStatus(task: string, version: number, status: ModelStatus, at: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { task, version },
        UpdateExpression: 'SET #s = :s, #u = :at',
        ConditionExpression: 'attribute_exists(#s)',
        ExpressionAttributeNames: { '#s': 'status', '#u': 'updatedAt' },
        ExpressionAttributeValues: { ':s': status, ':at': at },
      }),
    );
  }
}
