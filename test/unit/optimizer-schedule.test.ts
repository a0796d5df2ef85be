// The optimizers against hand-computed PyTorch semantics, and the learning-rate schedules.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { DEFAULTS, type OptimizerConfig } from '../../src/shared/config';
import { Optimizer } from '../../src/trainer/train/optimizer';
import { learningRate } from '../../src/trainer/train/schedule';

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol * (1 + Math.abs(b)), `${a} vs ${b}`);

function stepTwice(config: OptimizerConfig, name: string) {
  tf.setBackend('cpu');
  const v = tf.variable(tf.tensor1d([1, -2]), true, `t${Math.random()}/${name}`);
  const opt = new Optimizer(config, new Map([[v.name, v]]));
  for (const g of [[0.5, 1], [0.25, -1]]) {
    const grad = tf.tensor1d(g);
    opt.apply({ [v.name]: grad }, 0.1);
    grad.dispose();
  }
  const out = [...v.dataSync()];
  opt.dispose();
  v.dispose();
  return out;
}

test('SGD with momentum follows PyTorch: buf = m*buf + g, w -= lr*buf', () => {
  const config = { ...DEFAULTS.optimizer, name: 'sgd' as const, momentum: 0.9, weightDecay: 0 };
  const [a, b] = stepTwice(config, 'param.bias');
  // w0 = 1: buf1 = 0.5, w1 = 0.95; buf2 = 0.45 + 0.25 = 0.7, w2 = 0.88
  close(a, 0.88);
  // w0 = -2: buf1 = 1, w1 = -2.1; buf2 = 0.9 - 1 = -0.1, w2 = -2.09
  close(b, -2.09);
});

test('weight decay is added to the gradient of kernels only', () => {
  const config = { ...DEFAULTS.optimizer, name: 'sgd' as const, momentum: 0, weightDecay: 0.1 };
  const [k] = stepTwice(config, 'conv.kernel');
  // g1 = 0.5 + 0.1*1 = 0.6 -> 0.94; g2 = 0.25 + 0.094 = 0.344 -> 0.9056
  close(k, 0.9056);
  const [bias] = stepTwice(config, 'conv.bias');
  close(bias, 1 - 0.05 - 0.025);
});

test('Adam follows PyTorch with bias correction', () => {
  const config = { ...DEFAULTS.optimizer, name: 'adam' as const, weightDecay: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
  const [a] = stepTwice(config, 'adam.bias');
  let w = 1;
  let m = 0;
  let s = 0;
  [0.5, 0.25].forEach((g, i) => {
    const t = i + 1;
    m = 0.9 * m + 0.1 * g;
    s = 0.999 * s + 0.001 * g * g;
    w -= (0.1 * (m / (1 - 0.9 ** t))) / (Math.sqrt(s / (1 - 0.999 ** t)) + 1e-8);
  });
  close(a, w, 1e-5);
});

test('learning-rate schedules', () => {
  const base = 0.1;
  const s = DEFAULTS.schedule;
  assert.equal(learningRate(base, { ...s, name: 'constant' }, 7, 0.5), base);
  assert.equal(learningRate(base, { ...s, name: 'step', stepEpochs: 3, gamma: 0.1 }, 2, 0), base);
  close(learningRate(base, { ...s, name: 'step', stepEpochs: 3, gamma: 0.1 }, 3, 0), 0.01);
  close(learningRate(base, { ...s, name: 'step', stepEpochs: 3, gamma: 0.1 }, 6, 0), 0.001);
  assert.equal(learningRate(base, { ...s, name: 'cosine' }, 0, 0), base);
  close(learningRate(base, { ...s, name: 'cosine' }, 0, 0.5), base / 2);
  close(learningRate(base, { ...s, name: 'cosine' }, 0, 1), 0);
});
