// The wasm training kernels (src/trainer/backend/wasm-kernels.ts): every registered kernel is
// compared with the cpu backend on the same seeded inputs, over a grid of shapes, strides and
// paddings; every op our models differentiate through must have a working gradient on wasm; and
// backward passes must not leak tensors.
// Run: node --import tsx --test test/unit/wasm-kernels.test.ts

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from '../../src/trainer/backend/wasm-kernels';
import { relErr, seeded, seededTensor } from '../support/numeric';

// Stock kernels, captured before registration, to check that they really get replaced.
const STOCK_CONV_INPUT = tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc;
const STOCK_MATMUL = tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc;
const STOCK_MAXPOOL_GRAD = tf.getKernel('MaxPoolGrad', 'wasm')?.kernelFunc;
const STOCK_TILE = tf.getKernel('Tile', 'wasm')?.kernelFunc;
registerWasmTrainingKernels();

/** Runs fn on a backend inside tidy and returns the values of the tensors it returns. */
async function valuesOn(backend: 'cpu' | 'wasm', fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const ts = tf.tidy(fn);
  const values = ts.map((t) => t.dataSync() as Float32Array);
  tf.dispose(ts);
  return values;
}

/** The same computation on cpu (reference) and wasm. */
async function onBoth(fn: () => tf.Tensor[]): Promise<{ cpu: Float32Array[]; wasm: Float32Array[] }> {
  const cpu = await valuesOn('cpu', fn);
  const wasm = await valuesOn('wasm', fn);
  return { cpu, wasm };
}

type Pad = 'same' | 'valid' | number;
type Conv = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;

/** Gradient of <f(x, w), dy> (random dy) with respect to x or w only, so one backprop kernel runs. */
function gradOf(f: Conv, xShape: number[], wShape: number[], wrt: 'x' | 'w'): tf.Tensor[] {
  const x = seededTensor(xShape, 1) as tf.Tensor4D;
  const w = seededTensor(wShape, 2) as tf.Tensor4D;
  const dy = seededTensor(f(x, w).shape, 3);
  const loss = (v: tf.Tensor) =>
    tf.sum(tf.mul(wrt === 'x' ? f(v as tf.Tensor4D, w) : f(x, v as tf.Tensor4D), dy));
  return tf.grads(loss)([wrt === 'x' ? x : w]);
}

const TOL = 1e-5;
const PADS: readonly Pad[] = ['same', 'valid', 1, 2];

/** Runs the grid, returns the worst relative error and the failing cases. */
async function sweep(
  cases: { label: string; fn: () => tf.Tensor[] }[],
): Promise<{ worst: number; failures: string[] }> {
  let worst = 0;
  const failures: string[] = [];
  for (const c of cases) {
    const { cpu, wasm } = await onBoth(c.fn);
    const err = Math.max(...cpu.map((ref, i) => relErr(ref, wasm[i])));
    worst = Math.max(worst, err);
    if (!(err < TOL)) failures.push(`${c.label}: rel err ${err}`);
  }
  return { worst, failures };
}

function convGrid(wrt: 'x' | 'w'): { label: string; fn: () => tf.Tensor[] }[] {
  const cases: { label: string; fn: () => tf.Tensor[] }[] = [];
  for (const n of [1, 3])
    for (const ci of [1, 3, 4])
      for (const co of [2, 5])
        for (const k of [1, 3, 5])
          for (const s of [1, 2])
            for (const pad of PADS) {
              const f: Conv = (x, w) => tf.conv2d(x, w, s, pad);
              cases.push({
                label: `conv n=${n} 7x9x${ci} -> ${co} k=${k} s=${s} pad=${pad}`,
                fn: () => gradOf(f, [n, 7, 9, ci], [k, k, ci, co], wrt),
              });
            }
  return cases;
}

function depthwiseGrid(wrt: 'x' | 'w'): { label: string; fn: () => tf.Tensor[] }[] {
  const cases: { label: string; fn: () => tf.Tensor[] }[] = [];
  for (const n of [1, 3])
    for (const c of [1, 3, 4])
      for (const m of [1, 2])
        for (const k of [3, 5])
          for (const s of [1, 2])
            for (const pad of PADS) {
              const f: Conv = (x, w) => tf.depthwiseConv2d(x, w, s, pad);
              cases.push({
                label: `depthwise n=${n} 7x9x${c} mult=${m} k=${k} s=${s} pad=${pad}`,
                fn: () => gradOf(f, [n, 7, 9, c], [k, k, c, m], wrt),
              });
            }
  return cases;
}

async function report(t: TestContext, name: string, cases: { label: string; fn: () => tf.Tensor[] }[]) {
  const { worst, failures } = await sweep(cases);
  t.diagnostic(`${name}: ${cases.length} cases, max relative error ${worst.toExponential(2)}`);
  assert.deepEqual(failures, [], `${name} differs from cpu`);
  assert.ok(worst < TOL);
}

test('registerWasmTrainingKernels replaces/adds the training kernels on wasm and is idempotent', () => {
  assert.equal(typeof STOCK_CONV_INPUT, 'function', 'the stock wasm kernels should be registered by the import');
  assert.equal(typeof STOCK_MATMUL, 'function');
  assert.equal(typeof STOCK_MAXPOOL_GRAD, 'function');
  assert.equal(typeof STOCK_TILE, 'function');
  for (const name of WASM_TRAINING_KERNELS) assert.ok(tf.getKernel(name, 'wasm'), `${name} registered`);
  assert.notEqual(tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc, STOCK_CONV_INPUT);
  assert.notEqual(tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc, STOCK_MATMUL);
  assert.notEqual(tf.getKernel('MaxPoolGrad', 'wasm')?.kernelFunc, STOCK_MAXPOOL_GRAD);
  assert.notEqual(tf.getKernel('Tile', 'wasm')?.kernelFunc, STOCK_TILE);
  const before = WASM_TRAINING_KERNELS.map((name) => tf.getKernel(name, 'wasm'));
  const warn = console.warn;
  const warnings: unknown[] = [];
  console.warn = (...args: unknown[]) => void warnings.push(args);
  try {
    registerWasmTrainingKernels();
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(WASM_TRAINING_KERNELS.map((name) => tf.getKernel(name, 'wasm')), before);
  assert.deepEqual(warnings, []);
  // cpu kernels are untouched.
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'cpu'));
});

test('Conv2DBackpropInput (conv2d input gradient) on wasm matches cpu over the shape grid', async (t) => {
  await report(t, 'Conv2DBackpropInput', convGrid('x'));
});

test('Conv2DBackpropFilter (conv2d filter gradient) on wasm matches cpu over the shape grid', async (t) => {
  await report(t, 'Conv2DBackpropFilter', convGrid('w'));
});

test('Conv2DBackpropFilter with output channels a multiple of 8 (our GEMM for few rows) matches cpu, over several blocks', async (t) => {
  const cases: { label: string; fn: () => tf.Tensor[] }[] = [];
  // 3 images of 41x41: up to 5043 output positions, more than one block of the reduction
  // (heapTuning), and reductions that are not a multiple of the GEMM's unrolling (wasm-gemm.ts).
  for (const [ci, co, k, s, pad] of [[3, 8, 3, 1, 'same'], [3, 16, 3, 2, 1], [1, 8, 5, 1, 'valid'], [16, 24, 1, 1, 'same'], [7, 8, 3, 1, 'same']] as const) {
    const f: Conv = (x, w) => tf.conv2d(x, w, s, pad);
    cases.push({ label: `conv n=3 41x41x${ci} -> ${co} k=${k} s=${s} pad=${pad}`, fn: () => gradOf(f, [3, 41, 41, ci], [k, k, ci, co], 'w') });
  }
  await report(t, 'Conv2DBackpropFilter (our GEMM)', cases);
});

test('DepthwiseConv2dNativeBackpropInput on wasm matches cpu over the shape grid', async (t) => {
  await report(t, 'DepthwiseConv2dNativeBackpropInput', depthwiseGrid('x'));
});

test('DepthwiseConv2dNativeBackpropFilter on wasm matches cpu over the shape grid', async (t) => {
  await report(t, 'DepthwiseConv2dNativeBackpropFilter', depthwiseGrid('w'));
});

test('MaxPoolGrad on wasm matches cpu: negative windows, ties (first maximum wins), pool/stride/padding grid', async (t) => {
  // The stock wasm MaxPoolGrad starts its running max at FLT_MIN: windows whose maximum is <= 0
  // lose their gradient, and ties go to the last maximum; cpu gives dy to the first maximum.
  const cases: { label: string; fn: () => tf.Tensor[] }[] = [];
  const inputs: [string, (x: tf.Tensor) => tf.Tensor][] = [
    ['signed', (x) => x],
    ['all negative', (x) => tf.sub(tf.abs(x), 1.5)],
    ['ties (quantised)', (x) => tf.div(tf.round(tf.mul(x, 2)), 2)],
    ['relu zeros', (x) => tf.relu(x)],
  ];
  const pools: [number, number, Pad][] = [
    [2, 2, 'valid'], [2, 2, 'same'], [3, 1, 1], [3, 1, 'same'], [3, 2, 1], [3, 2, 'same'], [3, 2, 'valid'], [2, 1, 'valid'], [3, 3, 'same'], [1, 2, 'valid'],
  ];
  for (const [inputName, prep] of inputs)
    for (const n of [1, 3])
      for (const [k, s, pad] of pools)
        cases.push({
          label: `maxPool ${inputName} n=${n} 7x9x4 k=${k} s=${s} pad=${pad}`,
          fn: () => {
            const x = prep(seededTensor([n, 7, 9, 4], 70)) as tf.Tensor4D;
            const dy = seededTensor(tf.maxPool(x, k, s, pad).shape, 71);
            return tf.grads((v: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, k, s, pad), dy)))([x]);
          },
        });
  await report(t, 'MaxPoolGrad', cases);
});

test('conv backprop kernels honour unequal strides, explicit padding and NCHW (direct kernel calls)', async (t) => {
  const cases: { label: string; fn: () => tf.Tensor[] }[] = [];
  const configs: { strides: [number, number]; pad: Pad | [[number, number], [number, number], [number, number], [number, number]]; k: number; nchw: boolean }[] = [
    { strides: [1, 2], pad: 'same', k: 3, nchw: false },
    { strides: [2, 1], pad: 1, k: 3, nchw: false },
    { strides: [2, 3], pad: 'valid', k: 5, nchw: false },
    { strides: [2, 1], pad: 0, k: 1, nchw: false },
    { strides: [1, 1], pad: [[0, 0], [2, 0], [1, 3], [0, 0]], k: 3, nchw: false },
    { strides: [2, 2], pad: [[0, 0], [0, 2], [1, 0], [0, 0]], k: 3, nchw: false },
    { strides: [2, 2], pad: 'same', k: 3, nchw: true },
    { strides: [1, 1], pad: 2, k: 5, nchw: true },
  ];
  for (const { strides, pad, k, nchw } of configs) {
    const [n, h, w, ci, co] = [2, 7, 9, 3, 4];
    const inShape: [number, number, number, number] = nchw ? [n, ci, h, w] : [n, h, w, ci];
    const info = tf.backend_util.computeConv2DInfo(inShape, [k, k, ci, co], strides, 1, pad, undefined, false, nchw ? 'channelsFirst' : 'channelsLast');
    const attrs = { strides, pad, dataFormat: nchw ? 'NCHW' : 'NHWC', dimRoundingMode: undefined };
    const dyShape = nchw ? [n, co, info.outHeight, info.outWidth] : [n, info.outHeight, info.outWidth, co];
    const label = `strides=${strides} pad=${JSON.stringify(pad)} k=${k} ${nchw ? 'NCHW' : 'NHWC'}`;
    cases.push({
      label: `Conv2DBackpropInput ${label}`,
      fn: () => [tf.engine().runKernel('Conv2DBackpropInput', { dy: seededTensor(dyShape, 5), filter: seededTensor([k, k, ci, co], 6) }, { ...attrs, inputShape: inShape } as unknown as tf.NamedAttrMap) as tf.Tensor],
    });
    cases.push({
      label: `Conv2DBackpropFilter ${label}`,
      fn: () => [tf.engine().runKernel('Conv2DBackpropFilter', { x: seededTensor(inShape, 7), dy: seededTensor(dyShape, 8) }, { ...attrs, filterShape: [k, k, ci, co] } as unknown as tf.NamedAttrMap) as tf.Tensor],
    });
  }
  await report(t, 'conv backprop (direct)', cases);
});

test('depthwise backprop kernels honour dilations (vs cpu autodiff through a zero-inserted filter)', async (t) => {
  // cpu's depthwise backprop kernels ignore dilations, so the reference differentiates an
  // undilated depthwise conv whose filter has the zeros inserted explicitly.
  const [n, h, w, c, m, k, d] = [2, 9, 11, 3, 2, 3, 2];
  const ek = (k - 1) * d + 1;
  const dilateFilter = (f: tf.Tensor4D): tf.Tensor4D => {
    const spread = tf.pad(tf.reshape(f, [k, 1, k, 1, c, m]), [[0, 0], [0, d - 1], [0, 0], [0, d - 1], [0, 0], [0, 0]]);
    return tf.slice(tf.reshape(spread, [k * d, k * d, c, m]) as tf.Tensor4D, [0, 0, 0, 0], [ek, ek, c, m]);
  };
  let worst = 0;
  for (const pad of ['same', 'valid', 1] as const) {
    const info = tf.backend_util.computeConv2DInfo([n, h, w, c], [k, k, c, m], 1, d, pad, undefined, true);
    const dyShape = [n, info.outHeight, info.outWidth, c * m];
    const [refDx, refDw] = await valuesOn('cpu', () => {
      const x = seededTensor([n, h, w, c], 11), f = seededTensor([k, k, c, m], 12), dy = seededTensor(dyShape, 13);
      const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, dilateFilter(b as tf.Tensor4D), 1, pad), dy));
      return tf.grads(loss)([x, f]);
    });
    const attrs = { strides: 1, dilations: d, pad, dimRoundingMode: undefined };
    const [dx, dw] = await valuesOn('wasm', () => [
      tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: seededTensor(dyShape, 13), filter: seededTensor([k, k, c, m], 12) }, { ...attrs, inputShape: [n, h, w, c] } as unknown as tf.NamedAttrMap) as tf.Tensor,
      tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: seededTensor([n, h, w, c], 11), dy: seededTensor(dyShape, 13) }, { ...attrs, filterShape: [k, k, c, m] } as unknown as tf.NamedAttrMap) as tf.Tensor,
    ]);
    const err = Math.max(relErr(refDx, dx), relErr(refDw, dw));
    worst = Math.max(worst, err);
    assert.ok(err < TOL, `dilation ${d} pad ${pad}: rel err ${err}`);
  }
  t.diagnostic(`dilated depthwise backprop: max relative error ${worst.toExponential(2)}`);
});

test('BatchMatMul with transposeA/transposeB on wasm matches cpu (forward and dense-layer gradients)', async (t) => {
  const cases: { label: string; fn: () => tf.Tensor[] }[] = [];
  // Shapes chosen so both rewrites (transpose the operand, or transpose the product) are used.
  // Few rows and columns a multiple of 8 ([2, 3] x [3, 40], the WAS transform's [9, 9] x [9, n]) go
  // to our GEMM, A B^T with few rows and a long reduction ([9, 2048] x [2048, 9] with tB) to
  // rowDots, the rest to XNNPACK.
  const shapes: [number[], number[]][] = [
    [[2, 3], [3, 4]], [[2, 3], [3, 40]], [[40, 3], [3, 2]], [[5, 6, 7], [5, 7, 3]], [[4, 6, 7], [1, 7, 30]],
    [[9, 9], [9, 96]], [[1, 9, 9], [1, 9, 24]], [[16, 33], [33, 8]], [[17, 5], [5, 16]],
    [[9, 2048], [2048, 9]], [[3, 5124], [5124, 5]], [[1, 16, 1024], [1, 1024, 16]],
  ];
  const swap = (s: number[]) => [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]];
  for (const [a, b] of shapes)
    for (const ta of [false, true])
      for (const tb of [false, true])
        cases.push({
          label: `matMul ${a} x ${b} tA=${ta} tB=${tb}`,
          fn: () => [tf.matMul(seededTensor(ta ? swap(a) : a, 21), seededTensor(tb ? swap(b) : b, 22), ta, tb)],
        });
  cases.push({
    label: 'dense layer gradients',
    fn: () => {
      const x = seededTensor([6, 20], 23), w = seededTensor([20, 7], 24), dy = seededTensor([6, 7], 25);
      return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), dy)))([x, w]);
    },
  });
  await report(t, 'BatchMatMul', cases);
});

test('Tile on wasm matches cpu (BatchNorm-style broadcasts, general reps, int32, bool and rank-8 fallbacks)', async (t) => {
  const cases: { label: string; fn: () => tf.Tensor[] }[] = [];
  const configs: [number[], number[]][] = [
    [[1, 1, 1, 5], [3, 7, 9, 1]],
    [[2, 3], [2, 2]],
    [[4], [3]],
    [[2, 1, 3], [1, 4, 2]],
    [[1, 3, 1, 2], [2, 1, 3, 1]],
    [[2, 3, 2, 2], [2, 2, 2, 2]], // 8 broadcast dims: stock kernel
    [[3, 2], [1, 1]],
    [[2, 2], [0, 3]],
  ];
  for (const [shape, reps] of configs) {
    cases.push({ label: `tile float32 ${shape} by ${reps}`, fn: () => [tf.tile(seededTensor(shape, 80), reps)] });
    cases.push({ label: `tile int32 ${shape} by ${reps}`, fn: () => [tf.cast(tf.tile(tf.cast(tf.mul(seededTensor(shape, 81), 100), 'int32'), reps), 'float32')] });
  }
  cases.push({ label: 'tile bool', fn: () => [tf.cast(tf.tile(tf.greater(seededTensor([2, 3], 82), 0), [3, 2]), 'float32')] });
  await report(t, 'Tile', cases);
});

test('Slice on wasm matches cpu (crops of inner axes, whole trailing axes, ranks 1-6, int32 and bool)', async (t) => {
  const cases: { label: string; fn: () => tf.Tensor[] }[] = [];
  const configs: [number[], number[], number[]][] = [
    [[4, 34, 34, 8], [0, 1, 1, 0], [4, 32, 32, 8]], // the strided conv input gradient's crop
    [[3, 5, 7, 4], [1, 2, 3, 1], [2, 2, 3, 2]], // every axis cut
    [[3, 5, 7, 4], [0, 0, 0, 1], [-1, -1, -1, 2]], // only the last axis cut
    [[3, 5, 7, 4], [1, 0, 0, 0], [1, -1, -1, -1]], // one contiguous block: the stock kernel
    [[6, 9], [2, 3], [3, 4]],
    [[10], [3], [5]],
    [[2, 3, 2, 3, 2, 4], [1, 1, 0, 1, 0, 0], [1, 2, 2, 2, 2, 4]],
  ];
  for (const [shape, begin, size] of configs) {
    cases.push({ label: `slice float32 ${shape} at ${begin} size ${size}`, fn: () => [tf.slice(seededTensor(shape, 83), begin, size)] });
    cases.push({ label: `slice int32 ${shape} at ${begin} size ${size}`, fn: () => [tf.cast(tf.slice(tf.cast(tf.mul(seededTensor(shape, 84), 100), 'int32'), begin, size), 'float32')] });
  }
  cases.push({ label: 'slice bool', fn: () => [tf.cast(tf.slice(tf.greater(seededTensor([3, 4, 5], 85), 0), [1, 1, 1], [2, 2, 3]), 'float32')] });
  await report(t, 'Slice', cases);
});

test('Cast on wasm matches cpu; a cast to the same dtype shares the buffer and outlives its source', async (t) => {
  const cases: { label: string; fn: () => tf.Tensor[] }[] = [
    { label: 'float32 to float32', fn: () => [tf.cast(seededTensor([3, 4, 5], 86), 'float32')] },
    { label: 'float32 to int32', fn: () => [tf.cast(tf.cast(tf.mul(seededTensor([3, 4, 5], 87), 50), 'int32'), 'float32')] },
    { label: 'bool to float32', fn: () => [tf.cast(tf.greater(seededTensor([7, 3], 88), 0), 'float32')] },
  ];
  await report(t, 'Cast', cases);
  await tf.setBackend('wasm');
  const source = seededTensor([4, 6], 89);
  const expected = source.dataSync().slice();
  const buffers = tf.engine().backend.numDataIds();
  const cast = tf.cast(source, 'float32');
  assert.equal(tf.engine().backend.numDataIds(), buffers, 'no new buffer');
  source.dispose();
  assert.deepEqual(cast.dataSync(), expected);
  cast.dispose();
});

test('every op our models differentiate through has a working gradient on wasm that matches cpu', async (t) => {
  type Op = [string, (x: tf.Tensor4D) => tf.Tensor];
  const labels = tf.oneHot(tf.tensor1d([1, 0], 'int32'), 6);
  const ops: Op[] = [
    ['conv2d 3x3 s1 same', (x) => tf.conv2d(x, tf.tensor4d(seeded(3 * 3 * 3 * 4, 31), [3, 3, 3, 4]), 1, 'same')],
    ['conv2d 7x7 s2 pad 3', (x) => tf.conv2d(x, tf.tensor4d(seeded(7 * 7 * 3 * 4, 32), [7, 7, 3, 4]), 2, 3)],
    ['depthwiseConv2d 3x3 s2 same', (x) => tf.depthwiseConv2d(x, tf.tensor4d(seeded(27, 33), [3, 3, 3, 1]), 2, 'same')],
    ['maxPool 2x2 s2 valid', (x) => tf.maxPool(x, 2, 2, 'valid')],
    ['maxPool 2x2 s2 same', (x) => tf.maxPool(x, 2, 2, 'same')],
    ['maxPool 3x3 s1 pad 1', (x) => tf.maxPool(x, 3, 1, 1)],
    ['maxPool 3x3 s2 pad 1', (x) => tf.maxPool(x, 3, 2, 1)],
    ['maxPool 3x3 s2 same', (x) => tf.maxPool(x, 3, 2, 'same')],
    ['avgPool 2x2 s2 valid', (x) => tf.avgPool(x, 2, 2, 'valid')],
    ['avgPool 3x3 s1 same', (x) => tf.avgPool(x, 3, 1, 'same')],
    ['avgPool 3x3 s2 same', (x) => tf.avgPool(x, 3, 2, 'same')],
    ['avgPool 3x3 s2 pad 1', (x) => tf.avgPool(x, 3, 2, 1)],
    ['avgPool 2x2 s2 same (odd size)', (x) => tf.avgPool(x, 2, 2, 'same')],
    ['relu', (x) => tf.relu(x)],
    ['relu6', (x) => tf.relu6(tf.mul(x, 8))],
    ['sigmoid', (x) => tf.sigmoid(x)],
    ['clipByValue', (x) => tf.clipByValue(x, -0.5, 0.5)],
    ['mean over H,W', (x) => tf.mean(x, [1, 2])],
    ['moments + batchNorm', (x) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return tf.batchNorm(x, mean, variance, tf.tensor1d([0.1, 0.2, 0.3]), tf.tensor1d([1, 2, 3]), 1e-5);
    }],
    ['manual batch norm (sub, mul, add, rsqrt, square)', (x) => {
      const mean = tf.mean(x, [0, 1, 2]);
      const variance = tf.mean(tf.square(tf.sub(x, mean)), [0, 1, 2]);
      return tf.add(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), 0.5);
    }],
    ['sqrt', (x) => tf.sqrt(tf.add(tf.square(x), 1))],
    ['concat along channels', (x) => tf.concat([x, tf.mul(x, 2), tf.relu(x)], 3)],
    ['reshape + matMul', (x) => tf.matMul(tf.reshape(x, [2, -1]), tf.tensor2d(seeded(7 * 9 * 3 * 6, 34), [7 * 9 * 3, 6]))],
    ['slice', (x) => tf.slice(x, [0, 1, 2, 0], [2, 4, 5, 2])],
    ['pad', (x) => tf.pad(x, [[0, 0], [1, 2], [2, 1], [0, 0]])],
    ['softmaxCrossEntropy', (x) => tf.losses.softmaxCrossEntropy(labels, tf.reshape(tf.slice(x, [0, 0, 0, 0], [2, 1, 2, 3]), [2, 6]))],
    ['logSoftmax', (x) => tf.logSoftmax(tf.reshape(x, [2, -1]))],
    ['argMax (no gradient, must not break the tape)', (x) => tf.mul(x, tf.expandDims(tf.cast(tf.argMax(x, 3), 'float32'), 3))],
  ];
  let worst = 0;
  const failures: string[] = [];
  for (const [name, op] of ops) {
    const fn = () => {
      const x = seededTensor([2, 7, 9, 3], 30) as tf.Tensor4D;
      const dy = seededTensor(op(x).shape, 35);
      return tf.grads((v: tf.Tensor) => tf.sum(tf.mul(op(v as tf.Tensor4D), dy)))([x]);
    };
    try {
      const { cpu, wasm } = await onBoth(fn);
      const err = relErr(cpu[0], wasm[0]);
      worst = Math.max(worst, err);
      if (!(err < TOL)) failures.push(`${name}: rel err ${err}`);
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message}`);
    }
  }
  t.diagnostic(`${ops.length} ops, max relative error ${worst.toExponential(2)}`);
  assert.deepEqual(failures, []);
});

/** A small CNN: conv-relu-maxpool-conv(s2)-relu-avgpool-dense, plus a depthwise block. */
function smallNet(params: Record<string, tf.Tensor>, x: tf.Tensor4D, labels: tf.Tensor2D): tf.Scalar {
  let y = tf.relu(tf.conv2d(x, params.c1 as tf.Tensor4D, 1, 'same'));
  y = tf.maxPool(y, 2, 2, 'valid');
  // Depthwise block: 3x3 depthwise + relu6 + 1x1 pointwise, then a stride-2 depthwise.
  y = tf.relu6(tf.depthwiseConv2d(y, params.dw1 as tf.Tensor4D, 1, 'same'));
  y = tf.conv2d(y, params.pw1 as tf.Tensor4D, 1, 'valid');
  y = tf.depthwiseConv2d(y, params.dw2 as tf.Tensor4D, 2, 1);
  y = tf.relu(tf.conv2d(y, params.c2 as tf.Tensor4D, 2, 1));
  y = tf.avgPool(y, 2, 2, 'valid');
  const flat = tf.reshape(y, [x.shape[0], -1]);
  const logits = tf.add(tf.matMul(flat, params.fc as tf.Tensor2D), params.fcb);
  return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
}

const NET_SHAPES: Record<string, number[]> = {
  c1: [3, 3, 3, 6],
  dw1: [3, 3, 6, 1],
  pw1: [1, 1, 6, 8],
  dw2: [5, 5, 8, 1],
  c2: [3, 3, 8, 12],
  fc: [12, 5],
  fcb: [5],
};

function netGrads(): tf.Tensor[] {
  const names = Object.keys(NET_SHAPES);
  const params = names.map((name, i) => tf.mul(seededTensor(NET_SHAPES[name], 40 + i), 0.5));
  const x = seededTensor([3, 16, 16, 3], 50) as tf.Tensor4D;
  const labels = tf.oneHot(tf.tensor1d([0, 3, 4], 'int32'), 5) as tf.Tensor2D;
  const loss = (...ps: tf.Tensor[]) => smallNet(Object.fromEntries(names.map((n, i) => [n, ps[i]])), x, labels);
  const { value, grads } = tf.valueAndGrads(loss)(params);
  return [value, ...grads];
}

test('a small conv net with a depthwise block gets finite gradients on wasm that match cpu', async (t) => {
  const { cpu, wasm } = await onBoth(netGrads);
  const names = ['loss', ...Object.keys(NET_SHAPES)];
  let worst = 0;
  for (let i = 0; i < names.length; i++) {
    assert.ok(wasm[i].every(Number.isFinite), `${names[i]}: non-finite values on wasm`);
    assert.ok(wasm[i].some((v) => v !== 0), `${names[i]}: all-zero gradient on wasm`);
    const err = relErr(cpu[i], wasm[i]);
    worst = Math.max(worst, err);
    assert.ok(err < 1e-4, `${names[i]}: rel err ${err}`);
  }
  t.diagnostic(`small net: max relative error ${worst.toExponential(2)}`);
});

test('repeated backward passes on wasm keep tf.memory().numTensors flat', async () => {
  await tf.setBackend('wasm');
  const names = Object.keys(NET_SHAPES);
  const vars = names.map((name, i) => tf.variable(tf.mul(seededTensor(NET_SHAPES[name], 40 + i), 0.5), true, `wasm-kernels-test-${name}`));
  const x = seededTensor([3, 16, 16, 3], 50) as tf.Tensor4D;
  const labels = tf.oneHot(tf.tensor1d([0, 3, 4], 'int32'), 5) as tf.Tensor2D;
  const step = () => {
    const { value, grads } = tf.variableGrads(() => smallNet(Object.fromEntries(names.map((n, i) => [n, vars[i]])), x, labels));
    tf.dispose([value, ...Object.values(grads)]);
  };
  step();
  const tensors = tf.memory().numTensors;
  const dataIds = tf.engine().backend.numDataIds();
  for (let i = 0; i < 3; i++) step();
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(tf.engine().backend.numDataIds(), dataIds);
  tf.dispose([...vars, x, labels]);
});

test('each registered kernel, called directly outside any tidy, allocates only its output', async () => {
  await tf.setBackend('wasm');
  const x = seededTensor([2, 8, 8, 3], 60), dyConv = seededTensor([2, 4, 4, 4], 61), dyDw = seededTensor([2, 4, 4, 3], 62);
  const w = seededTensor([3, 3, 3, 4], 63), dw = seededTensor([3, 3, 3, 1], 64);
  const a = seededTensor([5, 3], 65), b = seededTensor([4, 3], 66);
  const pooled = tf.maxPool(x as tf.Tensor4D, 3, 2, 'same');
  const convAttrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
  const dwAttrs = { strides: 2, dilations: 1, pad: 'same', dimRoundingMode: undefined };
  const gamma = seededTensor([3], 67), beta = seededTensor([3], 68), mean = seededTensor([3], 69);
  const variance = tf.abs(seededTensor([3], 70));
  const bnAttrs = { epsilon: 1e-5 };
  // name, inputs, attrs, outputs, new backend buffers (Identity shares its input's buffer)
  const calls: [string, tf.NamedTensorMap, object, number, number][] = [
    ['Conv2DBackpropFilter', { x, dy: dyConv }, { ...convAttrs, filterShape: [3, 3, 3, 4] }, 1, 1],
    ['Conv2DBackpropInput', { dy: dyConv, filter: w }, { ...convAttrs, inputShape: [2, 8, 8, 3] }, 1, 1],
    ['DepthwiseConv2dNativeBackpropFilter', { x, dy: dyDw }, { ...dwAttrs, filterShape: [3, 3, 3, 1] }, 1, 1],
    ['DepthwiseConv2dNativeBackpropInput', { dy: dyDw, filter: dw }, { ...dwAttrs, inputShape: [2, 8, 8, 3] }, 1, 1],
    ['BatchMatMul', { a, b }, { transposeA: false, transposeB: true }, 1, 1],
    ['MaxPoolGrad', { dy: dyDw, input: x, output: pooled }, { filterSize: 3, strides: 2, pad: 'same', dimRoundingMode: undefined }, 1, 1],
    ['Tile', { x: a }, { reps: [2, 3] }, 1, 1],
    ['Identity', { x }, {}, 1, 0],
    ['Conv2D', { x, filter: w }, { ...convAttrs, dilations: 1 }, 1, 1],
    ['Transpose', { x: w }, { perm: [0, 1, 3, 2] }, 1, 1],
    ['Slice', { x }, { begin: [0, 1, 1, 0], size: [2, 6, 6, 3] }, 1, 1],
    ['Cast', { x }, { dtype: 'float32' }, 1, 0],
    ['Sum', { x }, { axis: [0, 1, 2], keepDims: false }, 1, 1],
    ['Mean', { x }, { axis: [1, 2], keepDims: true }, 1, 1],
    ['WasLabBatchNormTrain', { x, gamma, beta }, bnAttrs, 3, 3],
    ['WasLabBatchNormTrainGrad', { dy: x, x, mean, variance, gamma }, bnAttrs, 3, 3],
  ];
  assert.deepEqual(calls.map(([name]) => name).sort(), [...WASM_TRAINING_KERNELS].sort());
  for (const [name, inputs, attrs, outputs, buffers] of calls) {
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    const out = tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
    assert.equal(tf.memory().numTensors, tensors + outputs, `${name}: tensors`);
    assert.equal(tf.engine().backend.numDataIds(), dataIds + buffers, `${name}: backend buffers`);
    tf.dispose(out);
    assert.equal(tf.memory().numTensors, tensors, `${name}: tensors after dispose`);
    assert.equal(tf.engine().backend.numDataIds(), dataIds, `${name}: backend buffers after dispose`);
  }
  tf.dispose([gamma, beta, mean, variance]);
  tf.dispose([x, dyConv, dyDw, w, dw, a, b, pooled]);
});
