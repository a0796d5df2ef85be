// Deterministic test data and the error measure the wasm kernel tests compare backends with.

import * as tf from '@tensorflow/tfjs';

/** Max |got - ref| / max |ref| (Infinity when got has a non-finite value or a length mismatch). */
export function relErr(ref: ArrayLike<number>, got: ArrayLike<number>): number {
  if (ref.length !== got.length) return Infinity;
  let diff = 0, scale = 0;
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(got[i])) return Infinity;
    diff = Math.max(diff, Math.abs(got[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

/** Deterministic uniform values in [-1, 1) + offset (LCG), the same on every backend. */
export function seeded(n: number, seed: number, offset = 0): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1 + offset;
  }
  return out;
}

export function seededTensor(shape: number[], seed: number, offset = 0): tf.Tensor {
  return tf.tensor(seeded(shape.reduce((a, b) => a * b, 1), seed, offset), shape);
}
