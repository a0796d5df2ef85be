// The WAS engine's pure functions: draw distributions (WAS.md), the matrices, and exact
// gradients through the transform (finite differences on the cpu backend).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/trainer/rng';
import {
  REFERENCE_PARAMS,
  applyToPlane,
  cropResizeMatrix,
  cropTransform,
  drawCrop,
  drawShift,
  drawTransform,
  isIdentity,
  planeMatrix,
  roundHalfEven,
  shiftMatrix,
  shiftTransform,
  type KernelTransform,
  type ShadowFamily,
} from '../../src/trainer/was/transforms';
import { transformKernel } from '../../src/trainer/nn/conv';

const DRAWS = 200_000;

test('shift draws for k=3 move each axis -1/0/+1 with probability 2/9, 5/9, 2/9', () => {
  const rng = new Rng(7);
  const counts = { dy: new Map<number, number>(), dx: new Map<number, number>() };
  for (let i = 0; i < DRAWS; i++) {
    const d = drawShift(3, REFERENCE_PARAMS, rng).detail;
    assert.equal(d.kind, 'shift');
    if (d.kind !== 'shift') return;
    counts.dy.set(d.dy, (counts.dy.get(d.dy) ?? 0) + 1);
    counts.dx.set(d.dx, (counts.dx.get(d.dx) ?? 0) + 1);
  }
  for (const axis of [counts.dy, counts.dx]) {
    assert.deepEqual([...axis.keys()].sort(), [-1, 0, 1]);
    assert.ok(Math.abs(axis.get(-1)! / DRAWS - 2 / 9) < 0.005, `P(-1) = ${axis.get(-1)! / DRAWS}`);
    assert.ok(Math.abs(axis.get(0)! / DRAWS - 5 / 9) < 0.005, `P(0) = ${axis.get(0)! / DRAWS}`);
    assert.ok(Math.abs(axis.get(1)! / DRAWS - 2 / 9) < 0.005, `P(+1) = ${axis.get(1)! / DRAWS}`);
  }
});

test('a shift zeroes 3 of 9 taps on one axis and 5 of 9 on both, and nothing else', () => {
  const ones = new Float32Array(9).fill(1);
  const zeros = (t: KernelTransform) => applyToPlane(t, ones).filter((v) => v === 0).length;
  assert.equal(zeros(shiftTransform(3, 0, 0)), 0);
  assert.equal(zeros(shiftTransform(3, 1, 0)), 3);
  assert.equal(zeros(shiftTransform(3, 0, -1)), 3);
  assert.equal(zeros(shiftTransform(3, -1, 1)), 5);
  // Output row i reads input row i - dy: a shift down by one moves the first row to the second.
  const plane = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual([...applyToPlane(shiftTransform(3, 1, 0), plane)], [0, 0, 0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...applyToPlane(shiftTransform(3, 0, -1), plane)], [2, 3, 0, 5, 6, 0, 8, 9, 0]);
});

test('crop draws for k=3: about 84% identity, about 8% each 2x3 and 3x2 windows', () => {
  const rng = new Rng(11);
  const counts = new Map<string, number>();
  for (let i = 0; i < DRAWS; i++) {
    const t = drawCrop(3, REFERENCE_PARAMS, rng);
    if (t.detail.kind !== 'crop') assert.fail('crop drew a non-crop');
    const key = `${t.detail.height}x${t.detail.width}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    assert.equal(isIdentity(t), key === '3x3');
  }
  assert.deepEqual([...counts.keys()].sort(), ['2x3', '3x2', '3x3']);
  const p = (k: string) => counts.get(k)! / DRAWS;
  assert.ok(Math.abs(p('3x3') - 0.844) < 0.006, `identity ${p('3x3')}`);
  assert.ok(Math.abs(p('2x3') - 0.078) < 0.004, `2x3 ${p('2x3')}`);
  assert.ok(Math.abs(p('3x2') - 0.078) < 0.004, `3x2 ${p('3x2')}`);
});

test('mixed draws a shift or a crop with probability 1/2 each', () => {
  const rng = new Rng(3);
  let shifts = 0;
  for (let i = 0; i < 50_000; i++) if (drawTransform('mixed', 3, REFERENCE_PARAMS, rng).detail.kind === 'shift') shifts++;
  assert.ok(Math.abs(shifts / 50_000 - 0.5) < 0.01, `shift share ${shifts / 50_000}`);
});

test('crop resize is bilinear with align_corners=false (PyTorch): [a, b] -> [a, (a+b)/2, b]', () => {
  const m = cropResizeMatrix(3, 1, 2); // rows 1..2 of a 3-tap axis resized to 3 taps
  assert.deepEqual([...m], [0, 1, 0, 0, 0.5, 0.5, 0, 0, 1]);
  // Each output tap is a convex combination of input taps.
  for (const [start, size] of [[0, 2], [0, 3], [1, 2]]) {
    const r = cropResizeMatrix(3, start, size);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(r[i * 3] + r[i * 3 + 1] + r[i * 3 + 2] - 1) < 1e-7);
  }
  assert.ok(isIdentity(cropTransform(3, 0, 0, 3, 3)));
  assert.deepEqual([...shiftMatrix(3, 0)], [1, 0, 0, 0, 1, 0, 0, 0, 1]);
});

test('roundHalfEven rounds like Python (the reference draws use round())', () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 0.49, -0.51].map(roundHalfEven), [0, 2, 2, -0, -2, 0, -1]);
});

test('the plane matrix and the tfjs kernel transform agree with the plane-by-plane reference', () => {
  const rng = new Rng(5);
  for (const family of ['shift', 'crop', 'mixed'] as ShadowFamily[]) {
    for (const k of [3, 5]) {
      const t = drawTransform(family, k, REFERENCE_PARAMS, rng);
      const cin = 2;
      const cout = 3;
      const w = Float32Array.from({ length: k * k * cin * cout }, () => rng.normal());
      const out = tf.tidy(() => transformKernel(tf.tensor4d(w, [k, k, cin, cout]), t).dataSync());
      for (let c = 0; c < cin * cout; c++) {
        const plane = Float32Array.from({ length: k * k }, (_, p) => w[p * cin * cout + c]);
        const want = applyToPlane(t, plane);
        for (let p = 0; p < k * k; p++) assert.ok(Math.abs(out[p * cin * cout + c] - want[p]) < 1e-5);
      }
      assert.equal(planeMatrix(t).length, k ** 4);
    }
  }
});

test('same seed, same draws', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  for (let i = 0; i < 100; i++) assert.deepEqual(drawTransform('mixed', 3, REFERENCE_PARAMS, a), drawTransform('mixed', 3, REFERENCE_PARAMS, b));
});

test('gradients through the shadow transform match finite differences (W and alpha, each family)', async () => {
  await tf.setBackend('cpu');
  const rng = new Rng(9);
  const x = tf.tensor4d(Float32Array.from({ length: 2 * 6 * 6 * 2 }, () => rng.normal()), [2, 6, 6, 2]);
  const families: [string, KernelTransform][] = [
    ['shift', shiftTransform(3, 1, -1)],
    ['crop', cropTransform(3, 1, 0, 2, 3)],
    ['mixed (a drawn transform)', drawTransform('mixed', 3, REFERENCE_PARAMS, new Rng(4))],
  ];
  for (const [name, t] of families) {
    const w0 = Float32Array.from({ length: 3 * 3 * 2 * 3 }, () => rng.normal() * 0.5);
    // alpha T(W) as the layers compute it, (alpha M) W (nn/conv.ts): equal to alpha times T(W).
    const loss = (w: tf.Tensor4D, alpha: tf.Scalar): tf.Scalar =>
      tf.tanh(tf.conv2d(x, transformKernel(w, t, alpha), 1, 'same')).square().sum() as tf.Scalar;
    const w = tf.tensor4d(w0, [3, 3, 2, 3]);
    const alpha = tf.scalar(0.7);
    const scaled = transformKernel(w, t, alpha).dataSync(), product = tf.mul(alpha, transformKernel(w, t)).dataSync();
    scaled.forEach((v, i) => assert.ok(Math.abs(v - product[i]) <= 1e-6 * (1 + Math.abs(product[i])), `${name}: (alpha M) W vs alpha (M W) at ${i}`));
    const [gw, ga] = tf.grads((wv: tf.Tensor, av: tf.Tensor) => loss(wv as tf.Tensor4D, av as tf.Scalar))([w, alpha]);
    const gwData = gw.dataSync();
    const eps = 1e-2;
    const at = (wv: Float32Array, a: number) => tf.tidy(() => loss(tf.tensor4d(wv, [3, 3, 2, 3]), tf.scalar(a)).dataSync()[0]);
    const scale = Math.max(...gwData.map(Math.abs));
    for (const i of [0, 4, 7, 13, 22, 40, 53]) {
      const plus = w0.slice();
      const minus = w0.slice();
      plus[i] += eps;
      minus[i] -= eps;
      const fd = (at(plus, 0.7) - at(minus, 0.7)) / (2 * eps);
      assert.ok(Math.abs(fd - gwData[i]) < 2e-2 * scale + 1e-3, `${name}: dL/dW[${i}] autodiff ${gwData[i]} vs FD ${fd}`);
    }
    const fdAlpha = (at(w0, 0.7 + eps) - at(w0, 0.7 - eps)) / (2 * eps);
    const gaValue = ga.dataSync()[0];
    assert.ok(Math.abs(fdAlpha - gaValue) < 2e-2 * Math.abs(fdAlpha) + 1e-3, `${name}: dL/dalpha ${gaValue} vs FD ${fdAlpha}`);
    // Taps a shift zeroes get no gradient: dL/dW = T^T(...) vanishes where T drops the tap.
    if (name === 'shift') {
      // dy=+1 drops input row 2; dx=-1 drops input column 0.
      for (let c = 0; c < 6; c++) {
        for (const q of [0, 1, 2]) assert.equal(gwData[(2 * 3 + q) * 6 + c], 0);
        for (const p of [0, 1, 2]) assert.equal(gwData[(p * 3 + 0) * 6 + c], 0);
      }
    }
    tf.dispose([w, alpha, gw, ga]);
  }
  x.dispose();
});
