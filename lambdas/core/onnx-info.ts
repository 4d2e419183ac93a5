/**
 * Reads what the registry records about an ONNX file without a protobuf library: IR version, opset
 * imports, operator types, and each initializer's name, element type and size. Enough to prove a
 * graph holds int8 weights and no pruning leftovers (`*_orig`, `*_mask`).
 */

export interface OnnxInfo {
  irVersion: number;
  opsets: Record<string, number>;
  ops: Record<string, number>;
  initializers: { name: string; dataType: string; elements: number }[];
}

// TensorProto.DataType
const DATA_TYPES: Record<number, string> = { 1: 'float32', 2: 'uint8', 3: 'int8', 5: 'int16', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64' };

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly end = buf.length) {}
  varint(): number {
    let result = 0, shift = 0, b: number;
    do {
      b = this.buf[this.pos++];
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return result;
  }
  /** Calls f(field, wireType, reader-of-payload | value) for each field until `end`. */
  fields(f: (field: number, wire: number, sub: Reader | undefined, value: number) => void): void {
    while (this.pos < this.end) {
      const key = this.varint();
      const field = Math.floor(key / 8), wire = key & 7;
      if (wire === 0) f(field, wire, undefined, this.varint());
      else if (wire === 1) this.pos += 8;
      else if (wire === 5) this.pos += 4;
      else if (wire === 2) {
        const len = this.varint();
        const sub = new Reader(this.buf, this.pos + len);
        sub.pos = this.pos;
        f(field, wire, sub, len);
        this.pos += len;
      } else throw new Error(`onnx: unsupported protobuf wire type ${wire}`);
    }
  }
  string(): string {
    return Buffer.from(this.buf.subarray(this.pos, this.end)).toString('utf8');
  }
}

export function onnxInfo(bytes: Uint8Array): OnnxInfo {
  const info: OnnxInfo = { irVersion: 0, opsets: {}, ops: {}, initializers: [] };
  new Reader(bytes).fields((field, _wire, sub, value) => {
    if (field === 1 && !sub) info.irVersion = value;
    else if (field === 8 && sub) {
      let domain = '', version = 0;
      sub.fields((f, _w, s, v) => {
        if (f === 1 && s) domain = s.string();
        else if (f === 2 && !s) version = v;
      });
      info.opsets[domain || 'ai.onnx'] = version;
    } else if (field === 7 && sub) {
      sub.fields((f, _w, s) => {
        if (f === 1 && s) {
          s.fields((nf, _nw, ns) => {
            if (nf === 4 && ns) {
              const op = ns.string();
              info.ops[op] = (info.ops[op] ?? 0) + 1;
            }
          });
        } else if (f === 5 && s) {
          let name = '', dataType = 'unknown', elements = 1;
          s.fields((tf, tw, ts, tv) => {
            if (tf === 1) {
              // dims: packed (wire 2) or one varint per dim
              if (ts) while (ts.pos < ts.end) elements *= ts.varint();
              else elements *= tv;
            } else if (tf === 2 && !ts) dataType = DATA_TYPES[tv] ?? `type${tv}`;
            else if (tf === 8 && ts) name = ts.string();
          });
          info.initializers.push({ name, dataType, elements });
        }
      });
    }
  });
  return info;
}

/** Names that only unfinished pruning leaves in a graph. */
export function pruningLeftovers(info: OnnxInfo): string[] {
  return info.initializers.map((i) => i.name).filter((n) => /_orig$|_mask$|weight_orig|weight_mask/.test(n));
}
