/**
 * Ports: the only ways the core talks to the world. AWS adapters and embedded adapters implement
 * them; the core never imports an SDK or reads the environment.
 */
import type { ErpEvent } from '../core/events.js';

export interface BlobStore {
  put(key: string, data: Buffer | string): Promise<void>;
  get(key: string): Promise<Buffer>;
  exists(key: string): Promise<boolean>;
  list(prefix: string): Promise<string[]>;
}

export interface InputRecord {
  entityId: string;
  version: number;
  occurredAt: string;
  source: string;
  data: Record<string, unknown>;
}

export interface OutcomeRecord {
  entityId: string;
  version: number;
  occurredAt: string;
  source: string;
  detailType: string;
  label: string;
}

/** What became of one event: stored, an exact repeat, or older than what is already stored. */
export type PutResult = 'stored' | 'duplicate' | 'stale';

export interface LabelledExample {
  entityId: string;
  occurredAt: string;
  data: Record<string, unknown>;
  label: string;
  labelledAt: string;
}

/** The lake keeps inputs and outcomes apart; the snapshot joins them (either arrival order). */
export interface Lake {
  putInput(task: string, r: InputRecord): Promise<PutResult>;
  putOutcome(task: string, r: OutcomeRecord): Promise<PutResult>;
  labelled(task: string): Promise<LabelledExample[]>;
  counts(task: string): Promise<{ inputs: number; outcomes: number; labelled: number }>;
}

export interface DeadLetter {
  at: string;
  reason: string;
  event: unknown;
  origin?: string;
}

export interface DeadLetterStore {
  put(letters: DeadLetter[]): Promise<void>;
  count(): Promise<number>;
}

export type ModelStatus = 'candidate' | 'shadow' | 'canary' | 'production' | 'retired' | 'rejected';

export interface ModelRecord {
  task: string;
  version: number;
  status: ModelStatus;
  bundleKey: string;
  metrics: Record<string, unknown>;
  gate: { passed: boolean; reasons: string[] };
  lineage: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface ModelRegistry {
  nextVersion(task: string): Promise<number>;
  put(record: ModelRecord): Promise<void>;
  get(task: string, version: number): Promise<ModelRecord | undefined>;
  list(task?: string): Promise<ModelRecord[]>;
  production(task: string): Promise<ModelRecord | undefined>;
  /** Makes `version` production and retires the one it replaces, atomically. */
  promote(task: string, version: number, at: string): Promise<void>;
  setStatus(task: string, version: number, status: ModelStatus, at: string): Promise<void>;
}

export interface SystemEvent {
  source: 'distillery';
  detailType: string;
  detail: Record<string, unknown>;
}

export interface EventPublisher {
  publish(events: SystemEvent[]): Promise<void>;
}

export interface TrainingJob {
  /** Unique per run; valid as a SageMaker job name. */
  name: string;
  phase: 'teacher' | 'student';
  /** Channel name → blob key prefix. */
  channels: Record<string, string>;
  hyperparameters: Record<string, string>;
  /** Blob key prefix where the job's model output lands. */
  outputKey: string;
}

export interface TrainingProgress {
  phase: string;
  model?: string;
  epoch?: number;
  epochs?: number;
  loss?: number;
  valAccuracy?: number;
  seconds?: number;
}

export interface TrainerLauncher {
  /** Runs (or starts) a job; resolves when it has finished, rejects with the trainer's failure reason. */
  run(job: TrainingJob, onProgress?: (p: TrainingProgress) => void): Promise<void>;
}

/** Per-task count of labels stored since the last retraining request. */
export interface RetrainCounter {
  /** Adds n and returns the new count. */
  add(task: string, n: number): Promise<number>;
  /** Takes `threshold` off the count if it is still at least that much; true only for the caller that took it. */
  claim(task: string, threshold: number): Promise<boolean>;
}

export interface Clock {
  now(): Date;
}

export type { ErpEvent };
