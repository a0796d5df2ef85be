// MobileNetV2 and EfficientNet-Lite0: shapes, exact parameter counts, the WAS preset (depthwise
// convs only), and WAS training steps on the wasm backend without leaking tensors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../src/trainer/backend/wasm-kernels';
import { efficientnetLite0 } from '../../src/trainer/models/efficientnet-lite0';
import { mobilenetv2 } from '../../src/trainer/models/mobilenetv2';
import type { ForwardContext } from '../../src/trainer/nn/context';
import type { ModelDefinition, ModelSpec } from '../../src/trainer/nn/model';
import { ParamStore } from '../../src/trainer/nn/params';
import { Rng } from '../../src/trainer/rng';
import { drawTransform, REFERENCE_PARAMS } from '../../src/trainer/was/transforms';

interface Case {
  readonly definition: ModelDefinition;
  /** Trainable parameters for 3x32x32 inputs (PyTorch's count: BN weight + bias, no alphas). */
  readonly params10: number;
  readonly params100: number;
  readonly depthwise: number;
  /** Distinct depthwise kernel sizes. */
  readonly kernels: readonly number[];
}

const CASES: readonly Case[] = [
  // kuangliu/pytorch-cifar MobileNetV2: 2,296,922 for 10 classes.
  { definition: mobilenetv2, params10: 2_296_922, params100: 2_412_212, depthwise: 17, kernels: [3] },
  // EfficientNet-Lite0 has 4,652,008 for 1000 classes; the head differs by 1281 per class.
  { definition: efficientnetLite0, params10: 3_383_818, params100: 3_499_108, depthwise: 16, kernels: [3, 5] },
];

const CIFAR = (numClasses: number): ModelSpec => ({ height: 32, width: 32, channels: 3, numClasses });

function build(definition: ModelDefinition, spec: ModelSpec, seed = 1) {
  const store = new ParamStore(new Rng(seed), 1e-5);
  const forward = definition.build(store, spec);
  return { store, forward };
}

const plainBatchCtx: ForwardContext = {
  weights: 'plain',
  bn: 'batch',
  statSet: 'train',
  statMomentum: null,
  transformFor: () => {
    throw new Error('plain mode draws no transform');
  },
};

test('wasm backend with training kernels', async () => {
  registerWasmTrainingKernels();
  assert.ok(await tf.setBackend('wasm'));
  await tf.ready();
});

for (const c of CASES) {
  const name = c.definition.name;

  test(`${name}: exact parameter counts for 3x32x32`, () => {
    for (const [classes, expected] of [
      [10, c.params10],
      [100, c.params100],
    ] as const) {
      const { store } = build(c.definition, CIFAR(classes));
      try {
        assert.equal(store.countTrainable(), expected, `${name}, ${classes} classes`);
      } finally {
        store.dispose();
      }
    }
  });

  test(`${name}: the WAS preset is exactly the depthwise convs`, () => {
    const { store } = build(c.definition, CIFAR(10));
    try {
      const preset = store.convs.filter((conv) => conv.wasPreset);
      const depthwise = store.convs.filter((conv) => conv.depthwise);
      assert.equal(preset.length, c.depthwise);
      assert.equal(depthwise.length, c.depthwise);
      for (const conv of preset) {
        assert.ok(conv.depthwise, `${conv.name} is preset but not depthwise`);
        assert.ok(conv.name.endsWith('.depthwise'), conv.name);
      }
      assert.deepEqual([...new Set(preset.map((conv) => conv.k))].sort(), [...c.kernels]);
      // The stem, the 1x1 convs and the classifier stay plain.
      assert.ok(!store.convs[0].wasPreset);
      assert.ok(store.convs.filter((conv) => conv.k === 1).every((conv) => !conv.wasPreset));
      // Names are unique per conv (they are what was.layers refers to).
      assert.equal(new Set(store.convs.map((conv) => conv.name)).size, store.convs.length);
    } finally {
      store.dispose();
    }
  });

  test(`${name}: builds and runs for 1 and 3 channels, 10 and 100 classes, any input size`, () => {
    const specs: ModelSpec[] = [
      { height: 28, width: 28, channels: 1, numClasses: 10 },
      { height: 28, width: 28, channels: 1, numClasses: 100 },
      { height: 32, width: 32, channels: 3, numClasses: 10 },
      { height: 32, width: 32, channels: 3, numClasses: 100 },
      { height: 20, width: 24, channels: 3, numClasses: 7 },
    ];
    for (const spec of specs) {
      const { store, forward } = build(c.definition, spec);
      try {
        const logits = tf.tidy(() => forward(tf.randomNormal([2, spec.height, spec.width, spec.channels]) as tf.Tensor4D, plainBatchCtx));
        assert.deepEqual(logits.shape, [2, spec.numClasses]);
        assert.ok(Array.from(logits.dataSync()).every(Number.isFinite));
        logits.dispose();
      } finally {
        store.dispose();
      }
    }
  });

  test(`${name}: WAS training steps on wasm keep the tensor count stable`, () => {
    const spec = CIFAR(10);
    const { store, forward } = build(c.definition, spec, 7);
    const rng = new Rng(11);
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const oneHot = tf.oneHot(tf.tensor1d([3, 8], 'int32'), spec.numClasses);
    const optimizer = tf.train.sgd(0.01);
    try {
      const shadowed = store.convs.filter((conv) => conv.wasPreset);
      for (const conv of shadowed) conv.enableShadow();
      assert.equal(store.convs.filter((conv) => conv.shadowed).length, c.depthwise);
      assert.equal(store.countTrainable(), c.params10 + c.depthwise);
      let drawn = 0;
      const ctx: ForwardContext = {
        weights: 'shadow',
        bn: 'batch',
        statSet: 'train',
        statMomentum: 0.1,
        transformFor: (conv) => {
          drawn++;
          return drawTransform('mixed', conv.k, REFERENCE_PARAMS, rng);
        },
      };
      const counts: number[] = [];
      for (let step = 0; step < 2; step++) {
        const started = Date.now();
        const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(oneHot, forward(x, ctx)) as tf.Scalar);
        const loss = value.dataSync()[0];
        assert.ok(Number.isFinite(loss), `step ${step}: loss ${loss}`);
        for (const conv of shadowed) {
          const g = grads[conv.alpha!.name];
          assert.ok(g, `no gradient for ${conv.name}.alpha`);
          const gv = g.dataSync()[0];
          assert.ok(Number.isFinite(gv) && gv !== 0, `${conv.name}.alpha gradient ${gv}`);
        }
        optimizer.applyGradients(grads);
        value.dispose();
        tf.dispose(grads);
        counts.push(tf.memory().numTensors);
        if (process.env.WAS_TEST_TIMING) console.log(`${name}: WAS step ${step + 1} ${Date.now() - started} ms`);
      }
      assert.equal(drawn, 2 * c.depthwise, 'one transform per transformed conv per pass');
      assert.equal(counts[1], counts[0], `tensor count ${counts.join(' -> ')}`);
    } finally {
      optimizer.dispose();
      x.dispose();
      oneHot.dispose();
      store.dispose();
    }
  });
}
