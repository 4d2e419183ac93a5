/**
 * Training jobs on SageMaker. `run` STARTS the job and returns: the job's "Training Job State Change"
 * event drives the next step (lambdas/core/orchestrator.ts). Job names come from the run, so a
 * repeated start meets SageMaker's ResourceInUse and is treated as already started, never as a
 * second job. `collect` unpacks a completed job's model.tar.gz to the job's `outputKey`.
 */
import { gunzipSync } from 'node:zlib';
import { CreateTrainingJobCommand, type CreateTrainingJobRequest, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { TrainerLauncher, TrainingJob } from '../ports/index.js';
import type { S3BlobStore } from './s3-blob-store.js';
import { DEFAULT_INSTANCE_TYPE, DEFAULT_MAX_RUNTIME_SEC, LAYOUT } from './config.js';

export interface SageMakerLauncherOptions {
  task: string;
  image: string;
  roleArn: string;
  /** Task → instance type; tasks not named get `ml.g5.xlarge`. */
  instanceTypes?: Record<string, string>;
  maxRuntimeSec?: number;
  useSpot?: boolean;
  volumeSizeGiB?: number;
}

const JOB_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/** Where SageMaker puts a job's packed /opt/ml/model: `<S3OutputPath>/<job>/output/model.tar.gz`. */
export function sagemakerOutputPrefix(job: TrainingJob): string {
  return `${job.outputKey.replace(/\/[^/]+$/, '')}/${LAYOUT.sagemakerOutput}/`;
}

export function createTrainingJobRequest(job: TrainingJob, blobs: Pick<S3BlobStore, 'uriOf'>, o: SageMakerLauncherOptions): CreateTrainingJobRequest {
  if (!JOB_NAME.test(job.name)) throw new Error(`training job name "${job.name}" is not valid for SageMaker (≤ 63 letters, digits, hyphens)`);
  const maxRuntime = o.maxRuntimeSec ?? DEFAULT_MAX_RUNTIME_SEC;
  const dir = (k: string) => blobs.uriOf(k.endsWith('/') ? k : `${k}/`);
  return {
    TrainingJobName: job.name,
    AlgorithmSpecification: { TrainingImage: o.image, TrainingInputMode: 'File' },
    RoleArn: o.roleArn,
    HyperParameters: Object.fromEntries(Object.entries(job.hyperparameters).map(([k, v]) => [k, String(v)])),
    InputDataConfig: Object.entries(job.channels).map(([ChannelName, key]) => ({
      ChannelName,
      DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: dir(key), S3DataDistributionType: 'FullyReplicated' } },
    })),
    OutputDataConfig: { S3OutputPath: dir(sagemakerOutputPrefix(job)) },
    ResourceConfig: { InstanceType: (o.instanceTypes?.[o.task] ?? DEFAULT_INSTANCE_TYPE) as never, InstanceCount: 1, VolumeSizeInGB: o.volumeSizeGiB ?? 50 },
    StoppingCondition: o.useSpot ? { MaxRuntimeInSeconds: maxRuntime, MaxWaitTimeInSeconds: maxRuntime * 2 } : { MaxRuntimeInSeconds: maxRuntime },
    ...(o.useSpot
      ? { EnableManagedSpotTraining: true, CheckpointConfig: { S3Uri: dir(`${LAYOUT.checkpoints}${job.name}`), LocalPath: '/opt/ml/checkpoints' } }
      : {}),
    Tags: [
      { Key: 'distillery:task', Value: o.task },
      { Key: 'distillery:phase', Value: job.phase },
    ],
  };
}

export class SageMakerLauncher implements TrainerLauncher {
  constructor(
    private readonly client: SageMakerClient,
    private readonly blobs: S3BlobStore,
    private readonly opts: SageMakerLauncherOptions,
  ) {}

  /** Starts the job and returns; resolves too when a job of that name already exists (a repeated start). */
  async run(job: TrainingJob): Promise<void> {
    try {
      await this.client.send(new CreateTrainingJobCommand(createTrainingJobRequest(job, this.blobs, this.opts)));
    } catch (err) {
      if ((err as Error).name === 'ResourceInUse') return;
      throw err;
    }
  }

  /** Unpacks `model.tar.gz` of a completed job into `<outputKey>/<file>`, as the embedded trainer leaves it. */
  async collect(job: TrainingJob): Promise<string[]> {
    const packed = await this.blobs.get(`${sagemakerOutputPrefix(job)}${job.name}/output/model.tar.gz`);
    const written: string[] = [];
    for (const [name, data] of untar(gunzipSync(packed))) {
      const key = `${job.outputKey}/${name}`;
      await this.blobs.put(key, data);
      written.push(key);
    }
    return written;
  }
}

/** Regular files of a ustar archive (SageMaker's model.tar.gz), with paths relative to its root. */
export function untar(buf: Buffer): [string, Buffer][] {
  const files: [string, Buffer][] = [];
  let longName: string | undefined;
  for (let off = 0; off + 512 <= buf.length; ) {
    const header = buf.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const field = (a: number, n: number) => header.subarray(a, a + n).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1) || '0';
    const prefix = field(345, 155);
    const data = buf.subarray(off + 512, off + 512 + size);
    let name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = undefined;
    if (type === 'L') longName = data.toString('utf8').replace(/\0.*$/s, '');
    else if (type === '0' || type === '\0') {
      name = name.replace(/^\.\//, '');
      if (name.split('/').includes('..') || name.startsWith('/')) throw new Error(`model.tar.gz holds an unsafe path: ${name}`);
      files.push([name, Buffer.from(data)]);
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}
