// What an accuracy on a split means: the 95% interval around it (Wilson's score interval, which
// stays inside [0, 1] and is honest at small n), the confusion matrix it comes from, and the
// per-class accuracies read off that matrix. Pure: the trainer counts, the panel shows.

/** z for a two-sided 95% interval: the 0.975 quantile of the standard normal. */
export const Z_95 = 1.959963984540054;

export interface Interval {
  low: number;
  high: number;
}

/**
 * Wilson's score interval for `correct` successes out of `n` trials:
 * (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n), p = correct / n.
 * n = 0 gives the whole of [0, 1] (nothing is known).
 */
export function wilsonInterval(correct: number, n: number, z = Z_95): Interval {
  if (!(n > 0)) return { low: 0, high: 1 };
  const p = Math.min(1, Math.max(0, correct / n));
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = p + z2 / (2 * n);
  const margin = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, (centre - margin) / denominator), high: Math.min(1, (centre + margin) / denominator) };
}

/** The interval of an accuracy measured on n images (correct = round(accuracy * n)). */
export function accuracyInterval(accuracy: number, n: number): Interval | null {
  if (!Number.isFinite(accuracy) || !(n > 0)) return null;
  return wilsonInterval(Math.round(accuracy * n), n);
}

/** An empty classes x classes matrix. */
export function emptyConfusion(classes: number): number[][] {
  return Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
}

/** Count each (true label, predicted label) pair into `matrix` (row = true, column = predicted). */
export function addToConfusion(matrix: number[][], labels: ArrayLike<number>, predicted: ArrayLike<number>): void {
  if (labels.length !== predicted.length) throw new Error(`${labels.length} labels but ${predicted.length} predictions`);
  for (let i = 0; i < labels.length; i++) {
    const row = matrix[labels[i]];
    if (row === undefined || predicted[i] < 0 || predicted[i] >= row.length) throw new Error(`label ${labels[i]} or prediction ${predicted[i]} is outside the ${matrix.length} classes`);
    row[predicted[i]]++;
  }
}

export function confusionMatrix(labels: ArrayLike<number>, predicted: ArrayLike<number>, classes: number): number[][] {
  const matrix = emptyConfusion(classes);
  addToConfusion(matrix, labels, predicted);
  return matrix;
}

export interface ClassAccuracy {
  /** Images of the class, and how many of them were predicted as it. */
  n: number;
  correct: number;
  /** NaN for a class with no images. */
  accuracy: number;
}

/** Per true class: the diagonal over the row sum. */
export function perClassAccuracy(matrix: readonly (readonly number[])[]): ClassAccuracy[] {
  return matrix.map((row, c) => {
    const n = row.reduce((a, b) => a + b, 0);
    const correct = row[c] ?? 0;
    return { n, correct, accuracy: n > 0 ? correct / n : Number.NaN };
  });
}

/** Overall accuracy and n of a confusion matrix. */
export function matrixAccuracy(matrix: readonly (readonly number[])[]): { correct: number; n: number; accuracy: number } {
  let n = 0;
  let correct = 0;
  matrix.forEach((row, c) => {
    for (const x of row) n += x;
    correct += row[c] ?? 0;
  });
  return { correct, n, accuracy: n > 0 ? correct / n : Number.NaN };
}
