// Winograd 3x3 convolutions on wasm (src/trainer/backend/winograd.ts) against the cpu backend:
// every 3x3 stride-1 conv shape of the model zoo (found by profiling each model's forward pass),
// forward, input gradient and filter gradient, with F(2x2) and F(4x4) forced (plain SIMD) and
// with the training rule (relaxed-SIMD multiply-adds where the runtime has them); and a
// short real training run that must reach the direct conv's accuracy within noise.
// Tolerances (max |wasm - cpu| / max |cpu| per output): F(2x2) 2e-5, F(4x4) 1e-4. Measured on
// the zoo's 36 shapes: F(2x2) at most ~3e-6, F(4x4) ~2e-5 (the direct conv: ~2e-7); F(4x4)
// scales tile elements by up to 5^2 in the input transform and 8^2 in the output transform.
// Run: node --import tsx --test test/unit/winograd.test.ts

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { resolveConfig, type ModelName } from '../../src/shared/config';
import { selectBackend } from '../../src/trainer/backend/select';
import { enableRelaxedSimd } from '../../src/trainer/backend/wasm-fma';
import { winogradCounts, winogradTuning } from '../../src/trainer/backend/winograd';
import { buildModel } from '../../src/trainer/models/index';
import type { ForwardContext } from '../../src/trainer/nn/context';
import { Rng } from '../../src/trainer/rng';
import { runTraining } from '../../src/trainer/train/session';
import { relErr, seeded } from '../support/numeric';

const TOLERANCE = { 2: 2e-5, 4: 1e-4 } as const;
/** The zoo in three parts (tests of 15-30 s each on a loaded 2-core machine: the cpu reference is slow). */
const ZOO: ModelName[][] = [['lenet', 'small-cnn', 'vgg16'], ['resnet18', 'resnet34'], ['mobilenetv2', 'efficientnet-lite0', 'googlenet']];

before(async () => {
  await selectBackend('wasm', { searchPaths: [] });
});
/** F(2x2) and F(4x4) without relaxed-SIMD multiply-adds, the rule with them where the runtime has them (wasm-fma.ts). */
const FMA = enableRelaxedSimd().on;
const MODES: [2 | 4 | 'auto', boolean][] = [[2, false], [4, false], ['auto', FMA]];
after(() => {
  winogradTuning.mode = 'auto';
});

/** [h, w, ci, co, pad] of each 3x3 stride-1 Conv2D a model's forward pass runs (batch 1, on wasm). */
async function convShapes(name: ModelName): Promise<string[]> {
  const spec = name === 'lenet' ? { height: 28, width: 28, channels: 1, numClasses: 10 } : { height: 32, width: 32, channels: 3, numClasses: 10 };
  const model = buildModel(name, spec, { rng: new Rng(1), bnEpsilon: 1e-5 });
  const ctx: ForwardContext = { weights: 'plain', bn: 'batch', statSet: 'train', statMomentum: 0.1, transformFor: () => { throw new Error('no shadow'); } };
  const x = tf.zeros([1, spec.height, spec.width, spec.channels]) as tf.Tensor4D;
  const profile = await tf.profile(() => model.forward(x, ctx));
  x.dispose();
  model.store.dispose();
  const shapes = new Set<string>();
  for (const k of profile.kernels) {
    if (k.name !== 'Conv2D') continue;
    const [[, h, w, ci], [kh, kw, , co]] = k.inputShapes as number[][];
    const [, oh, ow] = k.outputShapes[0] as number[];
    // Stride 1 keeps h - oh = 2 - 2 * pad (3x3): pad 1 ("same") or 0 ("valid").
    if (kh === 3 && kw === 3 && (h - oh === 0 || h - oh === 2) && h - oh === w - ow) shapes.add(JSON.stringify([h, w, ci, co, (2 - (h - oh)) / 2]));
  }
  return [...shapes];
}

/**
 * conv2d and its input and filter gradients on one backend, batch 1: through Conv2DBackpropInput
 * and Conv2DBackpropFilter, or (`reference`, on cpu, whose backprop kernels are slow on these
 * shapes) written out: dx as the conv of dy with the flipped, transposed filter, dw as 9 per-tap
 * products of x's shifted windows with dy.
 */
function convAndGrad(shape: number[], reference: boolean): Float32Array[] {
  const [h, w, ci, co, pad] = shape;
  return tf.tidy(() => {
    const x = tf.tensor4d(seeded(h * w * ci, 1), [1, h, w, ci]);
    const f = tf.tensor4d(seeded(9 * ci * co, 2), [3, 3, ci, co]);
    const y = tf.conv2d(x, f, 1, pad);
    const [, oh, ow] = y.shape;
    const dy = tf.tensor4d(seeded(oh * ow * co, 3), [1, oh, ow, co]);
    const loss = (xi: tf.Tensor, fi: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xi as tf.Tensor4D, fi as tf.Tensor4D, 1, pad), dy));
    if (!reference) return [y, ...tf.grads(loss)([x, f])].map((t) => Float32Array.from(t.dataSync() as Float32Array));
    const dx = tf.conv2d(dy, flippedFilter(f.dataSync() as Float32Array, ci, co), 1, 2 - pad);
    const xp = tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]);
    const dy2 = tf.reshape(dy, [oh * ow, co]) as tf.Tensor2D;
    const taps = [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) =>
      tf.matMul(tf.reshape(tf.slice(xp, [0, i, j, 0], [1, oh, ow, ci]), [oh * ow, ci]) as tf.Tensor2D, dy2, true, false)));
    return [y, dx, tf.stack(taps)].map((t) => Float32Array.from(t.dataSync() as Float32Array));
  });
}

/** The filter of the input gradient, [3, 3, Co, Ci]: out[i][j][o][c] = f[2 - i][2 - j][c][o] (the cpu backend's transpose is slow on these sizes). */
function flippedFilter(f: Float32Array, ci: number, co: number): tf.Tensor4D {
  const out = new Float32Array(f.length);
  for (let t = 0; t < 9; t++) {
    for (let c = 0; c < ci; c++) for (let o = 0; o < co; o++) out[((8 - t) * co + o) * ci + c] = f[(t * ci + c) * co + o];
  }
  return tf.tensor4d(out, [3, 3, co, ci]);
}

async function checkZoo(models: ModelName[]): Promise<string> {
  const all = new Set<string>();
  for (const name of models) for (const s of await convShapes(name)) all.add(s);
  const worst = { 2: 0, 4: 0, auto: 0 } as Record<string, number>;
  for (const key of all) {
    const shape = JSON.parse(key) as number[];
    await tf.setBackend('cpu');
    const ref = convAndGrad(shape, true);
    await tf.setBackend('wasm');
    for (const [mode, fma] of MODES) {
      winogradTuning.mode = mode;
      winogradTuning.fma = fma;
      const got = convAndGrad(shape, false);
      const err = Math.max(...ref.map((r, i) => relErr(r, got[i])));
      worst[mode] = Math.max(worst[mode], err);
      const tol = mode === 'auto' ? TOLERANCE[4] : TOLERANCE[mode];
      assert.ok(err <= tol, `${key} mode ${mode}${fma ? ' fma' : ''}: relative error ${err.toExponential(2)} > ${tol}`);
    }
  }
  winogradTuning.mode = 'auto';
  winogradTuning.fma = FMA;
  return `${all.size} shapes; worst relative error F(2x2) ${worst[2].toExponential(2)}, F(4x4) ${worst[4].toExponential(2)}, rule ${worst.auto.toExponential(2)}`;
}

for (const models of ZOO) {
  test(`every 3x3 stride-1 conv of ${models.join(', ')}, forward and both gradients, match cpu with F(2x2), F(4x4) and the rule`, async (t) => {
    t.diagnostic(await checkZoo(models));
  });
}

test('the products on XNNPACK (where our GEMM does not apply) match cpu too', async () => {
  for (const shape of [[8, 8, 64, 64, 1], [5, 7, 32, 36, 1], [4, 4, 128, 64, 0]]) {
    await tf.setBackend('cpu');
    const ref = convAndGrad(shape, true);
    await tf.setBackend('wasm');
    winogradTuning.gemm = 'xnnpack';
    for (const mode of [2, 4] as const) {
      winogradTuning.mode = mode;
      const got = convAndGrad(shape, false);
      const err = Math.max(...ref.map((r, i) => relErr(r, got[i])));
      assert.ok(err <= TOLERANCE[mode], `${shape} F${mode}: relative error ${err.toExponential(2)}`);
    }
  }
  winogradTuning.gemm = 'ours';
  winogradTuning.mode = 'auto';
});

test('channel counts that are not multiples of 4, strides and 1x1 convs keep the direct conv', async () => {
  await tf.setBackend('wasm');
  winogradTuning.mode = 4;
  const before = { ...winogradCounts };
  tf.tidy(() => {
    tf.conv2d(tf.ones([1, 8, 8, 6]) as tf.Tensor4D, tf.ones([3, 3, 6, 8]) as tf.Tensor4D, 1, 1);
    tf.conv2d(tf.ones([1, 8, 8, 8]) as tf.Tensor4D, tf.ones([3, 3, 8, 8]) as tf.Tensor4D, 2, 1);
    tf.conv2d(tf.ones([1, 8, 8, 8]) as tf.Tensor4D, tf.ones([1, 1, 8, 8]) as tf.Tensor4D, 1, 0);
  });
  assert.deepEqual(winogradCounts, before);
  winogradTuning.mode = 'auto';
});

test('a short training run with F(4x4) convs reaches the direct run\'s accuracy within noise', async (t) => {
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-winograd-'));
  const config = resolveConfig([{
    patch: {
      model: 'small-cnn',
      data: { name: 'synthetic', validationSize: 64, synthetic: { trainCount: 320, testCount: 128, size: 16, channels: 1, classes: 4 } },
      epochs: 2, batchSize: 32, evalBatchSize: 64, seed: 5, backend: 'wasm', logEverySteps: 100, runsDir,
      bn: { recalibrationBatches: 2 },
    },
    where: 'test',
  }]);
  const accuracy = async (mode: 'off' | 4) => {
    winogradTuning.mode = mode;
    const { end } = await runTraining(config, { emit: () => {}, stopRequested: () => null });
    assert.equal(end.status, 'completed', end.reason ?? '');
    return end.test!.aom;
  };
  try {
    const direct = await accuracy('off');
    const f4 = winogradCounts.f4;
    const winograd = await accuracy(4);
    assert.ok(winogradCounts.f4 > f4, 'the Winograd run used F(4x4) convs');
    t.diagnostic(`test AOM: direct ${direct}, F(4x4) ${winograd}`);
    // 128 test images: a binomial standard error of ~4 points at these accuracies.
    assert.ok(Math.abs(winograd - direct) <= 0.1, `test AOM ${winograd} (Winograd) vs ${direct} (direct)`);
    assert.ok(winograd > 0.4, `test AOM ${winograd} (chance 0.25)`);
  } finally {
    winogradTuning.mode = 'auto';
    fs.rmSync(runsDir, { recursive: true, force: true });
  }
});
