// Jest runs tests in their own VM realm, so a Float32Array made there is not `instanceof` the
// Float32Array that onnxruntime-node's native binding checks against. Sharing the host realm's
// typed-array constructors makes real onnxruntime sessions work inside jest.
const { TestEnvironment } = require('jest-environment-node');

const SHARED = ['ArrayBuffer', 'Uint8Array', 'Int8Array', 'Uint16Array', 'Int16Array', 'Uint32Array', 'Int32Array',
  'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'];

class OnnxFriendlyEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = OnnxFriendlyEnvironment;
