import { mockClient } from 'aws-sdk-client-mock';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { CreateTrainingJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { S3Client } from '@aws-sdk/client-s3';
import { EventBridgePublisher, PublishError } from '../../lambdas/aws/eventbridge-publisher.js';
import { DynamoDbLake } from '../../lambdas/aws/dynamodb-lake.js';
import { DynamoDbRegistry } from '../../lambdas/aws/dynamodb-registry.js';
import { SageMakerLauncher, untar } from '../../lambdas/aws/sagemaker-launcher.js';
import { S3BlobStore } from '../../lambdas/aws/s3-blob-store.js';
import { studentJob, teacherJob, type RunRef } from '../../lambdas/core/train-run.js';
import { builtInTasks } from '../../lambdas/tasks/index.js';
import type { SystemEvent } from '../../lambdas/ports/index.js';

const ev = (i: number): SystemEvent => ({ source: 'distillery', detailType: `E${i}`, detail: { i } });
const noSleep = async () => {};

describe('EventBridgePublisher', () => {
  const eb = mockClient(EventBridgeClient);
  beforeEach(() => eb.reset());

  it('sends at most 10 entries per PutEvents call', async () => {
    eb.on(PutEventsCommand).callsFake((input) => ({ FailedEntryCount: 0, Entries: input.Entries.map((_: unknown, i: number) => ({ EventId: `id${i}` })) }));
    await new EventBridgePublisher(new EventBridgeClient({}), 'erp').publish(Array.from({ length: 23 }, (_, i) => ev(i)));
    const sizes = eb.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries!.length);
    expect(sizes).toEqual([10, 10, 3]);
    expect(eb.commandCalls(PutEventsCommand)[0].args[0].input.Entries![0]).toEqual({ EventBusName: 'erp', Source: 'distillery', DetailType: 'E0', Detail: '{"i":0}' });
  });

  it('retries only the entries that failed', async () => {
    eb.on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: 'a' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }, { EventId: 'c' }] })
      .resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: 'b' }] });
    await new EventBridgePublisher(new EventBridgeClient({}), 'erp', { sleep: noSleep }).publish([ev(0), ev(1), ev(2)]);
    const calls = eb.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries!.map((e) => e.DetailType));
    expect(calls).toEqual([['E0', 'E1', 'E2'], ['E1']]);
  });

  it('throws naming the entries never accepted, after bounded attempts', async () => {
    eb.on(PutEventsCommand).callsFake((input) => ({
      FailedEntryCount: 1,
      Entries: input.Entries.map((e: { DetailType: string }) => (e.DetailType === 'E1' ? { ErrorCode: 'InternalFailure', ErrorMessage: 'boom' } : { EventId: 'x' })),
    }));
    const p = new EventBridgePublisher(new EventBridgeClient({}), 'erp', { sleep: noSleep, maxAttempts: 3 }).publish([ev(0), ev(1)]);
    await expect(p).rejects.toThrow(/refused 1 of 2 events after 3 attempts: E1 \(InternalFailure: boom\)/);
    await p.catch((e: PublishError) => expect(e.failed.map((f) => f.event.detailType)).toEqual(['E1']));
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(3);
  });
});

describe('DynamoDbLake', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const lake = () => new DynamoDbLake(DynamoDBDocumentClient.from(new DynamoDBClient({})), 'lake');
  const rec = (version: number) => ({ entityId: 'INV-1', version, occurredAt: '2025-01-01T00:00:00.000Z', source: 'erp.sap', data: { amount: 1 } });
  const refused = (stored: number) => new ConditionalCheckFailedException({ message: 'failed', $metadata: {}, Item: { version: { N: String(stored) } } });
  beforeEach(() => ddb.reset());

  it('stores with a condition that never overwrites a higher version', async () => {
    ddb.on(PutCommand).resolves({});
    expect(await lake().putInput('invoice-approval', rec(2))).toBe('stored');
    const input = ddb.commandCalls(PutCommand)[0].args[0].input;
    expect(input.Item).toMatchObject({ pk: 'invoice-approval#INV-1', sk: 'input', task: 'invoice-approval', version: 2 });
    expect(input.ConditionExpression).toBe('attribute_not_exists(pk) OR #v < :v');
    expect(input.ExpressionAttributeValues).toEqual({ ':v': 2 });
  });

  it('reports a repeated version as duplicate and a lower one as stale', async () => {
    ddb.on(PutCommand).rejects(refused(2));
    expect(await lake().putInput('invoice-approval', rec(2))).toBe('duplicate');
    expect(await lake().putInput('invoice-approval', rec(1))).toBe('stale');
  });

  it('reads the stored version when the failure carries no item', async () => {
    ddb.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }));
    ddb.on(GetCommand).resolves({ Item: { version: 5 } });
    expect(await lake().putOutcome('invoice-approval', { ...rec(3), detailType: 'Invoice.Approved', label: 'approved' })).toBe('stale');
  });

  it('joins inputs and outcomes from the byTask index', async () => {
    ddb.on(QueryCommand).resolves({
      Items: [
        { sk: 'outcome', entityId: 'B', occurredAt: '2025-01-09', label: 'rejected' },
        { sk: 'input', entityId: 'B', occurredAt: '2025-01-02', data: '{"amount":2}' },
        { sk: 'input', entityId: 'A', occurredAt: '2025-01-01', data: '{"amount":1}' },
        { sk: 'input', entityId: 'C', occurredAt: '2025-01-03', data: '{}' },
        { sk: 'outcome', entityId: 'A', occurredAt: '2025-01-05', label: 'approved' },
      ],
    });
    expect(await lake().labelled('invoice-approval')).toEqual([
      { entityId: 'A', occurredAt: '2025-01-01', data: { amount: 1 }, label: 'approved', labelledAt: '2025-01-05' },
      { entityId: 'B', occurredAt: '2025-01-02', data: { amount: 2 }, label: 'rejected', labelledAt: '2025-01-09' },
    ]);
    expect(ddb.commandCalls(QueryCommand)[0].args[0].input).toMatchObject({ IndexName: 'byTask', ExpressionAttributeValues: { ':t': 'invoice-approval' } });
  });
});

describe('DynamoDbRegistry', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  beforeEach(() => ddb.reset());

  it('promotes in one transaction that retires the old production', async () => {
    ddb.on(QueryCommand).resolves({ Items: [{ task: 't', version: 3, status: 'candidate', metrics: '{}', gate: '{}', lineage: '{}' }, { task: 't', version: 2, status: 'production', metrics: '{}', gate: '{}', lineage: '{}' }] });
    ddb.on(TransactWriteCommand).resolves({});
    await new DynamoDbRegistry(DynamoDBDocumentClient.from(new DynamoDBClient({})), 'reg').promote('t', 3, '2025-01-01T00:00:00Z');
    const items = ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems!;
    expect(items.map((i) => [i.Update!.Key, i.Update!.ExpressionAttributeValues![':p'] ?? null, i.Update!.ExpressionAttributeValues![':r'] ?? null])).toEqual([
      [{ task: 't', version: 3 }, 'production', null],
      [{ task: 't', version: 2 }, 'production', 'retired'],
    ]);
    expect(items[1].Update!.ConditionExpression).toBe('#s = :p');
  });
});

describe('SageMakerLauncher', () => {
  const sm = mockClient(SageMakerClient);
  const task = builtInTasks[0];
  const run: RunRef = { task: task.name, snapshotId: '20250101T000000-abcd1234', datasetKey: `datasets/${task.name}/20250101T000000-abcd1234`, runKey: `runs/${task.name}/20250101T000000-abcd1234`, startedAt: '2025-01-01T00:00:00.000Z' };
  const launcher = (extra = {}) =>
    new SageMakerLauncher(new SageMakerClient({}), new S3BlobStore(new S3Client({}), 'bkt'), { task: task.name, image: 'img:1', roleArn: 'arn:aws:iam::1:role/sm', useSpot: true, maxRuntimeSec: 3600, ...extra });
  beforeEach(() => sm.reset());

  it('starts a spot job with channels, string hyperparameters, checkpoints and runtime limits', async () => {
    sm.on(CreateTrainingJobCommand).resolves({ TrainingJobArn: 'arn' });
    const job = studentJob(task, run);
    await launcher().run(job);
    const req = sm.commandCalls(CreateTrainingJobCommand)[0].args[0].input;
    expect(req.TrainingJobName).toMatch(/^[A-Za-z0-9](-?[A-Za-z0-9])*$/);
    expect(req.TrainingJobName!.length).toBeLessThanOrEqual(63);
    expect(req.ResourceConfig).toEqual({ InstanceType: 'ml.g5.xlarge', InstanceCount: 1, VolumeSizeInGB: 50 });
    expect(req.StoppingCondition).toEqual({ MaxRuntimeInSeconds: 3600, MaxWaitTimeInSeconds: 7200 });
    expect(req.EnableManagedSpotTraining).toBe(true);
    expect(req.CheckpointConfig).toEqual({ S3Uri: `s3://bkt/checkpoints/${job.name}/`, LocalPath: '/opt/ml/checkpoints' });
    expect(req.InputDataConfig).toEqual([
      { ChannelName: 'dataset', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://bkt/${run.datasetKey}/`, S3DataDistributionType: 'FullyReplicated' } } },
      { ChannelName: 'teacher', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://bkt/${run.runKey}/teacher/`, S3DataDistributionType: 'FullyReplicated' } } },
    ]);
    expect(Object.values(req.HyperParameters!).every((v) => typeof v === 'string')).toBe(true);
    expect(req.HyperParameters!.phase).toBe('student');
    expect(req.OutputDataConfig).toEqual({ S3OutputPath: `s3://bkt/${run.runKey}/sagemaker/` });
    expect([req.AlgorithmSpecification!.TrainingImage, req.RoleArn]).toEqual(['img:1', 'arn:aws:iam::1:role/sm']);
  });

  it('uses the instance type of the task, no spot settings without spot, and names jobs per run', async () => {
    sm.on(CreateTrainingJobCommand).resolves({});
    await launcher({ useSpot: false, instanceTypes: { [task.name]: 'ml.p3.2xlarge' } }).run(teacherJob(task, run));
    const req = sm.commandCalls(CreateTrainingJobCommand)[0].args[0].input;
    expect(req.ResourceConfig!.InstanceType).toBe('ml.p3.2xlarge');
    expect(req.StoppingCondition).toEqual({ MaxRuntimeInSeconds: 3600 });
    expect(req.EnableManagedSpotTraining).toBeUndefined();
    expect(teacherJob(task, run).name).not.toBe(teacherJob(task, { ...run, snapshotId: 'other' }).name);
    expect(teacherJob(task, run).name).not.toBe(studentJob(task, run).name);
  });

  it('treats a job name already in use as already started', async () => {
    sm.on(CreateTrainingJobCommand).rejects(Object.assign(new Error('exists'), { name: 'ResourceInUse' }));
    await expect(launcher().run(teacherJob(task, run))).resolves.toBeUndefined();
  });

  it('unpacks a tar archive', () => {
    const header = Buffer.alloc(512);
    header.write('./teacher.onnx', 0);
    header.write('0000005\0', 124);
    header.write('0', 156);
    const tar = Buffer.concat([header, Buffer.from('hello'), Buffer.alloc(507), Buffer.alloc(1024)]);
    expect(untar(tar).map(([n, d]) => [n, d.toString()])).toEqual([['teacher.onnx', 'hello']]);
  });
});

describe('DynamoDbRetrainCounter', () => {
  it('adds atomically and lets only one caller claim a reached threshold', async () => {
    const { DynamoDBDocumentClient, UpdateCommand } = await import('@aws-sdk/lib-dynamodb');
    const { DynamoDBClient, ConditionalCheckFailedException } = await import('@aws-sdk/client-dynamodb');
    const { mockClient } = await import('aws-sdk-client-mock');
    const { DynamoDbRetrainCounter } = await import('../../lambdas/aws/dynamodb-retrain-counter.js');
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
    const ddb = mockClient(doc);
    ddb.on(UpdateCommand, { UpdateExpression: 'ADD #c :n' }).resolves({ Attributes: { count: 512 } });
    ddb.on(UpdateCommand, { UpdateExpression: 'SET #c = #c - :t' })
      .resolvesOnce({})
      .rejects(new ConditionalCheckFailedException({ message: 'condition failed', $metadata: {} }));
    const counter = new DynamoDbRetrainCounter(doc, 'state');
    expect(await counter.add('invoice-approval', 12)).toBe(512);
    expect(await counter.claim('invoice-approval', 500)).toBe(true);
    expect(await counter.claim('invoice-approval', 500)).toBe(false);
    const adds = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(adds[0]).toMatchObject({ TableName: 'state', Key: { pk: 'counter#invoice-approval', sk: 'labels' }, ExpressionAttributeValues: { ':n': 12 } });
    expect(adds[1]).toMatchObject({ ConditionExpression: '#c >= :t', ExpressionAttributeValues: { ':t': 500 } });
    ddb.restore();
  });
});
