// The heap kernels of src/trainer/backend/wasm-heap.ts against the cpu backend: the fused
// training-mode BatchNorm (forward, batch statistics and gradients), Sum/Mean over outer axes,
// the blocked conv filter gradient with blocks forced small, the pairwise column sums with odd
// row counts, Identity without a copy, and one whole small-CNN training step on both backends.
// Run: node --import tsx --test test/unit/wasm-heap.test.ts

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../src/trainer/backend/wasm-kernels';
import { asWasm, columnSums, heapTuning } from '../../src/trainer/backend/wasm-heap';
import { normalizeWithBatchStatistics } from '../../src/trainer/nn/batch-norm';
import { DEFAULTS } from '../../src/shared/config';
import { buildModel, selectShadowLayers } from '../../src/trainer/models/index';
import type { ForwardContext } from '../../src/trainer/nn/context';
import { Rng } from '../../src/trainer/rng';
import { Optimizer } from '../../src/trainer/train/optimizer';
import { trainStep } from '../../src/trainer/train/step';
import { randomTransforms } from '../../src/trainer/train/sampler';
import { REFERENCE_PARAMS } from '../../src/trainer/was/transforms';
import { relErr, seeded, seededTensor } from '../support/numeric';

registerWasmTrainingKernels();

async function on(backend: 'cpu' | 'wasm', fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const ts = tf.tidy(fn);
  const values = ts.map((t) => Float32Array.from(t.dataSync() as Float32Array));
  tf.dispose(ts);
  return values;
}

async function compare(label: string, fn: () => tf.Tensor[], tol: number): Promise<number> {
  const cpu = await on('cpu', fn);
  const wasm = await on('wasm', fn);
  let worst = 0;
  cpu.forEach((ref, i) => {
    const e = relErr(ref, wasm[i]);
    assert.ok(e <= tol, `${label}, output ${i}: relative error ${e.toExponential(2)} > ${tol}`);
    worst = Math.max(worst, e);
  });
  return worst;
}

test('fused training-mode BatchNorm on wasm matches tf.moments + tf.batchNorm on cpu: y, statistics, gradients', async (t) => {
  let worst = 0;
  const shapes = [[4, 5, 6, 8], [3, 7, 5, 3], [64, 1], [9, 1], [2, 3, 3, 16], [5, 4, 4, 1], [3, 1, 2, 4]];
  for (const [k, shape] of shapes.entries()) {
    const c = shape[shape.length - 1];
    for (const offset of [0, 3]) {
      // offset: a mean far from 0 (where one-pass variance formulas lose digits)
      worst = Math.max(worst, await compare(`shape ${shape} offset ${offset}`, () => {
        const x = seededTensor(shape, 10 + k, offset);
        const gamma = seededTensor([c], 20 + k, 1), beta = seededTensor([c], 30 + k);
        const up = seededTensor(shape, 40 + k); // upstream gradient weights
        const f = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(normalizeWithBatchStatistics(xx, g, b, 1e-5).y, up)) as tf.Scalar;
        const { y, mean, variance } = normalizeWithBatchStatistics(x, gamma, beta, 1e-5);
        const [dx, dg, db] = tf.grads(f)([x, gamma, beta]);
        return [y, mean, variance, dx, dg, db];
      }, 2e-5));
    }
  }
  t.diagnostic(`BatchNorm: ${shapes.length * 2} cases, max relative error ${worst.toExponential(2)}`);
});

test('the fused BatchNorm keeps the tensor count flat over forward+backward on wasm', async () => {
  await tf.setBackend('wasm');
  const x = seededTensor([4, 6, 6, 8], 1), gamma = tf.variable(seededTensor([8], 2, 1)), beta = tf.variable(seededTensor([8], 3));
  const step = () => {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(normalizeWithBatchStatistics(x, gamma, beta, 1e-5).y)) as tf.Scalar, [gamma, beta]);
    tf.dispose([value, ...Object.values(grads)]);
  };
  step();
  const before = tf.memory().numTensors;
  const buffers = tf.engine().backend.numDataIds();
  for (let i = 0; i < 3; i++) step();
  assert.equal(tf.memory().numTensors, before);
  assert.equal(tf.engine().backend.numDataIds(), buffers);
  tf.dispose([x, gamma, beta]);
});

test('Sum and Mean over outer or middle axes on wasm match cpu (keepDims, negative axes, odd sizes)', async (t) => {
  const cases: [number[], number[]][] = [
    [[4, 5, 6, 8], [0, 1, 2]], [[4, 5, 6, 8], [1, 2]], [[4, 5, 6, 8], [0]], [[4, 5, 6, 8], [1]], [[4, 5, 6, 8], [-4, -3]],
    [[7, 3], [0]], [[1, 9], [0]], [[3, 5, 7, 2, 3], [0, 1, 2, 3]], [[3, 5, 7, 2, 3], [2, 3]], [[33, 1, 5], [0, 1]],
    [[4, 5, 6, 8], [3]], [[4, 5, 6, 8], [0, 2]], [[4, 5, 6, 8], [0, 1, 2, 3]],
  ];
  let worst = 0;
  for (const [k, [shape, axes]] of cases.entries()) {
    for (const keepDims of [false, true]) {
      worst = Math.max(worst, await compare(`${shape} axes ${axes} keepDims ${keepDims}`, () => {
        const x = seededTensor(shape, 50 + k, 0.5);
        const s = tf.sum(x, axes, keepDims), m = tf.mean(x, axes, keepDims);
        assert.deepEqual(s.shape, tf.sum(tf.zeros(shape), axes, keepDims).shape);
        return [s, m];
      }, 1e-6));
    }
  }
  t.diagnostic(`Sum/Mean: ${cases.length * 2} cases, max relative error ${worst.toExponential(2)}`);
});

test('pairwise column sums handle every row count, odd ones included, without leaking', async () => {
  await tf.setBackend('wasm');
  const backend = asWasm(tf.backend());
  const add = tf.getKernel('Add', 'wasm')!.kernelFunc;
  for (const rows of [1, 2, 3, 5, 7, 8, 31, 64, 100, 1023]) {
    const x = seededTensor([rows, 3], rows);
    const buffers = tf.engine().backend.numDataIds();
    const info = columnSums(backend, add, x, 3);
    assert.equal(tf.engine().backend.numDataIds(), buffers + 1, `rows ${rows}: one new buffer`);
    const got = tf.engine().makeTensorFromTensorInfo(info);
    const values = x.dataSync();
    const want = [0, 1, 2].map((c) => {
      let s = 0;
      for (let r = 0; r < rows; r++) s += values[r * 3 + c];
      return s;
    });
    assert.ok(relErr(want, got.dataSync()) < 1e-6, `rows ${rows}`);
    assert.deepEqual(got.shape, [3]);
    tf.dispose([x, got]);
  }
});

test('the conv filter gradient is the same with the reduction cut into small, uneven blocks', async (t) => {
  const saved = { ...heapTuning };
  let worst = 0;
  try {
    // (tfjs's gradient of conv2d supports no dilation; the stock wasm conv2d corrupts the heap
    // with a numeric pad on a non-square filter, so that combination is not used here.)
    type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
    const cases: [number[], number[], number | [number, number], Pad][] = [
      [[3, 7, 6, 5], [3, 3, 5, 4], 1, 'same'],
      [[2, 9, 8, 3], [3, 3, 3, 6], 2, 'same'],
      [[2, 8, 8, 4], [1, 1, 4, 6], 2, 'valid'],
      [[2, 9, 9, 2], [3, 2, 2, 3], [2, 1], 'valid'],
      [[2, 9, 9, 2], [3, 3, 2, 3], [1, 2], 1],
      [[2, 7, 8, 2], [3, 2, 2, 3], 1, [[0, 0], [2, 0], [0, 1], [0, 0]]],
      // outputs of 8x8 and more: the row/column moves
      [[2, 9, 10, 3], [3, 3, 3, 4], 1, 'same'],
      [[2, 12, 11, 2], [3, 3, 2, 3], 1, 'valid'],
      [[1, 10, 9, 4], [2, 3, 4, 2], 1, [[0, 0], [1, 0], [2, 1], [0, 0]]],
    ];
    for (const [steps, simd] of [[1, true], [7, true], [64, true], [7, false], [100, false]] as const) {
      Object.assign(heapTuning, { filterGradMinSteps: steps, filterGradMaxSteps: steps, simd });
      for (const [k, [xs, ws, strides, pad]] of cases.entries()) {
        worst = Math.max(worst, await compare(`blocks of ${steps}, simd ${simd}, case ${k}`, () => {
          const x = seededTensor(xs, 60 + k) as tf.Tensor4D, w = seededTensor(ws, 70 + k) as tf.Tensor4D;
          const up = tf.conv2d(x, w, strides, pad);
          const r = seededTensor(up.shape, 80 + k);
          const [dw] = tf.grads((ww: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, ww as tf.Tensor4D, strides, pad), r)))([w]);
          return [dw];
        }, 2e-6));
      }
    }
  } finally {
    Object.assign(heapTuning, saved);
  }
  t.diagnostic(`filter gradient in blocks: max relative error ${worst.toExponential(2)}`);
});

test('Identity on wasm shares the buffer and the copy outlives its source', async () => {
  await tf.setBackend('wasm');
  const x = seededTensor([5, 4], 90);
  const values = Float32Array.from(x.dataSync() as Float32Array);
  const buffers = tf.engine().backend.numDataIds();
  const y = tf.clone(x);
  assert.equal(tf.engine().backend.numDataIds(), buffers, 'no new buffer');
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), Array.from(values));
  y.dispose();
  assert.equal(tf.engine().backend.numDataIds(), buffers - 1, 'the buffer is freed with the last reference');
});

test('a WAS small-CNN training step on wasm matches the same step on cpu', async (t) => {
  const run = async (backend: 'cpu' | 'wasm') => {
    await tf.setBackend(backend);
    const model = buildModel('small-cnn', { height: 8, width: 8, channels: 3, numClasses: 4 }, { rng: new Rng(5), bnEpsilon: 1e-5 });
    selectShadowLayers(model.store.convs, 'shift', 'preset');
    const trainable = [...model.store.trainable.values()];
    const optimizer = new Optimizer({ ...DEFAULTS.optimizer, lr: 0.05 }, new Map([...model.store.trainable]));
    const ctx: ForwardContext = {
      weights: 'shadow', bn: 'batch', statSet: 'train', statMomentum: 0.1,
      transformFor: randomTransforms('shift', REFERENCE_PARAMS, new Rng(6)),
    };
    const pixels = seeded(6 * 8 * 8 * 3, 7);
    const labels = Int32Array.from([0, 1, 2, 3, 0, 1]);
    const losses: number[] = [];
    for (let i = 0; i < 2; i++) losses.push((await trainStep({ model, optimizer, ctx, trainable, pixels, labels, imageShape: [8, 8, 3], lr: 0.05 })).loss);
    const weights = [...model.store.trainable.values(), ...model.store.state.values()].map((v) => Float32Array.from(v.dataSync() as Float32Array));
    optimizer.dispose();
    model.store.dispose();
    return { losses, weights };
  };
  const cpu = await run('cpu');
  const wasm = await run('wasm');
  assert.ok(relErr(cpu.losses, wasm.losses) < 1e-5, `losses ${cpu.losses} vs ${wasm.losses}`);
  let worst = 0;
  cpu.weights.forEach((w, i) => (worst = Math.max(worst, relErr(w, wasm.weights[i]))));
  assert.ok(worst < 1e-4, `weights after two steps: relative error ${worst}`);
  t.diagnostic(`small-CNN step: losses ${wasm.losses.map((l) => l.toFixed(5))}, max weight relative error ${worst.toExponential(2)}`);
});
