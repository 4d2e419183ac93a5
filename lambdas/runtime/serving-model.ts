/**
 * The production model of a task, as the inference Lambda serves it: found through the registry,
 * verified by sha256, loaded once (cold start) and kept; re-checked against the registry at most
 * every `refreshSec` so a promotion or rollback reaches warm Lambdas too.
 */
import { createHash } from 'node:crypto';
import { NotFoundError } from '../core/errors.js';
import { batchOf } from '../core/batch.js';
import { Featurizer, type FeaturizerState, type RawRecord } from '../core/featurizer.js';
import type { BlobStore, ModelRegistry } from '../ports/index.js';
import { OnnxModel } from './onnx-model.js';

export interface BundleManifest {
  task: string;
  kind: string;
  version: number;
  labels: string[];
  featurizer: FeaturizerState & { denseDim: number };
  served: string;
  files: Record<string, { sha256: string; bytes: number }>;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

export class ServingModel {
  private constructor(
    readonly manifest: BundleManifest,
    readonly featurizer: Featurizer,
    readonly model: OnnxModel,
    readonly loadedAt: Date,
  ) {}

  static async load(blobs: BlobStore, bundleKey: string): Promise<ServingModel> {
    const manifest = JSON.parse((await blobs.get(`${bundleKey}/manifest.json`)).toString('utf8')) as BundleManifest;
    const bytes = await blobs.get(`${bundleKey}/${manifest.served}`);
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== manifest.files[manifest.served]?.sha256) {
      throw new Error(`model file ${bundleKey}/${manifest.served} has sha256 ${sha}, the manifest says ${manifest.files[manifest.served]?.sha256}: refusing to serve it`);
    }
    return new ServingModel(manifest, Featurizer.restore(manifest.featurizer), await OnnxModel.load(bytes), new Date());
  }

  async predict(records: readonly RawRecord[]): Promise<Float32Array> {
    const { denseDim, maxTokens } = this.manifest.featurizer;
    const batch = batchOf(records.map((r) => this.featurizer.transform(r)), denseDim, maxTokens);
    return (await this.model.predict(batch)).probabilities;
  }
}

export class ModelCache {
  private readonly entries = new Map<string, { model: ServingModel; version: number; checkedAt: number }>();
  /** One registry check / load per task at a time: concurrent requests share it (single flight). */
  private readonly pending = new Map<string, Promise<ServingModel>>();

  constructor(
    private readonly registry: ModelRegistry,
    private readonly blobs: BlobStore,
    private readonly refreshSec = 60,
    private readonly now: () => number = Date.now,
    /** A replaced session is released this long after the swap, when requests still using it are done. */
    private readonly releaseDelayMs = 30_000,
    private readonly load: (blobs: BlobStore, bundleKey: string) => Promise<ServingModel> = ServingModel.load,
  ) {}

  async get(task: string): Promise<ServingModel> {
    const hit = this.entries.get(task);
    if (hit && this.now() - hit.checkedAt < this.refreshSec * 1000) return hit.model;
    let flight = this.pending.get(task);
    if (!flight) {
      flight = this.refresh(task).finally(() => this.pending.delete(task));
      this.pending.set(task, flight);
    }
    return flight;
  }

  private async refresh(task: string): Promise<ServingModel> {
    const hit = this.entries.get(task);
    const prod = await this.registry.production(task);
    if (!prod) {
      if (hit) return hit.model;
      throw new NotFoundError(`task ${task} has no production model yet; train one with: distillery train --task ${task}`, 'no_model');
    }
    if (hit && hit.version === prod.version) {
      hit.checkedAt = this.now();
      return hit.model;
    }
    const model = await this.load(this.blobs, prod.bundleKey);
    this.entries.set(task, { model, version: prod.version, checkedAt: this.now() });
    if (hit) setTimeout(() => void hit.model.model.release().catch(() => {}), this.releaseDelayMs).unref();
    return model;
  }
}
