// The statistics beside every accuracy on a split: Wilson's 95% interval (checked against the
// published values of Newcombe 1998, Table I, method 3) and the confusion matrix with the
// per-class accuracies read off it (checked against counts made by hand).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracyInterval, confusionMatrix, matrixAccuracy, perClassAccuracy, wilsonInterval } from '../../src/shared/accuracy';

const near = (a: number, b: number, tolerance = 5e-5) => assert.ok(Math.abs(a - b) <= tolerance, `${a} is not within ${tolerance} of ${b}`);

test("Wilson's interval matches Newcombe's published score intervals", () => {
  // Newcombe, "Two-sided confidence intervals for the single proportion" (1998), Table I.
  const published: [number, number, number, number][] = [
    [81, 263, 0.2553, 0.3662],
    [15, 148, 0.0624, 0.1605],
    [0, 20, 0, 0.1611],
    [1, 29, 0.0061, 0.1718],
  ];
  for (const [k, n, low, high] of published) {
    const interval = wilsonInterval(k, n);
    near(interval.low, low);
    near(interval.high, high);
  }
});

test('the interval stays inside [0, 1], narrows with n, and knows nothing at n = 0', () => {
  assert.deepEqual(wilsonInterval(0, 0), { low: 0, high: 1 });
  const all = wilsonInterval(128, 128);
  assert.equal(all.high, 1);
  assert.ok(all.low > 0.97 && all.low < 0.98, `128/128: ${all.low}`);
  const small = accuracyInterval(0.9, 128)!;
  const large = accuracyInterval(0.9, 10_000)!;
  assert.ok(small.high - small.low > 5 * (large.high - large.low));
  assert.ok(small.low < 0.9 && small.high > 0.9);
  assert.equal(accuracyInterval(Number.NaN, 128), null);
  assert.equal(accuracyInterval(0.5, 0), null);
});

test('a confusion matrix counts (true, predicted) pairs; per-class accuracy is its diagonal over each row', () => {
  const labels = [0, 1, 2, 2, 1, 0, 2];
  const predicted = [0, 2, 2, 2, 1, 1, 0];
  const matrix = confusionMatrix(labels, predicted, 4);
  assert.deepEqual(matrix, [
    [1, 1, 0, 0],
    [0, 1, 1, 0],
    [1, 0, 2, 0],
    [0, 0, 0, 0],
  ]);
  const perClass = perClassAccuracy(matrix);
  assert.deepEqual(perClass.slice(0, 3), [
    { n: 2, correct: 1, accuracy: 0.5 },
    { n: 2, correct: 1, accuracy: 0.5 },
    { n: 3, correct: 2, accuracy: 2 / 3 },
  ]);
  assert.ok(Number.isNaN(perClass[3].accuracy), 'a class with no images has no accuracy');
  assert.deepEqual(matrixAccuracy(matrix), { correct: 4, n: 7, accuracy: 4 / 7 });
  assert.throws(() => confusionMatrix([5], [0], 4), /outside the 4 classes/);
  assert.throws(() => confusionMatrix([0, 1], [0], 4), /2 labels but 1 predictions/);
});
