// Where a conv (or pool) window reads its input: explicit padding as tfjs computes it, and what
// happens when only part of a k x k kernel is non-zero. A fixed shift zeroes whole kernel rows or
// columns; the conv with just the remaining window, and its padding reduced on the side of each
// dropped row/column, gives the same output, element for element, at a smaller cost. FLOPs
// counting (nn/flops.ts) and the export (export/layers-ops.ts) both use this, so the counted
// FLOPs are the exported model's.

import type { Padding } from './conv';

/** The taps of a k x k kernel a conv uses: rows top..top+height-1, columns left..left+width-1. */
export interface KernelWindow {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

export function fullWindow(k: number): KernelWindow {
  return { top: 0, left: 0, height: k, width: k };
}

/** [before, after] padding along one axis, as tfjs pads for conv2d and maxPool. */
export function axisPadding(padding: Padding, size: number, stride: number, inSize: number): [number, number] {
  if (padding === 'valid') return [0, 0];
  if (typeof padding === 'number') return [padding, padding];
  // 'same': tfjs (like TensorFlow) puts the odd pixel at the end.
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + size - inSize, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

export function outputSize(inSize: number, size: number, stride: number, before: number, after: number): number {
  return Math.floor((inSize + before + after - size) / stride) + 1;
}

export interface ConvGeometry {
  /** Padding of the input on each side for the windowed kernel; negative: crop that many. */
  readonly pad: { readonly top: number; readonly bottom: number; readonly left: number; readonly right: number };
  /** Kernel height and width actually applied (the window's). */
  readonly kernel: readonly [number, number];
  readonly out: readonly [number, number];
}

/**
 * A k x k conv whose kernel is zero outside `window`, as a conv with just the window: the output
 * pixel o reads padded input rows o*s + i for kernel rows i; with rows < top zero, it reads
 * o*s + top + j for window row j, i.e. the same conv over an input padded by (before - top) rows.
 * The after-padding shrinks by the dropped bottom rows, which keeps the output size.
 */
export function convGeometry(
  conv: { readonly k: number; readonly stride: number; readonly padding: Padding },
  inHeight: number,
  inWidth: number,
  window: KernelWindow = fullWindow(conv.k),
): ConvGeometry {
  const { k, stride } = conv;
  if (window.top < 0 || window.left < 0 || window.height < 1 || window.width < 1 || window.top + window.height > k || window.left + window.width > k)
    throw new Error(`kernel window ${JSON.stringify(window)} is not inside a ${k}x${k} kernel`);
  const [padTop, padBottom] = axisPadding(conv.padding, k, stride, inHeight);
  const [padLeft, padRight] = axisPadding(conv.padding, k, stride, inWidth);
  const out: [number, number] = [outputSize(inHeight, k, stride, padTop, padBottom), outputSize(inWidth, k, stride, padLeft, padRight)];
  if (out[0] < 1 || out[1] < 1) throw new Error(`a ${k}x${k} conv on a ${inHeight}x${inWidth} input has no output`);
  return {
    pad: {
      top: padTop - window.top,
      bottom: padBottom - (k - window.top - window.height),
      left: padLeft - window.left,
      right: padRight - (k - window.left - window.width),
    },
    kernel: [window.height, window.width],
    out,
  };
}
