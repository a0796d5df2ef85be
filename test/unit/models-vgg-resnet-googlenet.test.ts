// VGG-16, ResNet-18/34 and GoogLeNet: parameter counts equal PyTorch's for kuangliu's CIFAR
// models, the WAS preset marks the convs WAS.md names, the forward pass gives [batch, classes]
// for 1- and 3-channel inputs, and one WAS training step runs on the wasm backend (with the
// project's training kernels) without leaking tensors.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../src/trainer/backend/wasm-kernels';
import type { Conv2d } from '../../src/trainer/nn/conv';
import type { ForwardContext } from '../../src/trainer/nn/context';
import type { Forward, ModelDefinition, ModelSpec } from '../../src/trainer/nn/model';
import { ParamStore } from '../../src/trainer/nn/params';
import { Rng } from '../../src/trainer/rng';
import { drawTransform, REFERENCE_PARAMS } from '../../src/trainer/was/transforms';
import { vgg16 } from '../../src/trainer/models/vgg';
import { resnet18, resnet34 } from '../../src/trainer/models/resnet';
import { googlenet, makeGoogLeNet } from '../../src/trainer/models/googlenet';

before(async () => {
  registerWasmTrainingKernels();
  assert.ok(await tf.setBackend('wasm'), 'the wasm backend must start');
});

const CIFAR = { height: 32, width: 32, channels: 3 } as const;
const MNIST = { height: 28, width: 28, channels: 1 } as const;

function build(definition: ModelDefinition, spec: ModelSpec, seed = 1): { store: ParamStore; forward: Forward } {
  const store = new ParamStore(new Rng(seed), 1e-5);
  return { store, forward: definition.build(store, spec) };
}

function presetNames(store: ParamStore): string[] {
  return store.convs.filter((c) => c.wasPreset).map((c) => c.name);
}

const INCEPTIONS = ['a3', 'b3', 'a4', 'b4', 'c4', 'd4', 'e4', 'a5', 'b5'];

interface Case {
  definition: ModelDefinition;
  /** PyTorch's parameter count of the kuangliu model, 32x32x3 input, 10 and 100 classes. */
  params10: number;
  params100: number;
  preset: string[];
}

const resnetPreset = (blocks: number[]): string[] =>
  blocks.flatMap((count, s) => Array.from({ length: count }, (_, b) => [`layer${s + 1}.${b}.conv1`, `layer${s + 1}.${b}.conv2`]).flat());

const CASES: Case[] = [
  {
    definition: vgg16,
    params10: 14_728_266,
    params100: 14_728_266 + 512 * 90 + 90,
    // Every conv but the first of blocks 1-4 (WAS.md; the reference's VGG_1d/VGG_2d).
    preset: ['block1.conv2', 'block2.conv2', 'block3.conv2', 'block3.conv3', 'block4.conv2', 'block4.conv3', 'block5.conv1', 'block5.conv2', 'block5.conv3'],
  },
  { definition: resnet18, params10: 11_173_962, params100: 11_173_962 + 512 * 90 + 90, preset: resnetPreset([2, 2, 2, 2]) },
  { definition: resnet34, params10: 21_282_122, params100: 21_282_122 + 512 * 90 + 90, preset: resnetPreset([3, 4, 6, 3]) },
  {
    definition: googlenet,
    params10: 6_166_250,
    params100: 6_166_250 + 1024 * 90 + 90,
    // The 3x3 of branch 2 and both 3x3 of kuangliu's "5x5" branch 3, in each inception block.
    preset: INCEPTIONS.flatMap((b) => [`${b}.b2.conv2`, `${b}.b3.conv2`, `${b}.b3.conv3`]),
  },
];

for (const c of CASES) {
  const name = c.definition.name;

  test(`${name}: parameter count equals PyTorch's (10 and 100 classes) and the WAS preset matches WAS.md`, () => {
    const expected = { 10: c.params10, 100: c.params100 };
    for (const numClasses of [10, 100] as const) {
      const { store } = build(c.definition, { ...CIFAR, numClasses });
      try {
        assert.equal(store.countTrainable(), expected[numClasses], `${name}, ${numClasses} classes`);
        assert.deepEqual(presetNames(store), c.preset);
        for (const conv of store.convs.filter((v) => v.wasPreset)) assert.ok(conv.k > 1, `${conv.name} is ${conv.k}x${conv.k}`);
        assert.ok(![...store.trainable.keys()].some((k) => k.endsWith('.alpha')), 'no alphas before enableShadow');
      } finally {
        store.dispose();
      }
    }
  });

  test(`${name}: forward gives [batch, classes] for 3x32x32 and 1x28x28 inputs`, () => {
    for (const [input, numClasses] of [
      [CIFAR, 10],
      [MNIST, 100],
    ] as const) {
      const spec = { ...input, numClasses };
      const { store, forward } = build(c.definition, spec);
      try {
        assert.deepEqual(presetNames(store), c.preset, 'the preset does not depend on the input');
        const ctx: ForwardContext = {
          weights: 'plain',
          bn: 'batch',
          statSet: 'train',
          statMomentum: null,
          transformFor: () => assert.fail('plain weights draw no transform'),
        };
        const logits = tf.tidy(() => forward(tf.randomNormal([2, spec.height, spec.width, spec.channels], 0, 1, 'float32', 3), ctx));
        assert.deepEqual(logits.shape, [2, numClasses]);
        assert.ok(Array.from(logits.dataSync()).every(Number.isFinite));
        logits.dispose();
      } finally {
        store.dispose();
      }
    }
  });

  test(`${name}: WAS training step on wasm (shift shadow weights on the preset convs), no tensor leak`, (t) => {
    const numClasses = 10;
    const batch = 2;
    const { store, forward } = build(c.definition, { ...CIFAR, numClasses }, 5);
    const shadow = store.convs.filter((v) => v.wasPreset);
    for (const conv of shadow) conv.enableShadow();
    assert.equal(store.countTrainable(), c.params10 + shadow.length, 'one alpha per transformed conv');

    const rng = new Rng(11);
    const drawn = new Map<Conv2d, number>();
    const ctx: ForwardContext = {
      weights: 'shadow',
      bn: 'batch',
      statSet: 'train',
      statMomentum: 0.1,
      transformFor: (conv) => {
        drawn.set(conv, (drawn.get(conv) ?? 0) + 1);
        return drawTransform('shift', conv.k, REFERENCE_PARAMS, rng);
      },
    };
    const x = tf.randomNormal<tf.Rank.R4>([batch, CIFAR.height, CIFAR.width, CIFAR.channels], 0, 1, 'float32', 7);
    const oneHot = tf.oneHot(tf.tensor1d([3, 8], 'int32'), numClasses);
    const optimizer = tf.train.sgd(0.01);
    const variables = [...store.trainable.values()];

    const step = (): { loss: number; alphaGrads: number[]; ms: number } => {
      const start = performance.now();
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(oneHot, forward(x, ctx)) as tf.Scalar, variables);
      optimizer.applyGradients(grads);
      const loss = value.dataSync()[0];
      const alphaGrads = shadow.map((conv) => {
        const g = grads[conv.alpha!.name];
        assert.ok(g !== undefined, `${conv.name}.alpha has a gradient`);
        return g.dataSync()[0];
      });
      value.dispose();
      tf.dispose(grads);
      return { loss, alphaGrads, ms: performance.now() - start };
    };

    try {
      const first = step();
      const afterFirst = tf.memory().numTensors;
      const second = step();
      const afterSecond = tf.memory().numTensors;
      assert.equal(afterSecond, afterFirst, 'tensor count stable from step 1 to step 2');
      for (const s of [first, second]) {
        assert.ok(Number.isFinite(s.loss) && s.loss > 0, `loss ${s.loss}`);
        assert.ok(s.alphaGrads.every(Number.isFinite), 'finite alpha gradients');
      }
      for (const conv of shadow) assert.equal(drawn.get(conv), 2, `${conv.name}: one transform per pass`);
      assert.equal(drawn.size, shadow.length, 'only the preset convs draw transforms');
      const maxAlphaGrad = Math.max(...second.alphaGrads.map(Math.abs));
      t.diagnostic(
        `${name}: ${shadow.length} shadow convs; step 1 ${first.ms.toFixed(0)} ms, step 2 ${second.ms.toFixed(0)} ms ` +
          `(batch ${batch}, ${tf.getBackend()}); loss ${second.loss.toFixed(3)}; max |dL/dalpha| ${maxAlphaGrad.toExponential(2)}`,
      );
    } finally {
      x.dispose();
      oneHot.dispose();
      optimizer.dispose();
      store.dispose();
    }
  });
}

test('googlenet with the WAS reference layout (one real 5x5 conv in branch 3)', () => {
  const { store, forward } = build(makeGoogLeNet('5x5'), { ...CIFAR, numClasses: 100 });
  try {
    // 6,166,250 - 287,184 (two 3x3 + BN -> one 5x5 + BN in nine blocks), + 1024 * 90 + 90.
    assert.equal(store.countTrainable(), 5_879_066 + 1024 * 90 + 90);
    const preset = store.convs.filter((conv) => conv.wasPreset);
    assert.deepEqual(
      preset.map((conv) => `${conv.name}:${conv.k}`),
      INCEPTIONS.flatMap((b) => [`${b}.b2.conv2:3`, `${b}.b3.conv2:5`]),
    );
    const ctx: ForwardContext = { weights: 'plain', bn: 'batch', statSet: 'train', statMomentum: null, transformFor: () => assert.fail() };
    const logits = tf.tidy(() => forward(tf.zeros([1, 32, 32, 3]), ctx));
    assert.deepEqual(logits.shape, [1, 100]);
    logits.dispose();
  } finally {
    store.dispose();
  }
});
