/**
 * The inference Lambda: POST /tasks/{task}/predict and GET /tasks/{task}. The business flow is
 * `functionHandler`; middy adds the error mapping. Models load once per task and stay warm.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { MethodNotAllowedError, NotFoundError } from '../core/errors.js';
import { parsePredictRequest, toPredictions, LIMITS } from '../core/predict.js';
import type { TaskDefinition } from '../core/task.js';
import type { ModelCache } from '../runtime/serving-model.js';
import { httpErrors, JSON_HEADERS } from './http-errors.js';

export interface PredictDeps {
  tasks: readonly TaskDefinition[];
  models: Pick<ModelCache, 'get'>;
  limits?: typeof LIMITS;
  log?: (msg: string) => void;
}

const ROUTE = /^\/tasks\/([^/]+)(\/predict)?\/?$/;

export function createPredictHandler(deps: PredictDeps) {
  const functionHandler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyResultV2> => {
    const method = event.requestContext?.http?.method ?? 'GET';
    const path = event.rawPath ?? '/';
    const m = ROUTE.exec(path);
    if (!m) throw new NotFoundError(`no route ${path}; use POST /tasks/{task}/predict or GET /tasks/{task}`, 'no_route');
    let taskName: string;
    try {
      taskName = decodeURIComponent(event.pathParameters?.task ?? m[1]);
    } catch {
      throw new NotFoundError(`task name in ${path} is not valid percent-encoding`, 'unknown_task');
    }
    const task = deps.tasks.find((t) => t.name === taskName);
    if (!task) throw new NotFoundError(`unknown task "${taskName}"; known tasks: ${deps.tasks.map((t) => t.name).join(', ')}`, 'unknown_task');
    const predict = !!m[2];
    if (predict && method !== 'POST') throw new MethodNotAllowedError(method, ['POST']);
    if (!predict && method !== 'GET' && method !== 'HEAD') throw new MethodNotAllowedError(method, ['GET', 'HEAD']);
    const model = await deps.models.get(task.name);
    const { manifest } = model;
    if (!predict) {
      return {
        statusCode: 200,
        headers: JSON_HEADERS,
        body: JSON.stringify({
          task: task.name,
          description: task.description,
          kind: task.kind,
          model: { version: manifest.version, labels: manifest.labels, loadedAt: model.loadedAt.toISOString() },
          input: task.features.map((f) => ({ name: f.name, type: f.type, required: !!f.required })),
          limits: deps.limits ?? LIMITS,
        }),
      };
    }
    const body = event.body && event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
    const instances = parsePredictRequest(body, task.features, deps.limits);
    const probs = await model.predict(instances);
    return {
      statusCode: 200,
      headers: JSON_HEADERS,
      body: JSON.stringify({ model: { task: task.name, version: manifest.version }, predictions: toPredictions(probs, manifest.labels) }),
    };
  };
  return middy(functionHandler).use(httpErrors({ log: deps.log }));
}
