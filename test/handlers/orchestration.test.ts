import { mockClient } from 'aws-sdk-client-mock';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateTrainingJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { S3Client } from '@aws-sdk/client-s3';
import type { SystemEvent } from '../../lambdas/ports/index.js';
import type { SQSEvent } from 'aws-lambda';
import { orchestrate, toOrchestratorEvent, type OrchestrateDeps, type RunState, type RunStateStore } from '../../lambdas/core/orchestrator.js';
import { EventValidator } from '../../lambdas/core/events.js';
import { EventBridgePublisher } from '../../lambdas/aws/eventbridge-publisher.js';
import { SageMakerLauncher } from '../../lambdas/aws/sagemaker-launcher.js';
import { S3BlobStore } from '../../lambdas/aws/s3-blob-store.js';
import { builtInTasks } from '../../lambdas/tasks/index.js';
import type { DeadLetter, InputRecord, Lake, OutcomeRecord, PutResult } from '../../lambdas/ports/index.js';

class MemoryRunState implements RunStateStore {
  readonly runs = new Map<string, RunState>();
  async byRun(task: string, id: string) { return this.runs.get(`${task}#${id}`); }
  async byJob(job: string) { return [...this.runs.values()].find((s) => s.jobs.teacher === job || s.jobs.student === job); }
  async save(next: RunState, expected: number) {
    const k = `${next.run.task}#${next.run.snapshotId}`;
    if ((this.runs.get(k)?.revision ?? 0) !== expected) return false;
    this.runs.set(k, next);
    return true;
  }
}

const task = builtInTasks.find((t) => t.name === 'invoice-approval')!;
const snapshotId = '20250101T000000-abcd1234';
const datasetReady = { source: 'distillery', 'detail-type': 'DatasetReady', detail: { task: task.name, snapshotId, key: `datasets/${task.name}/${snapshotId}`, runKey: `runs/${task.name}/${snapshotId}`, startedAt: '2025-01-01T00:00:00.000Z', counts: {} } };
const stateChange = (job: string, status: string, extra: Record<string, unknown> = {}) => ({ source: 'aws.sagemaker', 'detail-type': 'SageMaker Training Job State Change', detail: { TrainingJobName: job, TrainingJobStatus: status, ...extra } });

describe('orchestrator', () => {
  const sm = mockClient(SageMakerClient);
  const eb = mockClient(EventBridgeClient);
  let state: MemoryRunState;
  let deps: OrchestrateDeps;
  let collected: string[];
  let evaluations: number;
  const send = (e: object) => orchestrate(toOrchestratorEvent(e as never)!, deps);
  const published = () => eb.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries!.map((x) => ({ type: x.DetailType, detail: JSON.parse(x.Detail!) })));
  const jobsStarted = () => sm.commandCalls(CreateTrainingJobCommand).map((c) => c.args[0].input);

  beforeEach(() => {
    sm.reset();
    eb.reset();
    sm.on(CreateTrainingJobCommand).resolves({});
    eb.on(PutEventsCommand).callsFake((input) => ({ FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: 'e' })) }));
    state = new MemoryRunState();
    collected = [];
    evaluations = 0;
    const launcher = new SageMakerLauncher(new SageMakerClient({}), new S3BlobStore(new S3Client({}), 'bkt'), { task: task.name, image: 'img', roleArn: 'role' });
    deps = {
      tasks: builtInTasks, state, publisher: new EventBridgePublisher(new EventBridgeClient({}), 'erp'), clock: { now: () => new Date('2025-01-01T01:00:00Z') },
      launcher: { run: (j) => launcher.run(j), collect: async (j) => collected.push(j.name) },
      requestEvaluation: async () => void evaluations++,
    };
  });

  it('starts the teacher once per DatasetReady, however often it arrives', async () => {
    await send(datasetReady);
    await send(datasetReady);
    expect(jobsStarted()).toHaveLength(1);
    expect(jobsStarted()[0].TrainingJobName).toMatch(/^invoice-approval-teacher-20250101000000-[0-9a-f]{6}$/);
    expect([...state.runs.values()][0]).toMatchObject({ phase: 'teacher', revision: 1 });
  });

  it('starts the student with the teacher output as a channel when the teacher completes; a duplicate starts nothing', async () => {
    await send(datasetReady);
    const s0 = [...state.runs.values()][0];
    await send(stateChange(s0.jobs.teacher, 'Completed'));
    await send(stateChange(s0.jobs.teacher, 'Completed'));
    await send(stateChange(s0.jobs.teacher, 'InProgress'));
    const jobs = jobsStarted();
    expect(jobs.map((j) => j.TrainingJobName)).toEqual([s0.jobs.teacher, s0.jobs.student]);
    expect(jobs[1].InputDataConfig!.find((c) => c.ChannelName === 'teacher')!.DataSource!.S3DataSource!.S3Uri).toBe(`s3://bkt/runs/${task.name}/${snapshotId}/teacher/`);
    expect(collected).toEqual([s0.jobs.teacher]);
    expect(published()).toEqual([{ type: 'TrainingPhaseCompleted', detail: expect.objectContaining({ phase: 'teacher', job: s0.jobs.teacher }) }]);
    // the student completes → its output is collected and the run goes to evaluation, once
    await send(stateChange(s0.jobs.student, 'Completed'));
    await send(stateChange(s0.jobs.student, 'Completed'));
    expect(evaluations).toBe(1);
    expect([...state.runs.values()][0].phase).toBe('evaluating');
  });

  it.each([
    ['Stopped', { SecondaryStatus: 'MaxRuntimeExceeded' }, /teacher training job \S+ was stopped: MaxRuntimeExceeded/],
    ['Failed', { SecondaryStatus: 'Failed', FailureReason: 'AlgorithmError: CUDA out of memory' }, /teacher training job \S+ failed: AlgorithmError: CUDA out of memory/],
  ])('ends the run as ModelRejected when the job is %s', async (status, extra, reason) => {
    await send(datasetReady);
    const s0 = [...state.runs.values()][0];
    await send(stateChange(s0.jobs.teacher, status, extra));
    await send(stateChange(s0.jobs.teacher, status, extra));
    expect(jobsStarted()).toHaveLength(1);
    const events = published();
    expect(events).toHaveLength(1);
    expect(events[0].type).toBe('ModelRejected');
    expect(events[0].detail.reasons[0]).toMatch(reason);
    expect([...state.runs.values()][0]).toMatchObject({ phase: 'rejected', reason: expect.stringMatching(reason) });
  });

  it('ignores a job of no known run and a late teacher event once the student runs', async () => {
    expect((await send(stateChange('someone-elses-job', 'Completed'))).decision.ignored).toContain('no known run');
    await send(datasetReady);
    const s0 = [...state.runs.values()][0];
    await send(stateChange(s0.jobs.teacher, 'Completed'));
    await send(stateChange(s0.jobs.teacher, 'Failed', { FailureReason: 'late' }));
    expect([...state.runs.values()][0].phase).toBe('student');
    expect(published().map((e) => e.type)).toEqual(['TrainingPhaseCompleted']);
  });
});

class MemoryLake implements Lake {
  readonly rows = new Map<string, number>();
  private put(k: string, v: number): PutResult {
    const old = this.rows.get(k);
    if (old === v) return 'duplicate';
    if (old !== undefined && old > v) return 'stale';
    this.rows.set(k, v);
    return 'stored';
  }
  async putInput(t: string, r: InputRecord) { return this.put(`${t}#${r.entityId}#in`, r.version); }
  async putOutcome(t: string, r: OutcomeRecord) { return this.put(`${t}#${r.entityId}#out`, r.version); }
  async labelled() { return []; }
  async counts() { return { inputs: 0, outcomes: 0, labelled: 0 }; }
}

describe('ingest handler', () => {
  it('reports only the poison records of an SQS batch and stores the others', async () => {
    // GIVEN the handler module (its module-level clients need the environment)
    Object.assign(process.env, { DISTILLERY_BUCKET: 'bkt', DISTILLERY_LAKE_TABLE: 'lake', DISTILLERY_TASKS: 'invoice-approval', DISTILLERY_STATE_TABLE: 'state', DISTILLERY_EVENT_BUS: 'erp' });
    const { ingestBatch } = await import('../../lambdas/handlers/ingest.js');
    const lake = new MemoryLake();
    const letters: DeadLetter[] = [];
    const deps = { validator: new EventValidator([task]), lake, deadLetters: { put: async (l: DeadLetter[]) => void letters.push(...l), count: async () => letters.length }, clock: { now: () => new Date('2025-01-01T00:00:00Z') } };
    const posted = (id: string) => ({ source: 'erp.sap', 'detail-type': 'Invoice.Posted', detail: { entityId: id, version: 1, occurredAt: '2025-01-01T00:00:00Z', data: { vendorId: 'V1', amount: 10, currency: 'EUR' } } });
    const record = (messageId: string, body: string) => ({ messageId, body }) as SQSEvent['Records'][number];
    // WHEN a batch holds two good events, one body that is not JSON and one event the schema refuses
    const r = await ingestBatch({ Records: [
      record('m1', JSON.stringify(posted('INV-1'))),
      record('m2', '{not json'),
      record('m3', JSON.stringify({ ...posted('INV-3'), detail: { ...posted('INV-3').detail, version: 'seven' } })),
      record('m4', JSON.stringify(posted('INV-4'))),
    ] }, deps);
    // THEN only m2 and m3 are failures, both dead-lettered with a reason, and the good ones are stored
    expect(r.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['m2', 'm3']);
    expect([...lake.rows.keys()].sort()).toEqual(['invoice-approval#INV-1#in', 'invoice-approval#INV-4#in']);
    expect(letters.map((l) => l.reason)).toEqual([expect.stringMatching(/^message body is not JSON/), expect.stringMatching(/detail\.version: must be integer/)]);
  });

  it('requests one retrain when a task has gathered enough new labels, however the batches race', async () => {
    Object.assign(process.env, { DISTILLERY_BUCKET: 'bkt', DISTILLERY_LAKE_TABLE: 'lake', DISTILLERY_TASKS: 'invoice-approval', DISTILLERY_STATE_TABLE: 'state', DISTILLERY_EVENT_BUS: 'erp' });
    const { ingestBatch } = await import('../../lambdas/handlers/ingest.js');
    // GIVEN a task that retrains every 500 new labels, and a counter shared by concurrent Lambdas
    let count = 0;
    const counter = {
      add: async (_t: string, n: number) => (count += n),
      claim: async (_t: string, threshold: number) => (count >= threshold ? ((count -= threshold), true) : false),
    };
    const published: SystemEvent[] = [];
    const lake = new MemoryLake();
    const deps = {
      validator: new EventValidator([task]), lake, deadLetters: { put: async () => {}, count: async () => 0 }, clock: { now: () => new Date('2025-01-01T00:00:00Z') },
      retrain: { tasks: [task], counter, publisher: { publish: async (e: SystemEvent[]) => void published.push(...e) } },
    };
    const approved = (id: string) => ({ source: 'erp.sap', 'detail-type': 'Invoice.Approved', detail: { entityId: id, version: 2, occurredAt: '2025-01-02T00:00:00Z', data: {} } });
    const batch = (from: number, n: number) => ({
      Records: Array.from({ length: n }, (_, i) => ({ messageId: `m${from + i}`, body: JSON.stringify(approved(`INV-${from + i}`)) }) as SQSEvent['Records'][number]),
    });
    // WHEN 300 labels arrive, then two batches of 150 together, then the first batch is re-driven
    await ingestBatch(batch(0, 300), deps);
    expect(published).toHaveLength(0);
    await Promise.all([ingestBatch(batch(300, 150), deps), ingestBatch(batch(450, 150), deps)]);
    await ingestBatch(batch(0, 300), deps);
    // THEN exactly one RetrainRequested went out, and re-driven duplicates added nothing
    expect(published).toEqual([{ source: 'distillery', detailType: 'RetrainRequested', detail: { task: 'invoice-approval', reason: expect.stringContaining('threshold 500') } }]);
    expect(count).toBe(100);
  });
});
