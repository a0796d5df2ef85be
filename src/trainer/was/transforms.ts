// Shadow-weight transforms as pure functions (no tfjs): each draw is a pair of small k x k
// matrices A (rows) and B (columns) with SW = alpha * A W B^T on every k x k kernel plane
// of a layer. The draws follow the reference code's torchvision calls exactly (WAS.md).

import { Rng } from '../rng';

export type ShadowFamily = 'shift' | 'crop' | 'mixed';

export interface TransformParams {
  /** shift: translate fraction t; each axis shifts round(U(-t*k, t*k)) taps. */
  translate: number;
  /** crop: area fraction range and aspect-ratio range (RandomResizedCrop). */
  cropScale: readonly [number, number];
  cropRatio: readonly [number, number];
  /** mixed: probability that a draw is a shift (else a crop). */
  mixedShiftProbability: number;
}

export const REFERENCE_PARAMS: TransformParams = {
  translate: 0.3,
  cropScale: [0.8, 1.0],
  cropRatio: [3 / 4, 4 / 3],
  mixedShiftProbability: 0.5,
};

export type TransformDetail =
  | { kind: 'shift'; dy: number; dx: number }
  | { kind: 'crop'; top: number; left: number; height: number; width: number };

export interface KernelTransform {
  readonly k: number;
  /** k x k row-major: output row i takes sum_p rows[i*k+p] * input row p. */
  readonly rows: Float32Array;
  /** k x k row-major, same for columns. */
  readonly cols: Float32Array;
  readonly detail: TransformDetail;
}

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Matrix moving taps by `offset` (output i reads input i - offset); vacated taps are 0. */
export function shiftMatrix(k: number, offset: number): Float32Array {
  const m = new Float32Array(k * k);
  for (let i = 0; i < k; i++) {
    const p = i - offset;
    if (p >= 0 && p < k) m[i * k + p] = 1;
  }
  return m;
}

/**
 * Matrix taking `size` taps starting at `start` and resizing them to k taps with bilinear
 * interpolation, align_corners=false (PyTorch's source index: (i + 0.5) * size / k - 0.5, clamped at 0).
 */
export function cropResizeMatrix(k: number, start: number, size: number): Float32Array {
  const m = new Float32Array(k * k);
  const scale = size / k;
  for (let i = 0; i < k; i++) {
    const src = Math.max((i + 0.5) * scale - 0.5, 0);
    const p0 = Math.floor(src);
    const p1 = Math.min(p0 + 1, size - 1);
    const frac = src - p0;
    m[i * k + start + p0] += 1 - frac;
    m[i * k + start + p1] += frac;
  }
  return m;
}

export function identityTransform(k: number): KernelTransform {
  const eye = shiftMatrix(k, 0);
  return { k, rows: eye, cols: eye, detail: { kind: 'shift', dy: 0, dx: 0 } };
}

export function shiftTransform(k: number, dy: number, dx: number): KernelTransform {
  return { k, rows: shiftMatrix(k, dy), cols: shiftMatrix(k, dx), detail: { kind: 'shift', dy, dx } };
}

export function cropTransform(k: number, top: number, left: number, height: number, width: number): KernelTransform {
  return {
    k,
    rows: cropResizeMatrix(k, top, height),
    cols: cropResizeMatrix(k, left, width),
    detail: { kind: 'crop', top, left, height, width },
  };
}

/** torchvision RandomAffine(degrees=0, translate=(t, t)) on a k x k plane. */
export function drawShift(k: number, params: TransformParams, rng: Rng): KernelTransform {
  const max = params.translate * k;
  const dx = roundHalfEven(rng.uniform(-max, max));
  const dy = roundHalfEven(rng.uniform(-max, max));
  return shiftTransform(k, dy, dx);
}

/** torchvision RandomResizedCrop.get_params on a k x k plane, then a bilinear resize back to k x k. */
export function drawCrop(k: number, params: TransformParams, rng: Rng): KernelTransform {
  const area = k * k;
  const logLo = Math.log(params.cropRatio[0]);
  const logHi = Math.log(params.cropRatio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniform(params.cropScale[0], params.cropScale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= k && h > 0 && h <= k) {
      const top = rng.int(k - h + 1);
      const left = rng.int(k - w + 1);
      return cropTransform(k, top, left, h, w);
    }
  }
  // torchvision's fallback for a square plane is the whole plane: the identity.
  return cropTransform(k, 0, 0, k, k);
}

export function drawTransform(family: ShadowFamily, k: number, params: TransformParams, rng: Rng): KernelTransform {
  switch (family) {
    case 'shift':
      return drawShift(k, params, rng);
    case 'crop':
      return drawCrop(k, params, rng);
    case 'mixed':
      return rng.next() < params.mixedShiftProbability ? drawShift(k, params, rng) : drawCrop(k, params, rng);
  }
}

/** True when the transform leaves every kernel unchanged. */
export function isIdentity(t: KernelTransform): boolean {
  const k = t.k;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const want = i === j ? 1 : 0;
      if (Math.abs(t.rows[i * k + j] - want) > 1e-7 || Math.abs(t.cols[i * k + j] - want) > 1e-7) return false;
    }
  }
  return true;
}

/**
 * The (k*k) x (k*k) matrix M = A (x) B with vec(A W B^T) = M vec(W) for row-major vec,
 * so a whole kernel [k, k, cin, cout] is transformed by one matrix product.
 */
export function planeMatrix(t: KernelTransform): Float32Array {
  const k = t.k;
  const n = k * k;
  const m = new Float32Array(n * n);
  for (let i = 0; i < k; i++)
    for (let p = 0; p < k; p++) {
      const a = t.rows[i * k + p];
      if (a === 0) continue;
      for (let j = 0; j < k; j++)
        for (let q = 0; q < k; q++) m[(i * k + j) * n + p * k + q] = a * t.cols[j * k + q];
    }
  return m;
}

/** Apply a transform to one k x k plane (row-major), in plain JS: the reference for tests. */
export function applyToPlane(t: KernelTransform, plane: ArrayLike<number>): Float32Array {
  const k = t.k;
  const tmp = new Float32Array(k * k);
  const out = new Float32Array(k * k);
  for (let i = 0; i < k; i++)
    for (let q = 0; q < k; q++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += t.rows[i * k + p] * plane[p * k + q];
      tmp[i * k + q] = s;
    }
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += tmp[i * k + q] * t.cols[j * k + q];
      out[i * k + j] = s;
    }
  return out;
}
