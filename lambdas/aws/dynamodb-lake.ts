/**
 * DynamoDB as the lake (key schema in config.ts): one item per (task, entity) and role, written only
 * when no item is there or the stored version is lower, so a repeated change is `duplicate`, an older
 * one `stale`, and a higher version is never overwritten. The snapshot joins inputs and outcomes
 * through the `byTask` index.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { InputRecord, LabelledExample, Lake, OutcomeRecord, PutResult } from '../ports/index.js';
import { INDEX } from './config.js';

type Role = 'input' | 'outcome';

export class DynamoDbLake implements Lake {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  private async putVersioned(task: string, role: Role, entityId: string, version: number, item: Record<string, unknown>): Promise<PutResult> {
    const pk = `${task}#${entityId}`;
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk, sk: role, task, entityId, version, ...item },
          ConditionExpression: 'attribute_not_exists(pk) OR #v < :v',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ':v': version },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'stored';
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException) && (err as Error).name !== 'ConditionalCheckFailedException') throw err;
      let stored = (err as { Item?: { version?: { N?: string } } }).Item?.version?.N;
      if (stored === undefined) {
        const r = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk, sk: role }, ProjectionExpression: '#v', ExpressionAttributeNames: { '#v': 'version' } }));
        stored = r.Item?.version === undefined ? undefined : String(r.Item.version);
      }
      if (stored === undefined) throw new Error(`conditional write of ${pk} ${role} v${version} failed but no item is stored`, { cause: err });
      return Number(stored) === version ? 'duplicate' : 'stale';
    }
  }

  async putInput(task: string, r: InputRecord): Promise<PutResult> {
    return this.putVersioned(task, 'input', r.entityId, r.version, { occurredAt: r.occurredAt, source: r.source, data: JSON.stringify(r.data) });
  }

  async putOutcome(task: string, r: OutcomeRecord): Promise<PutResult> {
    return this.putVersioned(task, 'outcome', r.entityId, r.version, { occurredAt: r.occurredAt, source: r.source, detailType: r.detailType, label: r.label });
  }

  private async byTask(task: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const r = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: INDEX.lakeByTask,
          KeyConditionExpression: '#t = :t',
          ExpressionAttributeNames: { '#t': 'task' },
          ExpressionAttributeValues: { ':t': task },
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(r.Items ?? []));
      start = r.LastEvaluatedKey;
    } while (start);
    return items;
  }

  async labelled(task: string): Promise<LabelledExample[]> {
    const items = await this.byTask(task);
    const outcomes = new Map(items.filter((i) => i.sk === 'outcome').map((i) => [i.entityId as string, i]));
    const out: LabelledExample[] = [];
    for (const i of items) {
      if (i.sk !== 'input') continue;
      const o = outcomes.get(i.entityId as string);
      if (!o) continue;
      out.push({ entityId: i.entityId as string, occurredAt: i.occurredAt as string, data: JSON.parse(i.data as string), label: o.label as string, labelledAt: o.occurredAt as string });
    }
    // the same order as the embedded lake: by input time, then entity
    return out.sort((a, b) => (a.occurredAt < b.occurredAt ? -1 : a.occurredAt > b.occurredAt ? 1 : a.entityId < b.entityId ? -1 : a.entityId > b.entityId ? 1 : 0));
  }

  async counts(task: string): Promise<{ inputs: number; outcomes: number; labelled: number }> {
    const items = await this.byTask(task);
    const inputs = new Set(items.filter((i) => i.sk === 'input').map((i) => i.entityId));
    const outcomes = items.filter((i) => i.sk === 'outcome');
    return { inputs: inputs.size, outcomes: outcomes.length, labelled: outcomes.filter((o) => inputs.has(o.entityId)).length };
  }
}
