import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge, acknowledgeOnGrantee, arnRef } from './nag.js';

/** Key prefixes of the one bucket (DESIGN 4.4–4.6); grants are scoped to them. */
export const PREFIX = {
  lake: 'lake/',
  datasets: 'datasets/',
  /** Trainer job outputs: `runs/<task>/<snapshotId>/<phase>/`. */
  runs: 'runs/',
  /** Managed-spot checkpoints of training jobs. */
  checkpoints: 'checkpoints/',
  models: 'models/',
  deadLetter: 'dead-letter/',
} as const;

export interface DistilleryBucketProps {
  /** Days before trainer checkpoints are deleted. @default 7 */
  readonly checkpointExpiryDays?: number;
  /** Days before trainer job outputs (`runs/`) are deleted; models are copied out of them. @default 30 */
  readonly runOutputExpiryDays?: number;
  /** Days before a dataset snapshot moves to Glacier Instant Retrieval. @default 90 */
  readonly datasetArchiveAfterDays?: number;
  /** Days before dead letters are deleted. @default 90 */
  readonly deadLetterExpiryDays?: number;
  /** Days a replaced (noncurrent) object version is kept. @default 30 */
  readonly noncurrentVersionExpiryDays?: number;
  /** What happens to the buckets when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The lake / datasets / models bucket: S3-managed encryption, TLS only, no public access, versioned,
 * lifecycle rules per prefix, server access logs to a second bucket.
 */
export class DistilleryBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: DistilleryBucketProps = {}) {
    super(scope, id);
    const days = {
      checkpointExpiryDays: props.checkpointExpiryDays ?? 7,
      runOutputExpiryDays: props.runOutputExpiryDays ?? 30,
      datasetArchiveAfterDays: props.datasetArchiveAfterDays ?? 90,
      deadLetterExpiryDays: props.deadLetterExpiryDays ?? 90,
      noncurrentVersionExpiryDays: props.noncurrentVersionExpiryDays ?? 30,
    };
    for (const [name, value] of Object.entries(days)) {
      if (!Number.isInteger(value) || value < 1) throw new Error(`${id}: ${name} must be a whole number of days ≥ 1, got ${value}`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const common = {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
    };
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      ...common,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
    });
    acknowledge(this.accessLogs, [
      { id: 'AwsSolutions-S1', reason: 'This is the access-log bucket; logging it to itself would loop.' },
    ]);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...common,
      versioned: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'distillery-bucket/',
      lifecycleRules: [
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
        { id: 'expire-noncurrent-versions', noncurrentVersionExpiration: Duration.days(days.noncurrentVersionExpiryDays) },
        { id: 'expire-checkpoints', prefix: PREFIX.checkpoints, expiration: Duration.days(days.checkpointExpiryDays) },
        { id: 'expire-trainer-outputs', prefix: PREFIX.runs, expiration: Duration.days(days.runOutputExpiryDays) },
        { id: 'expire-dead-letters', prefix: PREFIX.deadLetter, expiration: Duration.days(days.deadLetterExpiryDays) },
        {
          id: 'archive-datasets',
          prefix: PREFIX.datasets,
          transitions: [{ storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(days.datasetArchiveAfterDays) }],
        },
      ],
    });
  }

  /** Read (Get + List) under the given key prefixes. */
  grantReadPrefixes(grantee: iam.IGrantable, prefixes: readonly string[]): void {
    for (const p of prefixes) this.bucket.grantRead(grantee, `${p}*`);
    this.acknowledgePrefixGrant(grantee, prefixes, ['s3:GetObject*', 's3:GetBucket*', 's3:List*']);
  }

  /** Read and write (Get, List, Put, Delete) under the given key prefixes. */
  grantReadWritePrefixes(grantee: iam.IGrantable, prefixes: readonly string[]): void {
    for (const p of prefixes) this.bucket.grantReadWrite(grantee, `${p}*`);
    this.acknowledgePrefixGrant(grantee, prefixes, ['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*']);
  }

  private acknowledgePrefixGrant(grantee: iam.IGrantable, prefixes: readonly string[], actions: readonly string[]): void {
    const reason = 'Prefix-scoped S3 grant: object names under the prefix are made at run time (snapshot ids, versions, job names); the action wildcards are the CDK grant set (Get/List variants, multipart abort).';
    const bucketArn = arnRef(this.bucket.node.defaultChild as s3.CfnBucket);
    acknowledgeOnGrantee(grantee, [
      ...actions.map((a) => ({ id: `AwsSolutions-IAM5[Action::${a}]`, reason })),
      ...prefixes.map((p) => ({ id: `AwsSolutions-IAM5[Resource::${bucketArn}/${p}*]`, reason })),
    ]);
  }
}
