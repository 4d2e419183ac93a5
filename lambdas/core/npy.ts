/** NumPy .npy format v1.0 (readable by numpy.load), written and read from TypeScript. */

export type NpyArray = Float32Array | Int32Array | BigInt64Array;

const DTYPES: Record<string, { descr: string; ctor: { new (buf: ArrayBuffer): NpyArray; BYTES_PER_ELEMENT: number } }> = {
  Float32Array: { descr: '<f4', ctor: Float32Array },
  Int32Array: { descr: '<i4', ctor: Int32Array },
  BigInt64Array: { descr: '<i8', ctor: BigInt64Array },
};

export function encodeNpy(data: NpyArray, shape: number[]): Buffer {
  const expected = shape.reduce((a, b) => a * b, 1);
  if (expected !== data.length) throw new Error(`npy: shape [${shape}] needs ${expected} values, got ${data.length}`);
  const { descr } = DTYPES[data.constructor.name];
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // magic(6) + version(2) + len(2) + header, padded with spaces to a multiple of 64, ending in \n
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

export function decodeNpy(buf: Buffer): { data: NpyArray; shape: number[] } {
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error('npy: bad magic');
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new Error('npy: fortran order is not supported');
  const entry = Object.values(DTYPES).find((d) => d.descr === descr);
  if (!entry) throw new Error(`npy: dtype ${descr} is not supported`);
  const offset = start + headerLen;
  const bytes = buf.subarray(offset);
  const copy = new ArrayBuffer(bytes.length);
  new Uint8Array(copy).set(bytes);
  return { data: new entry.ctor(copy), shape };
}
