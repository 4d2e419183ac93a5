/**
 * Run state of the event-driven orchestrator in the state table (pk `pk`, sk `sk`): one item per run,
 * `run#<task>#<snapshotId>` / `state`, and one pointer per training job, `job#<name>` / `run`, so a
 * SageMaker event finds its run. Every write is conditional on the revision it was read at: of two
 * handlers racing on the same event, only one moves the run on.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RunState, RunStateStore } from '../core/orchestrator.js';

export const runPk = (task: string, snapshotId: string) => `run#${task}#${snapshotId}`;
export const jobPk = (jobName: string) => `job#${jobName}`;

const isConditionFailure = (err: unknown) =>
  err instanceof ConditionalCheckFailedException || ['ConditionalCheckFailedException', 'TransactionCanceledException'].includes((err as Error).name);

export class DynamoDbRunState implements RunStateStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async byRun(task: string, snapshotId: string): Promise<RunState | undefined> {
    const r = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: runPk(task, snapshotId), sk: 'state' }, ConsistentRead: true }));
    return r.Item ? (JSON.parse(r.Item.state as string) as RunState) : undefined;
  }

  async byJob(jobName: string): Promise<RunState | undefined> {
    const r = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: jobPk(jobName), sk: 'run' }, ConsistentRead: true }));
    if (!r.Item) return undefined;
    return this.byRun(r.Item.task as string, r.Item.snapshotId as string);
  }

  async save(next: RunState, expected: number): Promise<boolean> {
    const pk = runPk(next.run.task, next.run.snapshotId);
    const item = { pk, sk: 'state', task: next.run.task, snapshotId: next.run.snapshotId, phase: next.phase, revision: next.revision, state: JSON.stringify(next), updatedAt: next.updatedAt };
    try {
      if (expected === 0) {
        // the run and its job pointers appear together, before any job can report
        const pointer = (name: string) => ({
          Put: { TableName: this.tableName, Item: { pk: jobPk(name), sk: 'run', task: next.run.task, snapshotId: next.run.snapshotId }, ConditionExpression: 'attribute_not_exists(pk)' },
        });
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [{ Put: { TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } }, pointer(next.jobs.teacher), pointer(next.jobs.student)],
          }),
        );
      } else {
        await this.client.send(
          new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: '#r = :r', ExpressionAttributeNames: { '#r': 'revision' }, ExpressionAttributeValues: { ':r': expected } }),
        );
      }
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }
}
