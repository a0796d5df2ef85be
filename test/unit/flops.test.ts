// FLOPs (multiply-adds per image) against hand counts, and the geometry that makes a shifted
// kernel a smaller conv: the windowed conv with the adjusted padding equals the k x k conv with
// the zeroed taps, element for element, and the window is exactly the shift's non-zero taps.
// Every model of the zoo, written once as a graph, gives the same network on tensors, on shapes
// (FLOPs) and as tf.layers (export), in AOM and in a fixed DOM.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { MODEL_NAMES, type ModelName } from '../../src/shared/config';
import { selectBackend } from '../../src/trainer/backend/select';
import { candidateShifts, domTransforms, domWindows, maxShiftFor, shiftWindow } from '../../src/trainer/dom/plan';
import { buildLayersModel } from '../../src/trainer/export/layers-model';
import { buildModel, selectShadowLayers } from '../../src/trainer/models/index';
import type { ForwardContext } from '../../src/trainer/nn/context';
import type { Padding } from '../../src/trainer/nn/conv';
import { convGeometry } from '../../src/trainer/nn/conv-geometry';
import type { ModelSpec } from '../../src/trainer/nn/model';
import { Rng } from '../../src/trainer/rng';
import { countFlops, type FlopsCount } from '../../src/trainer/nn/flops';
import { applyToPlane, shiftTransform } from '../../src/trainer/was/transforms';

before(async () => {
  await selectBackend('wasm', { searchPaths: [] });
});

const MNIST: ModelSpec = { height: 28, width: 28, channels: 1, numClasses: 10 };
const CIFAR: ModelSpec = { height: 32, width: 32, channels: 3, numClasses: 10 };

function flops(name: ModelName, spec: ModelSpec, plan: Record<string, { dy: number; dx: number }> | null = null): FlopsCount {
  const model = buildModel(name, spec, { rng: new Rng(1), bnEpsilon: 1e-5 });
  try {
    selectShadowLayers(model.store.convs, 'shift', 'preset');
    return plan === null ? countFlops(model) : countFlops(model, domWindows(new Map(Object.entries(plan))));
  } finally {
    model.store.dispose();
  }
}

const byName = (count: FlopsCount) => Object.fromEntries(count.layers.map((l) => [l.name, l.macs]));

test('lenet at 28x28x1: every conv and dense layer by hand, AOM and a shifted conv2', () => {
  const aom = flops('lenet', MNIST);
  assert.deepEqual(byName(aom), {
    conv1: 28 * 28 * 6 * (5 * 5 * 1), // 'same' padding 2: 28x28 out
    conv2: 10 * 10 * 16 * (5 * 5 * 6), // valid on 14x14: 10x10 out
    fc1: 400 * 120,
    fc2: 120 * 84,
    fc3: 84 * 10,
  });
  assert.equal(aom.total, 416_520);
  // One row shifted out: conv2 is a 4x5 conv; a row and a column: 4x4. Nothing else changes.
  assert.equal(byName(flops('lenet', MNIST, { conv2: { dy: 1, dx: 0 } })).conv2, 10 * 10 * 16 * (4 * 5 * 6));
  const both = flops('lenet', MNIST, { conv2: { dy: -1, dx: 1 } });
  assert.equal(byName(both).conv2, 10 * 10 * 16 * (4 * 4 * 6));
  assert.equal(both.total, 416_520 - 240_000 + 153_600);
  assert.deepEqual(both.layers.find((l) => l.name === 'conv2')?.kernel, [4, 4]);
});

test('small-cnn at 28x28x1: by hand; conv2 as 2x3, 3x2 and 2x2', () => {
  const aom = flops('small-cnn', MNIST);
  assert.deepEqual(byName(aom), { conv1: 28 * 28 * 32 * 9, conv2: 14 * 14 * 64 * (9 * 32), fc: 7 * 7 * 64 * 10 });
  assert.equal(aom.total, 3_869_824);
  const conv2 = (dy: number, dx: number) => byName(flops('small-cnn', MNIST, { conv2: { dy, dx } })).conv2;
  assert.equal(conv2(1, 0), 14 * 14 * 64 * (6 * 32));
  assert.equal(conv2(0, -1), 14 * 14 * 64 * (6 * 32));
  assert.equal(conv2(-1, 1), 14 * 14 * 64 * (4 * 32));
  assert.equal(flops('small-cnn', MNIST, { conv2: { dy: 1, dx: 1 } }).total, 1_862_784); // 48.1% of AOM
});

test('ResNet-18 at 32x32x3: a strided basic block with its 1x1 shortcut by hand, and the whole network', () => {
  const aom = byName(flops('resnet18', CIFAR));
  assert.equal(aom['layer1.0.conv1'], 32 * 32 * 64 * (9 * 64));
  // layer2.0: conv1 3x3 stride 2 (64 -> 128, 16x16 out), conv2 3x3 (128 -> 128), shortcut 1x1 stride 2.
  assert.equal(aom['layer2.0.conv1'], 16 * 16 * 128 * (9 * 64));
  assert.equal(aom['layer2.0.conv2'], 16 * 16 * 128 * (9 * 128));
  assert.equal(aom['layer2.0.shortcut.conv'], 16 * 16 * 128 * 64);
  assert.equal(aom.linear, 512 * 10);
  // Stem + 4 stages + classifier: the 0.56 GFLOPs usually quoted for the CIFAR ResNet-18.
  const stage = 16 * 16 * 128 * 9 * 64 + 3 * (16 * 16 * 128 * 9 * 128) + 16 * 16 * 128 * 64;
  const total = 32 * 32 * 64 * 27 + 4 * 32 * 32 * 64 * 9 * 64 + 3 * stage + 512 * 10;
  assert.equal(total, 555_422_720);
  assert.equal(flops('resnet18', CIFAR).total, total);
  // A strided conv shifted by a row keeps its 16x16 output and applies 2x3 taps.
  const dom = flops('resnet18', CIFAR, { 'layer2.0.conv1': { dy: 1, dx: 0 } });
  assert.equal(byName(dom)['layer2.0.conv1'], 16 * 16 * 128 * (6 * 64));
  assert.deepEqual(dom.layers.find((l) => l.name === 'layer2.0.conv1')?.out, [16, 16, 128]);
});

test('a depthwise conv counts one input channel per output channel', () => {
  const aom = flops('mobilenetv2', CIFAR);
  const first = aom.layers.find((l) => l.name === 'layers.0.depthwise');
  assert.equal(first?.kind, 'depthwise');
  assert.equal(first?.macs, 32 * 32 * 32 * 9);
  const dom = flops('mobilenetv2', CIFAR, { 'layers.0.depthwise': { dy: 0, dx: 1 } });
  assert.equal(byName(dom)['layers.0.depthwise'], 32 * 32 * 32 * 6);
});

test('the window of a shift is exactly its non-zero taps (k = 3 and 5)', () => {
  for (const k of [3, 5]) {
    for (const s of [{ dy: 0, dx: 0 }, ...candidateShifts(k - 1)]) {
      const plane = applyToPlane(shiftTransform(k, s.dy, s.dx), new Float32Array(k * k).fill(1));
      const w = shiftWindow(k, s);
      for (let i = 0; i < k; i++)
        for (let j = 0; j < k; j++) {
          const inside = i >= w.top && i < w.top + w.height && j >= w.left && j < w.left + w.width;
          assert.equal(plane[i * k + j] !== 0, inside, `k=${k} shift (${s.dy},${s.dx}) tap (${i},${j})`);
        }
    }
  }
});

test('the windowed conv with adjusted padding equals the conv with the zeroed kernel', () => {
  const rng = new Rng(3);
  const random = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
  let cases = 0;
  for (const k of [3, 5])
    for (const stride of [1, 2])
      for (const padding of ['same', 'valid', 1, 2] as Padding[])
        for (const size of [7, 8])
          for (const depthwise of [false, true])
            for (const s of candidateShifts(1)) {
              tf.tidy(() => {
                const conv = { k, stride, padding };
                const x = random([2, size, size, 3]) as tf.Tensor4D;
                const kernel = tf.tensor4d(
                  Float32Array.from(random([k, k, 3, depthwise ? 1 : 4]).dataSync()),
                  [k, k, 3, depthwise ? 1 : 4],
                );
                // Zero the taps the shift vacates, as SW = T(W) does.
                const w = shiftWindow(k, s);
                const mask = tf.pad(tf.ones([w.height, w.width, 3, depthwise ? 1 : 4]), [[w.top, k - w.top - w.height], [w.left, k - w.left - w.width], [0, 0], [0, 0]]);
                const zeroed = tf.mul(kernel, mask) as tf.Tensor4D;
                const full = depthwise ? tf.depthwiseConv2d(x, zeroed, stride, padding) : tf.conv2d(x, zeroed, stride, padding);
                const g = convGeometry(conv, size, size, w);
                const p = g.pad;
                const cropped = tf.slice(x, [0, Math.max(0, -p.top), Math.max(0, -p.left), 0], [
                  2,
                  size - Math.max(0, -p.top) - Math.max(0, -p.bottom),
                  size - Math.max(0, -p.left) - Math.max(0, -p.right),
                  3,
                ]);
                const padded = tf.pad(cropped, [[0, 0], [Math.max(0, p.top), Math.max(0, p.bottom)], [Math.max(0, p.left), Math.max(0, p.right)], [0, 0]]) as tf.Tensor4D;
                const small = tf.slice(kernel, [w.top, w.left, 0, 0], [w.height, w.width, 3, depthwise ? 1 : 4]) as tf.Tensor4D;
                const windowed = depthwise ? tf.depthwiseConv2d(padded, small, stride, 'valid') : tf.conv2d(padded, small, stride, 'valid');
                const what = `k=${k} stride=${stride} padding=${padding} size=${size} depthwise=${depthwise} shift=(${s.dy},${s.dx})`;
                assert.deepEqual(windowed.shape.slice(1, 3), [...g.out], what);
                assert.deepEqual(windowed.shape, full.shape, what);
                const diff = tf.max(tf.abs(tf.sub(windowed, full))).dataSync()[0];
                assert.ok(diff < 1e-4, `${what}: differs by ${diff}`);
                cases++;
              });
            }
  assert.equal(cases, 2 * 2 * 4 * 2 * 2 * 8);
});

test('maxShiftFor: the largest shift training drew, at least 1, at most k - 1', () => {
  assert.equal(maxShiftFor(3, 0.3), 1); // round(U(-0.9, 0.9)) in {-1, 0, 1}
  assert.equal(maxShiftFor(5, 0.3), 1); // U(-1.5, 1.5): +-2 only at the measure-zero endpoints
  assert.equal(maxShiftFor(5, 0.5), 2);
  assert.equal(maxShiftFor(3, 0), 1);
  assert.equal(maxShiftFor(3, 1), 2);
});

/** Multiply-adds per image of a tf.LayersModel's conv and dense layers, from its own shapes. */
function layersModelFlops(model: tf.LayersModel): number {
  let total = 0;
  for (const layer of model.layers) {
    const out = layer.outputShape as number[];
    const input = (layer.input as tf.SymbolicTensor).shape;
    const kind = layer.getClassName();
    if (kind === 'Dense') total += (input[1] as number) * out[1];
    if (kind !== 'Conv2D' && kind !== 'DepthwiseConv2D') continue;
    const [kh, kw] = layer.getConfig().kernelSize as [number, number];
    total += out[1] * out[2] * out[3] * kh * kw * (kind === 'Conv2D' ? (input[3] as number) : 1);
  }
  return total;
}

test('every model, every conv transformed: tf.layers computes our forward pass and our FLOPs, in AOM and a fixed DOM', async () => {
  const shifts = [{ dy: 1, dx: 0 }, { dy: -1, dx: 0 }, { dy: 0, dx: 1 }, { dy: 0, dx: -1 }, { dy: 1, dx: 1 }, { dy: -1, dx: -1 }, { dy: 1, dx: -1 }, { dy: 0, dx: 0 }];
  const spec: ModelSpec = { height: 12, width: 12, channels: 3, numClasses: 10 };
  const rng = new Rng(5);
  for (const name of MODEL_NAMES) {
    const model = buildModel(name, spec, { rng: new Rng(1), bnEpsilon: 1e-5 });
    try {
      const layers = selectShadowLayers(model.store.convs, 'shift', 'all');
      // Statistics unlike the defaults, so that exporting the wrong set would show.
      tf.tidy(() => {
        for (const bn of model.store.batchNorms)
          for (const set of ['aom', 'dom'] as const) {
            const { mean, variance } = bn.statistics(set);
            mean.assign(tf.randomNormal(mean.shape, 0, 0.1, 'float32', rng.nextUint32()));
            variance.assign(tf.randomUniform(variance.shape, 0.5, 1.5, 'float32', rng.nextUint32()));
          }
      });
      const plan = new Map(layers.map((layer, i) => [layer, shifts[(3 * i + 1) % shifts.length]]));
      const x = tf.tensor4d(Float32Array.from({ length: 2 * 12 * 12 * 3 }, () => rng.normal()), [2, 12, 12, 3]);
      for (const mode of ['aom', 'dom'] as const) {
        const ctx: ForwardContext = { weights: mode === 'aom' ? 'plain' : 'shadow', bn: 'running', statSet: mode, statMomentum: null, transformFor: domTransforms(plan) };
        const exported = await buildLayersModel(model, mode, mode === 'dom' ? plan : null, 1e-5);
        const [diff, scale] = tf.tidy(() => {
          const ours = model.forward(x, ctx);
          const theirs = exported.predict(x) as tf.Tensor;
          return [tf.max(tf.abs(tf.sub(ours, theirs))).dataSync()[0], tf.max(tf.abs(ours)).dataSync()[0]];
        });
        assert.ok(diff <= 1e-4 * (1 + scale), `${name} ${mode}: logits differ by ${diff} (scale ${scale})`);
        const counted = mode === 'aom' ? countFlops(model) : countFlops(model, domWindows(plan));
        assert.equal(layersModelFlops(exported), counted.total, `${name} ${mode}: FLOPs`);
        if (mode === 'dom') assert.ok(counted.total < countFlops(model).total, `${name}: the DOM is cheaper`);
        exported.dispose();
      }
      x.dispose();
    } finally {
      model.store.dispose();
    }
  }
});
