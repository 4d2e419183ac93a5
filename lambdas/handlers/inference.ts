/**
 * Inference Lambda of one task (DISTILLERY_TASK): the shared predict handler wired to S3 and the
 * DynamoDB registry. The production model loads at cold start (top-level await), not per request;
 * the cache re-checks the registry so a promotion reaches warm instances.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { ModelCache } from '../runtime/serving-model.js';
import { builtInTasks } from '../tasks/index.js';
import { ENV, requireEnv } from '../aws/config.js';
import { DynamoDbRegistry } from '../aws/dynamodb-registry.js';
import { S3BlobStore } from '../aws/s3-blob-store.js';
import { createPredictHandler } from './predict.js';

const taskName = requireEnv(ENV.task);
const task = builtInTasks.find((t) => t.name === taskName);
if (!task) throw new Error(`${ENV.task} names unknown task "${taskName}"`);

const blobs = new S3BlobStore(new S3Client({}), requireEnv(ENV.bucket));
const registry = new DynamoDbRegistry(DynamoDBDocumentClient.from(new DynamoDBClient({})), requireEnv(ENV.registryTable));
export const models = new ModelCache(registry, blobs, 60);

// Warm-up at cold start; a task with no production model yet still starts and answers 404 no_model.
await models.get(task.name).catch((err: Error) => console.warn(`inference: no model loaded at cold start for ${task.name}: ${err.message}`));

export const handler = createPredictHandler({ tasks: [task], models, log: (m) => console.error(m) });
