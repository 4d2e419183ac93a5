import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { schemasOfTask } from '../../lambdas/core/events.js';
import { REPO_ROOT } from '../../lambdas/cli/real.js';
import { builtInTasks } from '../../lambdas/tasks/index.js';

describe('published contracts', () => {
  it('schemas/ holds exactly the JSON Schemas the tasks validate with (regenerate: distillery schemas --out schemas)', () => {
    const generated: Record<string, object> = {};
    for (const t of builtInTasks) Object.assign(generated, schemasOfTask(t));
    const files = readdirSync(join(REPO_ROOT, 'schemas')).filter((f) => f.endsWith('.json')).sort();
    expect(files).toEqual(Object.keys(generated).map((k) => `${k}.json`).sort());
    for (const [kind, schema] of Object.entries(generated)) {
      expect(JSON.parse(readFileSync(join(REPO_ROOT, 'schemas', `${kind}.json`), 'utf8'))).toEqual(schema);
    }
  });

  it('the OpenAPI document names every task and every error code the handler sends', () => {
    const doc = JSON.parse(readFileSync(join(REPO_ROOT, 'docs', 'openapi.json'), 'utf8'));
    expect(doc.components.parameters.task.schema.enum.sort()).toEqual(builtInTasks.map((t) => t.name).sort());
    const codes: string[] = doc.components.schemas.Error.properties.error.properties.code.enum;
    const sources = ['lambdas/core/predict.ts', 'lambdas/core/errors.ts', 'lambdas/handlers/predict.ts', 'lambdas/runtime/serving-model.ts', 'lambdas/handlers/http-errors.ts']
      .map((f) => readFileSync(join(REPO_ROOT, f), 'utf8')).join('\n');
    const used = new Set([...sources.matchAll(/'([a-z]+_[a-z_]+)'/g)].map((m) => m[1]).filter((c) => /^(invalid|empty|payload|not|no|unknown|method|internal)_/.test(c)));
    for (const c of used) expect(codes).toContain(c);
    expect(Object.keys(doc.paths)).toEqual(['/tasks/{task}/predict', '/tasks/{task}']);
  });
});
