/**
 * Retraining counters in the state table: item `counter#<task>` / `labels`, an atomic ADD per ingest
 * batch and a conditional subtraction, so only one ingest Lambda wins the right to request a retrain.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RetrainCounter } from '../ports/index.js';

export const counterKey = (task: string) => ({ pk: `counter#${task}`, sk: 'labels' });

export class DynamoDbRetrainCounter implements RetrainCounter {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async add(task: string, n: number): Promise<number> {
    const r = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: counterKey(task),
        UpdateExpression: 'ADD #c :n',
        ExpressionAttributeNames: { '#c': 'count' },
        ExpressionAttributeValues: { ':n': n },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(r.Attributes?.count ?? 0);
  }

  async claim(task: string, threshold: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: counterKey(task),
          // subtract rather than reset: labels beyond the threshold count towards the next run
          UpdateExpression: 'SET #c = #c - :t',
          ConditionExpression: '#c >= :t',
          ExpressionAttributeNames: { '#c': 'count' },
          ExpressionAttributeValues: { ':t': threshold },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }
}
