// Real training runs on the wasm backend with generated data: the run folder and its event
// stream, determinism, stopping, divergence, bad settings, and BatchNorm recalibration.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { resolveConfig, type TrainConfig } from '../../src/shared/config';
import { parseEventLines, type EpochEvent, type TrainerEvent } from '../../src/shared/protocol';
import { selectBackend } from '../../src/trainer/backend/select';
import { runTraining } from '../../src/trainer/train/session';
import { recalibrate, type EvalSetup } from '../../src/trainer/eval/evaluate';
import { buildModel, selectShadowLayers } from '../../src/trainer/models/index';
import { BatchMaker } from '../../src/trainer/data/batches';
import { makeSyntheticDataset } from '../../src/trainer/data/synthetic';
import { randomTransforms } from '../../src/trainer/train/sampler';
import { REFERENCE_PARAMS } from '../../src/trainer/was/transforms';
import { Rng } from '../../src/trainer/rng';
import { runNumbers } from '../support/run-numbers';

const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-runs-'));

function config(patch: Record<string, unknown> = {}): TrainConfig {
  return resolveConfig([
    {
      patch: {
        model: 'small-cnn',
        data: { name: 'synthetic', validationSize: 64, synthetic: { trainCount: 320, testCount: 64, size: 16, channels: 1, classes: 4 } },
        epochs: 2,
        batchSize: 32,
        evalBatchSize: 64,
        seed: 3,
        backend: 'wasm',
        logEverySteps: 2,
        runsDir,
        bn: { recalibrationBatches: 2 },
      },
      where: 'test',
    },
    { patch, where: 'test case' },
  ]);
}

async function run(cfg: TrainConfig, stopAfterSteps = Infinity) {
  const events: TrainerEvent[] = [];
  let steps = 0;
  const result = await runTraining(cfg, {
    emit: (e) => {
      events.push(e);
      if (e.type === 'step') steps = e.step;
    },
    stopRequested: () => (steps >= stopAfterSteps ? 'test stop' : null),
  });
  return { ...result, events };
}

before(async () => {
  await selectBackend('wasm', { searchPaths: [] });
});

test('a WAS run writes config.json, metrics.jsonl, log.txt and summary.json with the whole event stream', async () => {
  const { end, runDir, events } = await run(config({ runName: 'complete' }));
  assert.equal(end.status, 'completed', end.reason ?? '');
  assert.equal(end.epochsCompleted, 2);
  assert.ok(end.test && end.test.aom > 0.25, `test AOM ${end.test?.aom} (chance 0.25)`);

  const saved = JSON.parse(fs.readFileSync(path.join(runDir, 'config.json'), 'utf8'));
  assert.equal(saved.seed, 3);
  assert.equal(saved.config.model, 'small-cnn');
  assert.equal(saved.backend.name, 'wasm');
  assert.ok(saved.versions.tfjs && saved.versions.node && saved.versions['was-lab']);

  const { events: fromDisk, tornLastLine } = parseEventLines(fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8'));
  assert.equal(tornLastLine, false);
  assert.deepEqual(fromDisk.map((e) => e.type), events.map((e) => e.type));
  const types = fromDisk.map((e) => e.type);
  assert.equal(types.filter((t) => t === 'run-start').length, 1);
  assert.equal(types.at(-1), 'run-end');
  const epochs = fromDisk.filter((e): e is EpochEvent => e.type === 'epoch');
  assert.equal(epochs.length, 2);
  for (const e of epochs) {
    assert.ok(e.aomAccuracy >= 0 && e.aomAccuracy <= 1 && e.domAccuracy >= 0 && e.domAccuracy <= 1);
    assert.deepEqual(Object.keys(e.alphas), ['conv2']);
    assert.equal(e.selectionSplit, 'validation');
  }
  // No tensor leaks: the live tensor count is the same after every epoch.
  assert.equal(epochs[0].numTensors, epochs[1].numTensors);
  assert.ok(fromDisk.some((e) => e.type === 'step'));
  assert.match(fs.readFileSync(path.join(runDir, 'log.txt'), 'utf8'), /epoch 2 done in .* validation AOM/);
  assert.equal(JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')).status, 'completed');
});

test('same seed, same backend, same config: the same metrics bit for bit', async () => {
  const a = await run(config({ was: { transform: 'mixed' } }));
  const b = await run(config({ was: { transform: 'mixed' } }));
  assert.deepEqual(runNumbers(a.events), runNumbers(b.events));
  const c = await run(config({ was: { transform: 'mixed' }, seed: 4 }));
  assert.notDeepEqual(runNumbers(a.events), runNumbers(c.events));
});

test('a stop request ends the run at a step boundary as stopped, keeping what was measured', async () => {
  const mid = await run(config(), 3);
  assert.equal(mid.end.status, 'stopped');
  assert.equal(mid.end.reason, 'test stop');
  assert.equal(mid.end.epochsCompleted, 0);
  assert.equal(mid.end.test, null);
  const lastStep = mid.events.filter((e) => e.type === 'step').at(-1);
  assert.equal(lastStep?.type === 'step' && lastStep.step, 4); // step events every 2 steps; stop seen after step 3 or 4

  const stepsPerEpoch = Math.floor(256 / 32);
  const later = await run(config(), stepsPerEpoch + 1);
  assert.equal(later.end.status, 'stopped');
  assert.equal(later.end.epochsCompleted, 1);
  assert.ok(later.end.test !== null, 'the completed epoch is tested');
  assert.equal(later.events.filter((e) => e.type === 'epoch').length, 1);
  const summary = JSON.parse(fs.readFileSync(path.join(later.runDir, 'summary.json'), 'utf8'));
  assert.equal(summary.status, 'stopped');
});

test('a non-finite loss fails the run with a clear error', async () => {
  const { end } = await run(config({ optimizer: { lr: 1e30 }, schedule: { name: 'constant' } }));
  assert.equal(end.status, 'failed');
  assert.match(end.reason ?? '', /the training loss became (NaN|Infinity) at epoch 1, step \d+ .*lower the learning rate/);
});

test('bad settings fail the run with a specific message', async () => {
  const noValidation = await run(config({ data: { validationSize: 0 } }));
  assert.equal(noValidation.end.status, 'failed');
  assert.match(noValidation.end.reason ?? '', /selectOn is "validation" but data.validationSize is 0/);

  const badLayer = await run(config({ was: { layers: ['conv9'] } }));
  assert.equal(badLayer.end.status, 'failed');
  assert.match(badLayer.end.reason ?? '', /unknown layer 'conv9' in was.layers; layers with k > 1: conv1, conv2/);

  const missing = await run(config({ data: { name: 'fashion-mnist', dir: path.join(runsDir, 'no-such-folder') } }));
  assert.equal(missing.end.status, 'failed');
  assert.match(missing.end.reason ?? '', /no-such-folder/);
  assert.ok(fs.existsSync(path.join(missing.runDir, 'summary.json')), 'a failed run still leaves its folder and summary');
});

test('recalibration gives each mode the statistics of its own weights (the BatchNorm pitfall)', () => {
  const dataset = makeSyntheticDataset({ trainCount: 64, testCount: 8, size: 16, channels: 1, classes: 4 }, 1);
  const model = buildModel('small-cnn', { height: 16, width: 16, channels: 1, numClasses: 4 }, { rng: new Rng(1), bnEpsilon: 1e-5 });
  assert.deepEqual(selectShadowLayers(model.store.convs, 'shift', 'preset'), ['conv2']);
  const maker = new BatchMaker(dataset, 64);
  const setup: EvalSetup = {
    model,
    bn: { eval: 'recalibrate', recalibrationBatches: 1, momentum: 0.1, epsilon: 1e-5 },
    batches: maker,
    calibration: dataset.train,
    calibrationBatches: maker,
    domTransforms: randomTransforms('shift', REFERENCE_PARAMS, new Rng(2)),
  };
  const before = tf.memory().numTensors;
  recalibrate('aom', setup);
  assert.equal(tf.memory().numTensors, before, 'recalibration leaks no tensors');

  // Expected: the per-channel moments of bn2's input when conv2 runs with alpha * W (plain weights).
  const conv1 = model.store.convs[0];
  const conv2 = model.store.convs[1];
  const [bn1, bn2] = model.store.batchNorms;
  const batch = maker.makeRange(dataset.train, 0, 64);
  const { mean, variance } = tf.tidy(() => {
    const x = tf.tensor4d(batch.pixels, [64, 16, 16, 1]);
    const h1 = conv1.apply(x, { weights: 'plain', bn: 'batch', statSet: 'aom', statMomentum: null, transformFor: () => assert.fail() });
    const m1 = tf.moments(h1, [0, 1, 2]);
    const a1 = tf.maxPool(tf.relu(tf.batchNorm(h1, m1.mean, m1.variance, bn1.beta, bn1.gamma, 1e-5)) as tf.Tensor4D, 2, 2, 'valid');
    const h2 = tf.conv2d(a1, tf.mul(conv2.alpha!, conv2.kernel) as tf.Tensor4D, 1, 1);
    const m2 = tf.moments(h2, [0, 1, 2]);
    const n = 64 * 8 * 8;
    return { mean: m2.mean, variance: m2.variance.mul(n / (n - 1)) };
  });
  const stats = bn2.statistics('aom');
  const close = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
  assert.ok(close(stats.mean, mean) < 1e-4, `aom mean off by ${close(stats.mean, mean)}`);
  assert.ok(close(stats.variance, variance) < 1e-4 * (1 + tf.max(variance).dataSync()[0]));
  // The training statistics are untouched, and differ from the AOM ones after recalibration.
  assert.ok(close(bn2.statistics('train').mean, tf.zerosLike(mean)) === 0);
  tf.dispose([mean, variance]);
  model.store.dispose();
});
