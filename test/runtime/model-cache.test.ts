import { ModelCache, type ServingModel } from '../../lambdas/runtime/serving-model.js';
import type { ModelRecord, ModelRegistry } from '../../lambdas/ports/index.js';

function fakes() {
  let version = 1;
  const registry = {
    production: async (task: string) => ({ task, version, bundleKey: `models/${task}/${version}` }) as ModelRecord,
  } as unknown as ModelRegistry;
  const loads: string[] = [];
  const released: string[] = [];
  const load = async (_b: unknown, key: string) => {
    loads.push(key);
    await new Promise((r) => setTimeout(r, 20)); // a real load takes a while: requests pile up meanwhile
    return { key, model: { release: async () => void released.push(key) } } as unknown as ServingModel;
  };
  return { registry, loads, released, load, promote: () => version++ };
}

describe('ModelCache', () => {
  it('loads a model once however many requests arrive together, and swaps without breaking requests in flight', async () => {
    const f = fakes();
    let now = 0;
    const cache = new ModelCache(f.registry, {} as never, 5, () => now, 10, f.load);
    // GIVEN 50 concurrent first requests
    const first = await Promise.all(Array.from({ length: 50 }, () => cache.get('t')));
    // THEN one load served them all
    expect(f.loads).toEqual(['models/t/1']);
    expect(new Set(first).size).toBe(1);
    // WHEN a new version is promoted and the refresh window passes, 50 requests arrive together
    f.promote();
    now += 6000;
    const second = await Promise.all(Array.from({ length: 50 }, () => cache.get('t')));
    expect(f.loads).toEqual(['models/t/1', 'models/t/2']);
    expect(new Set(second).size).toBe(1);
    // the old session is released only after the grace delay, never under a request
    expect(f.released).toEqual([]);
    await new Promise((r) => setTimeout(r, 30));
    expect(f.released).toEqual(['models/t/1']);
  });

  it('answers 404 no_model for a task without a production model', async () => {
    const registry = { production: async () => undefined } as unknown as ModelRegistry;
    const cache = new ModelCache(registry, {} as never);
    await expect(cache.get('x')).rejects.toMatchObject({ statusCode: 404, code: 'no_model' });
  });
});
