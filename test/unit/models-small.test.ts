// LeNet and the small CNN: parameter counts, builds for 1/3 channels and 10/100 classes, and a
// WAS training step on wasm with a stable tensor count (the trainer's own step function).

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { DEFAULTS, type ModelName } from '../../src/shared/config';
import { selectBackend } from '../../src/trainer/backend/select';
import { buildModel, selectShadowLayers } from '../../src/trainer/models/index';
import type { ForwardContext } from '../../src/trainer/nn/context';
import { Rng } from '../../src/trainer/rng';
import { Optimizer } from '../../src/trainer/train/optimizer';
import { trainStep } from '../../src/trainer/train/step';
import { randomTransforms } from '../../src/trainer/train/sampler';
import { REFERENCE_PARAMS } from '../../src/trainer/was/transforms';

before(async () => {
  await selectBackend('wasm', { searchPaths: [] });
});

const COUNTS: [ModelName, number, number, number, number][] = [
  // model, 28x28x1 10 classes, 32x32x3 10 classes, 32x32x3 100 classes, preset layers
  ['lenet', 61_706, 83_126, 83_126 + 84 * 90 + 90, 1],
  ['small-cnn', 50_282, 60_458, 60_458 + 4096 * 90 + 90, 1],
];

for (const [name, mnist, cifar10, cifar100, presetLayers] of COUNTS) {
  test(`${name}: parameter counts and the WAS preset`, () => {
    const count = (height: number, channels: number, numClasses: number) => {
      const model = buildModel(name, { height, width: height, channels, numClasses }, { rng: new Rng(1), bnEpsilon: 1e-5 });
      const n = model.store.countTrainable();
      const shadow = selectShadowLayers(model.store.convs, 'shift', 'preset');
      assert.equal(shadow.length, presetLayers);
      assert.ok(!shadow.includes('conv1'), 'the stem is never transformed');
      assert.equal(model.store.countTrainable(), n + presetLayers, 'one alpha per transformed conv');
      model.store.dispose();
      return n;
    };
    assert.equal(count(28, 1, 10), mnist);
    assert.equal(count(32, 3, 10), cifar10);
    assert.equal(count(32, 3, 100), cifar100);
  });

  test(`${name}: WAS training steps on wasm keep the tensor count stable`, async () => {
    const model = buildModel(name, { height: 28, width: 28, channels: 1, numClasses: 10 }, { rng: new Rng(2), bnEpsilon: 1e-5 });
    selectShadowLayers(model.store.convs, 'mixed', 'all');
    const trainable = [...model.store.trainable.values()];
    const optimizer = new Optimizer({ ...DEFAULTS.optimizer, lr: 0.01 }, new Map(trainable.map((v) => [v.name, v])));
    const ctx: ForwardContext = {
      weights: 'shadow',
      bn: 'batch',
      statSet: 'train',
      statMomentum: 0.1,
      transformFor: randomTransforms('mixed', REFERENCE_PARAMS, new Rng(3)),
    };
    const rng = new Rng(4);
    const pixels = Float32Array.from({ length: 4 * 28 * 28 }, () => rng.normal());
    const labels = Int32Array.from([1, 2, 3, 4]);
    const alphaBefore = model.store.convs.map((c) => c.alpha!.dataSync()[0]);
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { loss } = await trainStep({ model, optimizer, ctx, trainable, pixels, labels, imageShape: [28, 28, 1], lr: 0.01 });
      assert.ok(Number.isFinite(loss));
      counts.push(tf.memory().numTensors);
    }
    assert.equal(counts[1], counts[0]);
    assert.equal(counts[2], counts[0]);
    const alphaAfter = model.store.convs.map((c) => c.alpha!.dataSync()[0]);
    assert.notDeepEqual(alphaAfter, alphaBefore, 'alphas are trained');
    optimizer.dispose();
    model.store.dispose();
  });
}
