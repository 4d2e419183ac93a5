import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledgeOnGrantee, arnRef } from './nag.js';
import { INDEX } from '../lambdas/aws/config.js';

export interface DistilleryTablesProps {
  /** What happens to the tables when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The three DynamoDB tables of lambdas/aws/config.ts: the model registry, the lake (GSI `byTask`) and
 * run state with the per-task counters. On-demand, point-in-time recovery, encrypted at rest.
 */
export class DistilleryTables extends Construct {
  /** pk `task` (S), sk `version` (N). */
  readonly registry: dynamodb.Table;
  /** pk `pk` (S) = `<task>#<entityId>`, sk `sk` (S); GSI `byTask`: `task` (S) / `occurredAt` (S). */
  readonly lake: dynamodb.Table;
  /** pk `pk` (S), sk `sk` (S). */
  readonly state: dynamodb.Table;

  constructor(scope: Construct, id: string, props: DistilleryTablesProps = {}) {
    super(scope, id);
    const common = {
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    };
    const S = dynamodb.AttributeType.STRING;
    this.registry = new dynamodb.Table(this, 'Registry', {
      ...common,
      partitionKey: { name: 'task', type: S },
      sortKey: { name: 'version', type: dynamodb.AttributeType.NUMBER },
    });
    this.lake = new dynamodb.Table(this, 'Lake', { ...common, partitionKey: { name: 'pk', type: S }, sortKey: { name: 'sk', type: S } });
    this.lake.addGlobalSecondaryIndex({
      indexName: INDEX.lakeByTask,
      partitionKey: { name: 'task', type: S },
      sortKey: { name: 'occurredAt', type: S },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    this.state = new dynamodb.Table(this, 'State', { ...common, partitionKey: { name: 'pk', type: S }, sortKey: { name: 'sk', type: S } });
  }

  /** Read the lake and query its `byTask` index. */
  grantLakeRead(grantee: iam.IGrantable): iam.Grant {
    this.acknowledgeLakeIndex(grantee);
    return this.lake.grantReadData(grantee);
  }

  /** Read and write the lake, including its index. */
  grantLakeReadWrite(grantee: iam.IGrantable): iam.Grant {
    this.acknowledgeLakeIndex(grantee);
    return this.lake.grantReadWriteData(grantee);
  }

  private acknowledgeLakeIndex(grantee: iam.IGrantable): void {
    acknowledgeOnGrantee(grantee, [{
      id: `AwsSolutions-IAM5[Resource::${arnRef(this.lake.node.defaultChild as dynamodb.CfnTable)}/index/*]`,
      reason: 'The lake grant covers its own indexes (byTask), which the snapshot queries; nothing outside the lake table.',
    }]);
  }
}
