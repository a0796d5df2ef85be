// The deterministic DOM search on really trained models (small CNN, generated data, wasm): it
// meets the FLOPs target, picks the best shift when one layer is searched (checked against every
// shift, each measured with recalibrated BatchNorm), works over several layers with both
// algorithms and reports its cost, and refuses an unreachable target before evaluating anything.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { DEFAULTS } from '../../src/shared/config';
import { selectBackend } from '../../src/trainer/backend/select';
import { BatchMaker, splitTrainValidation, type Batch } from '../../src/trainer/data/batches';
import { makeSyntheticDataset } from '../../src/trainer/data/synthetic';
import type { ImageSplit } from '../../src/trainer/data/types';
import { candidateShifts, domTransforms, type Shift } from '../../src/trainer/dom/plan';
import { flopsOf, searchDom, UnreachableTargetError } from '../../src/trainer/dom/search';
import { buildModel, selectShadowLayers } from '../../src/trainer/models/index';
import type { ForwardContext } from '../../src/trainer/nn/context';
import type { Model } from '../../src/trainer/nn/model';
import { Rng } from '../../src/trainer/rng';
import { evaluate, recalibrate, type EvalSetup, type Evaluation } from '../../src/trainer/eval/evaluate';
import { trainStep } from '../../src/trainer/train/step';
import { Optimizer } from '../../src/trainer/train/optimizer';
import { randomTransforms } from '../../src/trainer/train/sampler';
import { REFERENCE_PARAMS } from '../../src/trainer/was/transforms';

before(async () => {
  await selectBackend('wasm', { searchPaths: [] });
});

const SIZE = 16;
const BN = { eval: 'recalibrate' as const, recalibrationBatches: 4, momentum: 0.1, epsilon: 1e-5 };

interface Trained {
  model: Model;
  setup: EvalSetup;
  validation: ImageSplit;
}

/** small-cnn WAS-trained (shift) for two epochs on generated 16x16 images. */
async function trainSmallCnn(layers: 'preset' | 'all', seed: number): Promise<Trained> {
  const dataset = makeSyntheticDataset({ trainCount: 704, testCount: 64, size: SIZE, channels: 1, classes: 4 }, seed);
  const rng = new Rng(seed);
  const { train, validation } = splitTrainValidation(dataset.train, 192, rng.fork());
  const model = buildModel('small-cnn', { height: SIZE, width: SIZE, channels: 1, numClasses: 4 }, { rng: rng.fork(), bnEpsilon: 1e-5 });
  selectShadowLayers(model.store.convs, 'shift', layers);
  const trainable = [...model.store.trainable.values()];
  const optimizer = new Optimizer({ ...DEFAULTS.optimizer, lr: 0.02 }, new Map(trainable.map((v) => [v.name, v])));
  const ctx: ForwardContext = { weights: 'shadow', bn: 'batch', statSet: 'train', statMomentum: 0.1, transformFor: randomTransforms('shift', REFERENCE_PARAMS, rng.fork()) };
  const maker = new BatchMaker(dataset, 32);
  for (let epoch = 0; epoch < 2; epoch++)
    for (let start = 0; start + 32 <= train.count; start += 32) {
      const batch = maker.makeRange(train, start, 32);
      await trainStep({ model, optimizer, ctx, trainable, pixels: batch.pixels, labels: batch.labels, imageShape: [SIZE, SIZE, 1], lr: 0.02 });
    }
  optimizer.dispose();
  const setup: EvalSetup = {
    model,
    bn: BN,
    batches: new BatchMaker(dataset, 96),
    calibration: train,
    calibrationBatches: maker,
    domTransforms: randomTransforms('shift', REFERENCE_PARAMS, new Rng(9)),
  };
  return { model, setup, validation: validation! };
}

test('one transformed layer: the search takes the best shift within the budget, measured with recalibrated BatchNorm', async (t) => {
  const { model, setup, validation } = await trainSmallCnn('preset', 1);
  try {
    const lines: string[] = [];
    const result = await searchDom(model, setup, validation, { flopsTarget: 0.75, algorithm: 'lazy-greedy', maxShift: () => 1, onProgress: (l) => lines.push(l) });
    t.diagnostic(lines.join(' | '));
    const aom = flopsOf(model, null).total;
    assert.equal(result.flops.aom, aom);
    assert.equal(result.flops.budget, Math.floor(0.75 * aom));
    assert.ok(result.flops.dom <= result.flops.budget);
    assert.equal(result.flops.dom, flopsOf(model, result.plan).total);
    // AOM once, then each of the 8 shifts of conv2 (all within 75%: 2x3, 3x2 are 69%, 2x2 48%).
    assert.equal(result.evaluations, 1 + 8);
    assert.ok(result.durationSec > 0);

    // The search leaves the 'dom' statistics fitted to its choice (the last one it measured was another shift).
    const bn2 = model.store.batchNorms[1];
    const left = tf.clone(bn2.statistics('dom').mean);
    recalibrate('dom', { ...setup, domTransforms: domTransforms(result.plan) });
    assert.ok(tf.max(tf.abs(tf.sub(left, bn2.statistics('dom').mean))).dataSync()[0] === 0);
    left.dispose();

    // Every shift measured on its own: the search's choice is the most accurate (then lowest loss).
    const measured: ({ shift: Shift } & Evaluation)[] = [];
    for (const shift of candidateShifts(1)) {
      const s: EvalSetup = { ...setup, domTransforms: domTransforms(new Map([['conv2', shift]])) };
      recalibrate('dom', s);
      measured.push({ shift, ...(await evaluate('dom', validation, s)) });
    }
    const best = [...measured].sort((a, b) => b.accuracy - a.accuracy || a.loss - b.loss)[0];
    const chosen = result.plan.get('conv2')!;
    t.diagnostic(`AOM ${result.accuracy.aom}; shifts: ${measured.map((m) => `(${m.shift.dy},${m.shift.dx}) ${m.accuracy.toFixed(4)}`).join(', ')}; chosen (${chosen.dy},${chosen.dx})`);
    assert.deepEqual(chosen, best.shift);
    assert.equal(result.accuracy.dom, best.accuracy);
    const [layer] = result.layers;
    assert.equal(layer.layer, 'conv2');
    assert.equal(layer.kernel[0] * layer.kernel[1], (3 - Math.abs(chosen.dy)) * (3 - Math.abs(chosen.dx)));
    assert.equal(layer.flops.aom - layer.flops.dom, result.flops.aom - result.flops.dom);
  } finally {
    model.store.dispose();
  }
});

test('two transformed layers: greedy and lazy-greedy both meet a target that needs several steps; lazy costs fewer evaluations', async (t) => {
  const { model, setup, validation } = await trainSmallCnn('all', 2);
  try {
    // conv2 at 2x2 alone is 48.1% of AOM, so 47% needs conv1 shrunk as well: at least two steps.
    const run = async (algorithm: 'greedy' | 'lazy-greedy') => {
      const lines: string[] = [];
      const r = await searchDom(model, setup, validation, { flopsTarget: 0.47, algorithm, maxShift: () => 1, onProgress: (l) => lines.push(l) });
      t.diagnostic(`${algorithm}: ${r.evaluations} evaluations, ${r.durationSec.toFixed(1)}s; ${lines.join(' | ')}`);
      return r;
    };
    const greedy = await run('greedy');
    const lazy = await run('lazy-greedy');
    for (const r of [greedy, lazy]) {
      assert.ok(r.flops.dom <= r.flops.budget, `${r.flops.dom} > ${r.flops.budget}`);
      assert.equal(r.flops.dom, flopsOf(model, r.plan).total);
      assert.deepEqual(r.layers.map((l) => l.layer), ['conv1', 'conv2']);
      assert.deepEqual(r.layers.find((l) => l.layer === 'conv2')?.kernel, [2, 2]);
      assert.ok(r.layers.find((l) => l.layer === 'conv1')!.kernel[0] * r.layers.find((l) => l.layer === 'conv1')!.kernel[1] < 9);
    }
    // Both measure all 16 moves at the first step; greedy re-measures every remaining one later.
    assert.ok(greedy.evaluations >= 1 + 16 + 2, `greedy: ${greedy.evaluations}`);
    assert.ok(lazy.evaluations <= greedy.evaluations, `lazy ${lazy.evaluations} > greedy ${greedy.evaluations}`);
  } finally {
    model.store.dispose();
  }
});

test('a target at or above 1 keeps every layer whole: the DOM is AOM, one evaluation', async () => {
  const { model, setup, validation } = await trainSmallCnn('preset', 3);
  try {
    const r = await searchDom(model, setup, validation, { flopsTarget: 1, algorithm: 'lazy-greedy', maxShift: () => 1 });
    assert.equal(r.evaluations, 1);
    assert.equal(r.flops.dom, r.flops.aom);
    assert.equal(r.accuracy.dom, r.accuracy.aom);
    assert.deepEqual([...r.plan.values()], [{ dy: 0, dx: 0 }]);
  } finally {
    model.store.dispose();
  }
});

/** Evaluation data that fails the test if the search touches it. */
class UntouchableBatches extends BatchMaker {
  override makeRange(): Batch {
    throw new Error('the search evaluated something');
  }
}

test('an unreachable target is refused before any evaluation, saying what can shrink and what target can be met', async () => {
  const dataset = makeSyntheticDataset({ trainCount: 8, testCount: 8, size: 28, channels: 1, classes: 4 }, 1);
  const untouchable = new UntouchableBatches(dataset, 8);
  const check = async (transform: 'shift' | 'none', target: number, message: RegExp) => {
    const model = buildModel('lenet', { height: 28, width: 28, channels: 1, numClasses: 10 }, { rng: new Rng(1), bnEpsilon: 1e-5 });
    try {
      selectShadowLayers(model.store.convs, transform, 'preset');
      const setup: EvalSetup = { model, bn: BN, batches: untouchable, calibration: dataset.train, calibrationBatches: untouchable, domTransforms: () => assert.fail() };
      await assert.rejects(() => searchDom(model, setup, dataset.test, { flopsTarget: target, algorithm: 'greedy', maxShift: () => 1 }), (e: unknown) => {
        assert.ok(e instanceof UnreachableTargetError);
        assert.match(e.message, message);
        return true;
      });
    } finally {
      model.store.dispose();
    }
  };
  // LeNet: only conv2 (5x5, 57.6% of the FLOPs) is transformed; at 4x4 the network keeps 79.3%.
  await check('shift', 0.7, /FLOPs target 70\.00% is unreachable: only the 1 transformed layer \(conv2\) can shrink; .* 330,120 FLOPs per image, 79\.26% of AOM's 416,520, and the untransformed layers alone hold 42\.38%\. Choose a target of at least 0\.793\./);
  await check('none', 0.9, /lenet has no transformed layers/);
});
