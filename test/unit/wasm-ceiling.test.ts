// The wasm ceiling's microkernel (src/trainer/backend/wasm-ceiling.ts) and its all-cores runner
// (bench/ceiling.ts): the modules assemble (FMA where the runtime has relaxed SIMD), the loop
// computes what it says, and the runner reports a rate for every variant. No timing is asserted.
// Run: node --import tsx --test test/unit/wasm-ceiling.test.ts

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureCeiling } from '../../bench/ceiling';
import { ceilingModule } from '../../src/trainer/backend/wasm-ceiling';
import { enableRelaxedSimd } from '../../src/trainer/backend/wasm-fma';

const fma = enableRelaxedSimd().on;

/** The parts of WebAssembly used here (the project's TypeScript libs carry no WebAssembly typings). */
const WA = (globalThis as unknown as {
  WebAssembly: {
    Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
    Module: new (bytes: Uint8Array) => object;
    Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
  };
}).WebAssembly;

for (const variant of fma ? [false, true] : [false]) {
  test(`ceiling microkernel (${variant ? 'FMA' : 'plain'}): acc = acc * 0.999 + 0.001 per iteration, 16 accumulators`, () => {
    const memory = new WA.Memory({ initial: 1 });
    const { exports } = new WA.Instance(new WA.Module(ceilingModule(variant)), { env: { memory } });
    (exports.peak as (iterations: number, out: number) => void)(10, 64);
    const out = new Float32Array(memory.buffer, 64, 64);
    for (let j = 0; j < 16; j++) {
      let acc = j / 16;
      for (let i = 0; i < 10; i++) acc = acc * 0.999 + 0.001;
      for (let lane = 0; lane < 4; lane++) assert.ok(Math.abs(out[4 * j + lane] - acc) < 1e-6, `accumulator ${j}: ${out[4 * j + lane]} vs ${acc}`);
    }
  });
}

test('measureCeiling reports a rate per variant (FMA only with relaxed SIMD)', async () => {
  const c = await measureCeiling(1);
  assert.equal(c.threads, 1);
  assert.ok(c.plainMacsPerSec > 0);
  assert.equal(c.fmaMacsPerSec === null, !fma);
  if (c.fmaMacsPerSec !== null) assert.ok(c.fmaMacsPerSec > 0);
});
