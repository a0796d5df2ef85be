// Our hand-assembled SIMD kernels (src/trainer/backend/wasm-simd.ts), through the wasm kernels
// that use them, against the cpu backend: the 2x2/stride-2 max-pool gradient (ties, negative
// windows, NaN, -Infinity, an odd width) and the training-mode BatchNorm for channel counts that
// are multiples of 4 (row counts that are and are not multiples of the 32-row block, a mean far
// from 0). Also checks that the kernels really are in use here.
// Run: node --import tsx --test test/unit/wasm-simd.test.ts

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../src/trainer/backend/wasm-kernels';
import { asWasm, heapTuning } from '../../src/trainer/backend/wasm-heap';
import { isWasmMemory, simdKernels } from '../../src/trainer/backend/wasm-simd';
import { normalizeWithBatchStatistics } from '../../src/trainer/nn/batch-norm';
import { seededTensor } from '../support/numeric';

registerWasmTrainingKernels();

async function on(backend: 'cpu' | 'wasm', fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const ts = tf.tidy(fn);
  const values = ts.map((t) => Float32Array.from(t.dataSync() as Float32Array));
  tf.dispose(ts);
  return values;
}

/** Max |a - b| / max |a| over all outputs; NaN must match NaN. */
function compare(cpu: Float32Array[], wasm: Float32Array[]): number {
  let worst = 0;
  cpu.forEach((ref, i) => {
    let diff = 0, scale = 0;
    ref.forEach((v, j) => {
      const g = wasm[i][j];
      if (Number.isNaN(v) || Number.isNaN(g)) {
        assert.ok(Number.isNaN(v) && Number.isNaN(g), `output ${i}[${j}]: ${v} vs ${g}`);
        return;
      }
      diff = Math.max(diff, Math.abs(v - g));
      scale = Math.max(scale, Math.abs(v));
    });
    worst = Math.max(worst, diff / Math.max(scale, 1e-30));
  });
  return worst;
}

test('the SIMD kernels assemble and run on this WebAssembly (the paths below are really taken)', async () => {
  await tf.setBackend('wasm');
  const memory = (asWasm(tf.backend()).wasm as { wasmMemory?: unknown; asm?: { memory?: unknown } });
  const m = memory.wasmMemory ?? memory.asm?.memory;
  assert.ok(isWasmMemory(m));
  assert.notEqual(simdKernels(m), null);
});

test('2x2 stride-2 max-pool gradient (SIMD) matches cpu: first maximum wins, NaN and -Infinity never win', async (t) => {
  const inputs: [string, (x: tf.Tensor) => tf.Tensor][] = [
    ['signed', (x) => x],
    ['all negative', (x) => tf.sub(tf.abs(x), 1.5)],
    ['ties', (x) => tf.div(tf.round(tf.mul(x, 2)), 2)],
    ['relu zeros', (x) => tf.relu(x)],
    ['NaN and -Infinity', (x) => tf.where(tf.greater(x, 0.6), tf.fill(x.shape, NaN), tf.where(tf.less(x, -0.6), tf.fill(x.shape, -Infinity), x))],
  ];
  let worst = 0;
  for (const [label, prep] of inputs) {
    for (const shape of [[2, 8, 8, 4], [3, 6, 10, 8], [1, 4, 7, 12], [2, 2, 2, 16]]) {
      const fn = () => {
        const x = prep(seededTensor(shape, shape[3] + shape[2])) as tf.Tensor4D;
        const dy = seededTensor(tf.maxPool(x, 2, 2, 'valid').shape, 5);
        return tf.grads((v: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, 2, 2, 'valid'), dy)))([x]);
      };
      const cpu = await on('cpu', fn);
      for (const simd of [true, false]) {
        heapTuning.simd = simd; // false: the JS path the kernel falls back to
        const e = compare(cpu, await on('wasm', fn));
        heapTuning.simd = true;
        assert.ok(e === 0, `${label} ${shape} simd ${simd}: max-pool gradient differs (relative ${e})`);
        worst = Math.max(worst, e);
      }
    }
  }
  t.diagnostic(`max-pool 2x2 gradient: 20 cases x 2 paths, max relative error ${worst}`);
});

test('training-mode BatchNorm (SIMD, channels a multiple of 4) matches cpu: y, statistics, gradients', async (t) => {
  let worst = 0;
  for (const [k, shape] of [[8, 8, 8, 4], [5, 7, 3, 8], [33, 16], [1, 31, 1, 12], [64, 6, 6, 32], [3, 1, 2, 8]].entries()) {
    for (const offset of [0, 5]) {
      const fn = () => {
        const c = shape[shape.length - 1];
        const x = seededTensor(shape, 10 + k, offset), gamma = seededTensor([c], 20 + k, 1), beta = seededTensor([c], 30 + k);
        const up = seededTensor(shape, 40 + k);
        const { y, mean, variance } = normalizeWithBatchStatistics(x, gamma, beta, 1e-5);
        const grads = tf.grads((xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(normalizeWithBatchStatistics(xx, g, b, 1e-5).y, up)))([x, gamma, beta]);
        return [y, mean, variance, ...grads];
      };
      const cpu = await on('cpu', fn);
      for (const simd of [true, false]) {
        heapTuning.simd = simd; // false: the XNNPACK composition the kernel falls back to
        const e = compare(cpu, await on('wasm', fn));
        heapTuning.simd = true;
        assert.ok(e < 2e-5, `${shape} offset ${offset} simd ${simd}: relative error ${e}`);
        worst = Math.max(worst, e);
      }
    }
  }
  t.diagnostic(`BatchNorm: 12 cases x 2 paths, max relative error ${worst.toExponential(2)}`);
});

test('conv2d with 1-4 input channels (im2col + GEMM) matches cpu, forward and filter gradient', async (t) => {
  type Pad = 'same' | 'valid' | number;
  const cases: [number[], number[], number | [number, number], Pad][] = [
    [[2, 8, 8, 3], [3, 3, 3, 8], 1, 'same'],
    [[3, 9, 7, 1], [5, 5, 1, 4], 1, 'valid'],
    [[2, 9, 10, 4], [3, 3, 4, 6], 2, 'same'],
    [[1, 7, 7, 2], [3, 3, 2, 5], [2, 1], 'valid'],
    [[2, 6, 6, 3], [1, 1, 3, 7], 1, 'valid'],
    [[2, 8, 8, 3], [3, 3, 3, 4], 1, 1],
  ];
  let worst = 0;
  for (const [k, [xs, ws, strides, pad]] of cases.entries()) {
    const fn = () => {
      const x = seededTensor(xs, 80 + k) as tf.Tensor4D, w = seededTensor(ws, 90 + k) as tf.Tensor4D;
      const y = tf.conv2d(x, w, strides, pad);
      const r = seededTensor(y.shape, 100 + k);
      const [dw] = tf.grads((ww: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, ww as tf.Tensor4D, strides, pad), r)))([w]);
      return [y, dw];
    };
    const e = compare(await on('cpu', fn), await on('wasm', fn));
    assert.ok(e < 2e-6, `case ${k}: relative error ${e}`);
    worst = Math.max(worst, e);
  }
  t.diagnostic(`few-channel conv: ${cases.length} cases, max relative error ${worst.toExponential(2)}`);
});

test('transposes of the last two axes (our wasm kernel) match cpu; other permutations still work', async () => {
  const cases: [number[], number[]][] = [
    [[3, 3, 5, 7], [0, 1, 3, 2]], [[9, 17], [1, 0]], [[2, 1, 8], [0, 2, 1]], [[4, 33, 1], [0, 2, 1]], [[1, 1], [1, 0]],
    [[3, 3, 5, 7], [3, 1, 2, 0]], [[2, 3, 4], [1, 0, 2]],
  ];
  for (const [k, [shape, perm]] of cases.entries()) {
    for (const dtype of ['float32', 'int32'] as const) {
      const fn = () => [tf.transpose(tf.cast(tf.mul(seededTensor(shape, 110 + k), 100), dtype), perm)];
      const cpu = await on('cpu', fn), wasm = await on('wasm', fn);
      assert.deepEqual(Array.from(wasm[0]), Array.from(cpu[0]), `${shape} perm ${perm} ${dtype}`);
    }
  }
});
