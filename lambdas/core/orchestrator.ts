/**
 * The training run as a state machine driven by events (DESIGN 1): `DatasetReady` starts the teacher
 * job; each "SageMaker Training Job State Change" either starts the next phase (Completed) or ends the
 * run as `ModelRejected` with the reason (Failed, Stopped — MaxRuntimeExceeded included). Pure: the
 * handler persists the state it returns and carries out its actions.
 *
 *   (none) ──DatasetReady──▶ teacher ──teacher Completed──▶ student ──student Completed──▶ evaluating
 *                               │                             │
 *                               └── Failed / Stopped ─────────┴──▶ rejected
 *
 * Events can repeat and arrive out of order: an event for a job that is not the run's current job,
 * a status that is not final, or any event once the run has moved on, decides nothing.
 */
import { phaseCompleted, runOfDatasetReady, studentJob, teacherJob, type RunRef } from './train-run.js';
import type { TaskDefinition } from './task.js';
import type { Clock, EventPublisher, SystemEvent, TrainerLauncher, TrainingJob } from '../ports/index.js';

export interface RunStateStore {
  byRun(task: string, snapshotId: string): Promise<RunState | undefined>;
  byJob(jobName: string): Promise<RunState | undefined>;
  /** Writes `next` only if the stored revision is still `expected` (0: no run yet); false when another writer won. */
  save(next: RunState, expected: number): Promise<boolean>;
}

/** `finishing`: an evaluate handler has claimed the run (bundle, evaluate, gate, registry). */
export type RunPhase = 'teacher' | 'student' | 'evaluating' | 'finishing' | 'succeeded' | 'rejected';

export interface RunState {
  run: RunRef;
  phase: RunPhase;
  jobs: { teacher: string; student: string };
  /** Bumped on every transition; the store writes a new state only over the revision it was read at. */
  revision: number;
  reason?: string;
  updatedAt: string;
}

export type OrchestratorEvent =
  | { kind: 'DatasetReady'; detail: Record<string, unknown> }
  | { kind: 'TrainingJobStateChange'; jobName: string; status: string; secondaryStatus?: string; failureReason?: string };

export type Action =
  | { type: 'startJob'; job: TrainingJob }
  | { type: 'publish'; events: SystemEvent[] }
  /** Bring a completed job's output to its `outputKey` (SageMaker packs /opt/ml/model into model.tar.gz). */
  | { type: 'collectOutput'; job: TrainingJob }
  /** Hand the run to evaluation (finishRun): bundle, evaluate, gate, registry. */
  | { type: 'evaluate'; run: RunRef; jobs: RunState['jobs'] };

export interface Decision {
  actions: Action[];
  /** The state to persist; undefined when the event changes nothing. */
  next?: RunState;
  /** Why nothing happened, for the log. */
  ignored?: string;
}

const FINAL = ['Completed', 'Failed', 'Stopped'];

/** Reads an EventBridge event (as Lambda receives it) into an orchestrator event, or undefined. */
export function toOrchestratorEvent(e: { source?: string; 'detail-type'?: string; detail?: Record<string, unknown> }): OrchestratorEvent | undefined {
  if (e.source === 'distillery' && e['detail-type'] === 'DatasetReady' && e.detail) return { kind: 'DatasetReady', detail: e.detail };
  if (e.source === 'aws.sagemaker' && e['detail-type'] === 'SageMaker Training Job State Change' && e.detail) {
    const d = e.detail;
    if (typeof d.TrainingJobName !== 'string' || typeof d.TrainingJobStatus !== 'string') return undefined;
    return {
      kind: 'TrainingJobStateChange',
      jobName: d.TrainingJobName,
      status: d.TrainingJobStatus,
      secondaryStatus: typeof d.SecondaryStatus === 'string' ? d.SecondaryStatus : undefined,
      failureReason: typeof d.FailureReason === 'string' ? d.FailureReason : undefined,
    };
  }
  return undefined;
}

export function failureReason(phase: string, e: Extract<OrchestratorEvent, { kind: 'TrainingJobStateChange' }>): string {
  const what = e.status === 'Stopped' ? 'was stopped' : 'failed';
  const why = [e.secondaryStatus && e.secondaryStatus !== e.status ? e.secondaryStatus : undefined, e.failureReason].filter(Boolean).join(': ');
  return `${phase} training job ${e.jobName} ${what}${why ? `: ${why}` : ''}`;
}

export function decide(task: TaskDefinition, state: RunState | undefined, event: OrchestratorEvent, now: Date): Decision {
  const at = now.toISOString();
  if (event.kind === 'DatasetReady') {
    if (state) return { actions: [], ignored: `run ${state.run.snapshotId} already started (phase ${state.phase})` };
    const run = runOfDatasetReady(event.detail);
    if (!run || run.task !== task.name) return { actions: [], ignored: 'DatasetReady detail names no run of this task' };
    const teacher = teacherJob(task, run), student = studentJob(task, run);
    return {
      actions: [{ type: 'startJob', job: teacher }],
      next: { run, phase: 'teacher', jobs: { teacher: teacher.name, student: student.name }, revision: 1, updatedAt: at },
    };
  }
  if (!state) return { actions: [], ignored: `job ${event.jobName} belongs to no known run` };
  const phase = state.phase;
  if (phase !== 'teacher' && phase !== 'student') return { actions: [], ignored: `run ${state.run.snapshotId} is already ${phase}` };
  if (state.jobs[phase] !== event.jobName) return { actions: [], ignored: `job ${event.jobName} is not the run's current ${phase} job` };
  if (!FINAL.includes(event.status)) return { actions: [], ignored: `job ${event.jobName} is ${event.status}` };
  const step = (p: RunPhase, extra: Partial<RunState> = {}): RunState => ({ ...state, ...extra, phase: p, revision: state.revision + 1, updatedAt: at });

  if (event.status !== 'Completed') {
    const reason = failureReason(phase, event);
    const rejected: SystemEvent = {
      source: 'distillery',
      detailType: 'ModelRejected',
      detail: { task: state.run.task, snapshotId: state.run.snapshotId, phase, job: event.jobName, status: event.status, reasons: [reason] },
    };
    return { actions: [{ type: 'publish', events: [rejected] }], next: step('rejected', { reason }) };
  }
  if (phase === 'teacher') {
    const teacher = teacherJob(task, state.run);
    return {
      actions: [{ type: 'collectOutput', job: teacher }, { type: 'publish', events: [phaseCompleted(state.run, teacher)] }, { type: 'startJob', job: studentJob(task, state.run) }],
      next: step('student'),
    };
  }
  return {
    actions: [{ type: 'collectOutput', job: studentJob(task, state.run) }, { type: 'evaluate', run: state.run, jobs: state.jobs }],
    next: step('evaluating'),
  };
}

export interface OrchestrateDeps {
  tasks: readonly TaskDefinition[];
  state: RunStateStore;
  launcher: TrainerLauncher & { collect?(job: TrainingJob): Promise<unknown> };
  publisher: EventPublisher;
  /** Hands a run whose student completed to evaluation (in AWS: the TrainingPhaseCompleted event the evaluate Lambda listens to). */
  requestEvaluation(run: RunRef, jobs: RunState['jobs']): Promise<void>;
  clock: Clock;
  log?: (line: string) => void;
}

export interface Outcome {
  decision: Decision;
  /** False when another handler moved the run on first (its save won). */
  saved: boolean;
}

/**
 * Loads the run an event belongs to, decides, carries out the actions, then saves the new state over
 * the revision it read. The actions are safe to repeat (job names come from the run, so SageMaker
 * refuses a second job of the same name), so a handler that fails half-way is simply run again; a
 * repeated event finds the run moved on and does nothing.
 */
export async function orchestrate(event: OrchestratorEvent, deps: OrchestrateDeps): Promise<Outcome> {
  const log = deps.log ?? (() => {});
  let state: RunState | undefined;
  let task: TaskDefinition | undefined;
  if (event.kind === 'DatasetReady') {
    const run = runOfDatasetReady(event.detail);
    task = run && deps.tasks.find((t) => t.name === run.task);
    if (!run || !task) return { decision: { actions: [], ignored: `DatasetReady for an unknown task or run: ${JSON.stringify(event.detail).slice(0, 200)}` }, saved: false };
    state = await deps.state.byRun(run.task, run.snapshotId);
  } else {
    state = await deps.state.byJob(event.jobName);
    task = state && deps.tasks.find((t) => t.name === state!.run.task);
    if (!state || !task) return { decision: { actions: [], ignored: `job ${event.jobName} belongs to no known run` }, saved: false };
  }
  const decision = decide(task, state, event, deps.clock.now());
  if (!decision.next) {
    log(`orchestrator: ${decision.ignored}`);
    return { decision, saved: false };
  }
  for (const a of decision.actions) {
    if (a.type === 'startJob') await deps.launcher.run(a.job);
    else if (a.type === 'collectOutput') await deps.launcher.collect?.(a.job);
    else if (a.type === 'publish') await deps.publisher.publish(a.events);
    else await deps.requestEvaluation(a.run, a.jobs);
  }
  const saved = await deps.state.save(decision.next, state?.revision ?? 0);
  log(`orchestrator: run ${decision.next.run.snapshotId} ${state?.phase ?? 'new'} → ${decision.next.phase}${saved ? '' : ' (another handler got there first)'}`);
  return { decision, saved };
}

/**
 * The evaluation step of a run whose student job completed: claims the run (evaluating → finishing)
 * so a repeated hand-over evaluates once, runs `finish` (finishRun), and records how the run ended.
 * A failure hands the run back to `evaluating`, so a retry of the same event can try again.
 */
export async function evaluateRun(
  detail: Record<string, unknown>,
  deps: { state: RunStateStore; clock: Clock; log?: (line: string) => void },
  finish: (run: RunRef, jobs: RunState['jobs']) => Promise<{ passed: boolean; version: number }>,
): Promise<{ ignored: string } | { phase: RunPhase; version: number }> {
  const run = runOfDatasetReady({ ...detail, key: detail.datasetKey ?? detail.key });
  if (!run) return { ignored: 'event names no run' };
  const state = await deps.state.byRun(run.task, run.snapshotId);
  if (!state || state.phase !== 'evaluating') return { ignored: `run ${run.snapshotId} is ${state?.phase ?? 'unknown'}, not evaluating` };
  const at = () => deps.clock.now().toISOString();
  const claimed: RunState = { ...state, phase: 'finishing', revision: state.revision + 1, updatedAt: at() };
  if (!(await deps.state.save(claimed, state.revision))) return { ignored: `run ${run.snapshotId} was claimed by another evaluation` };
  try {
    const r = await finish(state.run, state.jobs);
    const phase: RunPhase = r.passed ? 'succeeded' : 'rejected';
    await deps.state.save({ ...claimed, phase, revision: claimed.revision + 1, updatedAt: at() }, claimed.revision);
    deps.log?.(`evaluate: run ${run.snapshotId} → v${r.version} ${phase}`);
    return { phase, version: r.version };
  } catch (err) {
    await deps.state.save({ ...state, revision: claimed.revision + 1, updatedAt: at() }, claimed.revision);
    throw err;
  }
}
