import { Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/** One cdk-nag rule (or one finding, `Rule[Finding]`) accepted on purpose, and why. */
export interface NagAcknowledgment {
  readonly id: string;
  readonly reason: string;
}

/**
 * Records acknowledged cdk-nag findings on `scope` (and so on everything under it). cdk-nag v3 reads
 * CDK's native acknowledgments; a finding id must match exactly, e.g. `AwsSolutions-IAM5[Action::s3:List*]`.
 */
export function acknowledge(scope: IConstruct, rules: readonly NagAcknowledgment[]): void {
  for (const r of rules) {
    if (!r.reason || r.reason.length < 20) throw new Error(`cdk-nag acknowledgment ${r.id} needs a written reason (≥ 20 characters)`);
  }
  Validations.of(scope).acknowledge(...rules);
}

/** Acknowledges findings on the principal behind `grantee` (its policies sit under it), when it is a construct. */
export function acknowledgeOnGrantee(grantee: IGrantable, rules: readonly NagAcknowledgment[]): void {
  const principal = grantee.grantPrincipal as unknown;
  if (principal && typeof principal === 'object' && 'node' in principal) acknowledge(principal as IConstruct, rules);
}

/** The `<LogicalId.Arn>` form cdk-nag uses for a resource's ARN inside a finding id. */
export function arnRef(resource: CfnElement): string {
  return `<${Stack.of(resource).getLogicalId(resource)}.Arn>`;
}
