import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNpy, encodeNpy } from '../../lambdas/core/npy.js';
import { findPython } from '../../lambdas/embedded/python.js';

describe('npy', () => {
  it('round-trips float32, int32 and int64 with a 64-byte aligned header', () => {
    const f = encodeNpy(Float32Array.from([1.5, -2, 3.25, 0]), [2, 2]);
    expect((f.readUInt16LE(8) + 10) % 64).toBe(0);
    const back = decodeNpy(f);
    expect(back.shape).toEqual([2, 2]);
    expect(Array.from(back.data as Float32Array)).toEqual([1.5, -2, 3.25, 0]);
    expect(decodeNpy(encodeNpy(BigInt64Array.from([5n, 7n]), [2])).data).toEqual(BigInt64Array.from([5n, 7n]));
    expect(() => encodeNpy(Int32Array.from([1, 2, 3]), [2, 2])).toThrow('needs 4 values');
  });

  it('is read by numpy.load', () => {
    const dir = mkdtempSync(join(tmpdir(), 'npy-'));
    writeFileSync(join(dir, 'a.npy'), encodeNpy(Int32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]));
    writeFileSync(join(dir, 'b.npy'), encodeNpy(new Float32Array(0), [0, 0]));
    const py = findPython();
    const out = execFileSync(py, ['-c', `import numpy as np; a=np.load('${dir}/a.npy'); b=np.load('${dir}/b.npy'); print(a.dtype, a.shape, int(a.sum()), a[1,2], b.shape)`], { encoding: 'utf8' });
    expect(out.trim()).toBe('int32 (2, 3) 21 6 (0, 0)');
  });
});
