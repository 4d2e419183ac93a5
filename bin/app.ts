/**
 * CDK app entry: `npx cdk synth` / `npx cdk deploy` (see cdk.json). Configuration comes from CDK
 * context only (lib/app-context.ts CONTEXT); the stack is environment-agnostic, so synth needs no AWS
 * credentials. Without `-c trainingImageUri=<ECR URI>` the trainer image is built from
 * containers/trainer at deploy time, which needs Docker.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stackPropsFromContext } from '../lib/app-context.js';
import { DistilleryStack } from '../lib/distillery-stack.js';

const app = new App();
const { stackName, nag, ...props } = stackPropsFromContext((key) => app.node.tryGetContext(key));
new DistilleryStack(app, stackName, { ...props, description: 'ERP Distillery: ERP events in, distilled ONNX models served over HTTPS.' });
if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
