import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { DockerImageAsset, Platform } from 'aws-cdk-lib/aws-ecr-assets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { REPO_ROOT } from './distillery-function.js';

/** The context flag that points the stack at an existing training image instead of building one. */
export const TRAINING_IMAGE_URI_CONTEXT = 'trainingImageUri';

const ECR_URI = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9][a-z0-9._/-]*)(?::[\w][\w.-]{0,127}|@sha256:[a-f0-9]{64})$/;

export interface TrainingImageProps {
  /**
   * An existing image in ECR (`<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>` or `@sha256:…`).
   * @default - build `containers/trainer` for linux/amd64 as a Docker image asset (Docker needed at deploy)
   */
  readonly imageUri?: string;
  /** Folder with the trainer's Dockerfile. @default `<repo>/containers/trainer` */
  readonly directory?: string;
}

/** The trainer image SageMaker runs: built from containers/trainer, or an existing ECR image. */
export class TrainingImage extends Construct {
  readonly imageUri: string;
  /** Set on the default path only. */
  readonly asset?: DockerImageAsset;
  private readonly repository: ecr.IRepository;

  constructor(scope: Construct, id: string, props: TrainingImageProps = {}) {
    super(scope, id);
    if (props.imageUri !== undefined) {
      const m = ECR_URI.exec(props.imageUri);
      if (!m) {
        throw new Error(
          `${id}: ${TRAINING_IMAGE_URI_CONTEXT} must be an ECR image URI <account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag> (SageMaker pulls only from ECR), got '${props.imageUri}'`,
        );
      }
      const [, account, region, repositoryName] = m;
      this.imageUri = props.imageUri;
      const partition = region.startsWith('cn-') ? 'aws-cn' : Stack.of(this).partition;
      this.repository = ecr.Repository.fromRepositoryAttributes(this, 'Repository', {
        repositoryArn: `arn:${partition}:ecr:${region}:${account}:repository/${repositoryName}`,
        repositoryName,
      });
    } else {
      this.asset = new DockerImageAsset(this, 'Asset', {
        directory: props.directory ?? join(REPO_ROOT, 'containers', 'trainer'),
        platform: Platform.LINUX_AMD64,
        exclude: ['tests', '**/__pycache__', '.pytest_cache', 'run-tests.sh'],
      });
      this.imageUri = this.asset.imageUri;
      this.repository = this.asset.repository;
    }
  }

  /** Lets `grantee` pull the image (ECR layer reads + GetAuthorizationToken). */
  grantPull(grantee: iam.IGrantable): iam.Grant {
    return this.repository.grantPull(grantee);
  }
}
