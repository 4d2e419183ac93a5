import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';
import { PREFIX, type DistilleryBucket } from './distillery-bucket.js';
import type { TrainingImage } from './training-image.js';

export interface SageMakerExecutionRoleProps {
  readonly bucket: DistilleryBucket;
  readonly image: TrainingImage;
}

const SAGEMAKER = 'sagemaker.amazonaws.com';

/**
 * The role SageMaker training jobs run as: read datasets and earlier run outputs, write run outputs
 * and checkpoints, pull the training image, write job logs and metrics. Nothing else.
 */
export class SageMakerExecutionRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: SageMakerExecutionRoleProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal(SAGEMAKER),
      description: 'ERP Distillery training jobs',
    });
    props.bucket.grantReadPrefixes(this.role, [PREFIX.datasets]);
    props.bucket.grantReadWritePrefixes(this.role, [PREFIX.runs, PREFIX.checkpoints]);
    props.image.grantPull(this.role);
    const logGroupArn = stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '/aws/sagemaker/TrainingJobs', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    this.role.addToPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resources: [logGroupArn, `${logGroupArn}:log-stream:*`],
    }));
    this.role.addToPolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/TrainingJobs' } },
    }));
    acknowledge(this.role, [
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/TrainingJobs:log-stream:*]`,
        reason: 'SageMaker names one log stream per job; the wildcard stays inside its TrainingJobs log group.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'cloudwatch:PutMetricData and ecr:GetAuthorizationToken have no resource type; PutMetricData is limited by condition to the /aws/sagemaker/TrainingJobs namespace.',
      },
    ]);
  }

  /**
   * Lets `grantee` pass this role, and only this role, and only to SageMaker
   * (`iam:PassedToService = sagemaker.amazonaws.com`).
   */
  grantPassRole(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['iam:PassRole'],
      resourceArns: [this.role.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': SAGEMAKER } },
    });
  }
}
