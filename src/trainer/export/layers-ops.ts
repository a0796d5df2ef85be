// The model's graph as plain tf.layers (export): the same network description that trains, built
// from stock layers with the mode's weights copied in, so that @tensorflow/tfjs alone can load
// and run it. Mapping:
// - conv: Conv2D / DepthwiseConv2D with the mode's kernel (alpha folded in: alpha * W for AOM,
//   alpha * T(W) for DOM) cut to the taps it uses (nn/conv-geometry.ts): a 3x3 kernel shifted by
//   one row becomes a 2x3 kernel. Padding 'valid', or 'same' where that pads every side alike;
//   otherwise Cropping2D (a negative pad: rows a shrunk kernel never reads) and/or ZeroPadding2D
//   with the exact per-side amounts, then a 'valid' conv. E.g. a 3x3 'same' conv shifted down by
//   one row: ZeroPadding2D [[0, 1], [1, 1]] + a 2x3 'valid' conv.
// - BatchNorm: BatchNormalization in inference mode with the mode's (recalibrated) statistics.
// - dense: Dense; relu, relu6: Activation; add: Add; concat: Concatenate; flatten: Flatten;
//   global average pool: GlobalAveragePooling2D; max pool: MaxPooling2D (see maxPool below).

import * as tf from '@tensorflow/tfjs';
import type { ForwardContext, StatSet } from '../nn/context';
import type { Padding } from '../nn/conv';
import { axisPadding, convGeometry, type KernelWindow } from '../nn/conv-geometry';
import type { Ops } from '../nn/ops';
import type { WindowFor } from '../nn/flops';

export interface LayersOptions {
  /** Which weights the convs use (ForwardContext.weights and transformFor). */
  ctx: ForwardContext;
  /** Which BatchNorm statistics to export. */
  statSet: StatSet;
  /** The taps each conv applies; outside them the mode's kernel must be zero. */
  windowFor: WindowFor;
  epsilon: number;
  /**
   * Where each cut kernel leaves its check: a boolean scalar, true when the kernel is not zero
   * outside its window. Read once the graph is built (asynchronously: GPU backends read no other way).
   */
  windowChecks: { name: string; window: KernelWindow; outsideNonZero: tf.Tensor }[];
}

type Sym = tf.SymbolicTensor;

export function layersOps(options: LayersOptions): Ops<Sym> {
  const counters = new Map<string, number>();
  // Stable names for unnamed ops (relu_1, add_3, ...), so the same model gives the same model.json.
  const nameFor = (kind: string): string => {
    const n = (counters.get(kind) ?? 0) + 1;
    counters.set(kind, n);
    return `${kind}_${n}`;
  };
  const one = (out: Sym | Sym[]): Sym => {
    if (Array.isArray(out)) throw new Error('expected a single output');
    return out;
  };
  const apply = (layer: tf.layers.Layer, x: Sym | Sym[]): Sym => one(layer.apply(x) as Sym | Sym[]);
  const spatial = (x: Sym): [number, number] => {
    const [, h, w] = x.shape;
    if (h === null || w === null) throw new Error('export needs a fixed input size');
    return [h, w];
  };

  return {
    conv(layer, x) {
      const [h, w] = spatial(x);
      const window = options.windowFor(layer);
      const g = convGeometry(layer, h, w, window);
      const [kh, kw] = g.kernel;
      const { input, padding } = padFor(x, g.pad, { k: [kh, kw], stride: layer.stride, inSize: [h, w] }, layer.name, apply);
      const kernel = tf.tidy(() => windowed(layer.effectiveKernel(options.ctx), window, layer.name, options.windowChecks));
      const args = { kernelSize: [kh, kw] as [number, number], strides: layer.stride, padding, useBias: layer.bias !== null, name: layer.name };
      const created = layer.depthwise ? tf.layers.depthwiseConv2d({ ...args, depthMultiplier: 1 }) : tf.layers.conv2d({ ...args, filters: layer.outChannels });
      const y = apply(created, input);
      created.setWeights(layer.bias ? [kernel, layer.bias] : [kernel]);
      kernel.dispose();
      return y;
    },
    batchNorm(layer, x) {
      const created = tf.layers.batchNormalization({ axis: -1, epsilon: options.epsilon, name: layer.name });
      const y = apply(created, x);
      const { mean, variance } = layer.statistics(options.statSet);
      created.setWeights([layer.gamma, layer.beta, mean, variance]);
      return y;
    },
    dense(layer, x) {
      const created = tf.layers.dense({ units: layer.outFeatures, useBias: true, name: layer.name });
      const y = apply(created, x);
      created.setWeights([layer.kernel, layer.bias]);
      return y;
    },
    relu: (x) => apply(tf.layers.activation({ activation: 'relu', name: nameFor('relu') }), x),
    relu6: (x) => apply(tf.layers.activation({ activation: 'relu6', name: nameFor('relu6') }), x),
    maxPool(x, size, stride, padding) {
      const name = nameFor('max_pool');
      const [h, w] = spatial(x);
      const exact = stockPadding(padding, size, stride, [h, w]);
      if (exact) return apply(tf.layers.maxPooling2d({ poolSize: size, strides: stride, padding: exact, name }), x);
      // Explicit padding that 'same' does not reproduce (GoogLeNet's 3x3 stride-2 pool, padding 1):
      // zeros stand in for tfjs's ignored taps, which is exact because every such pool in the
      // zoo follows a ReLU (its input is >= 0 and each window holds a real pixel).
      const [top, bottom] = axisPadding(padding, size, stride, h);
      const [left, right] = axisPadding(padding, size, stride, w);
      const padded = apply(tf.layers.zeroPadding2d({ padding: [[top, bottom], [left, right]], name: `${name}.pad` }), x);
      return apply(tf.layers.maxPooling2d({ poolSize: size, strides: stride, padding: 'valid', name }), padded);
    },
    add: (a, b) => apply(tf.layers.add({ name: nameFor('add') }), [a, b]),
    concat: (xs) => apply(tf.layers.concatenate({ axis: -1, name: nameFor('concat') }), xs),
    flatten: (x) => apply(tf.layers.flatten({ name: nameFor('flatten') }), x),
    globalAvgPool: (x) => apply(tf.layers.globalAveragePooling2d({ name: nameFor('global_avg_pool') }), x),
  };
}

/**
 * The kernel's taps inside the window: [k, k, cin, cout] -> [height, width, cin, cout]. The taps
 * left out must be exactly zero (a shift's vacated rows are), else the export would change the model.
 */
function windowed(kernel: tf.Tensor4D, window: KernelWindow, name: string, checks: LayersOptions['windowChecks']): tf.Tensor4D {
  const [k1, k2, cin, cout] = kernel.shape;
  if (window.height === k1 && window.width === k2) return kernel.clone();
  const kept = tf.slice(kernel, [window.top, window.left, 0, 0], [window.height, window.width, cin, cout]);
  const back = tf.pad(kept, [[window.top, k1 - window.top - window.height], [window.left, k2 - window.left - window.width], [0, 0], [0, 0]]);
  checks.push({ name, window, outsideNonZero: tf.keep(tf.any(tf.notEqual(back, kernel))) });
  return kept;
}

/** 'valid' or 'same' when tfjs pads exactly `pad` that way for this kernel and input, else null. */
function stockPadding(padding: Padding, size: number, stride: number, inSize: [number, number]): 'valid' | 'same' | null {
  const pads = [axisPadding(padding, size, stride, inSize[0]), axisPadding(padding, size, stride, inSize[1])];
  return matchStock(pads, [size, size], stride, inSize);
}

function matchStock(pads: [number, number][], k: [number, number], stride: number, inSize: [number, number]): 'valid' | 'same' | null {
  if (pads.every(([a, b]) => a === 0 && b === 0)) return 'valid';
  const same = [axisPadding('same', k[0], stride, inSize[0]), axisPadding('same', k[1], stride, inSize[1])];
  return pads.every(([a, b], i) => a === same[i][0] && b === same[i][1]) ? 'same' : null;
}

/** The input a conv with kernel k and these per-side pads reads, and the padding mode to give it. */
function padFor(
  x: Sym,
  pad: { top: number; bottom: number; left: number; right: number },
  conv: { k: [number, number]; stride: number; inSize: [number, number] },
  name: string,
  apply: (layer: tf.layers.Layer, x: Sym) => Sym,
): { input: Sym; padding: 'valid' | 'same' } {
  // 'same' only where it pads both sides alike: an asymmetric pad is spelled out, so model.json
  // shows it and no runtime's idea of 'same' for even kernels can differ.
  const symmetric = pad.top === pad.bottom && pad.left === pad.right;
  const stock = matchStock([[pad.top, pad.bottom], [pad.left, pad.right]], conv.k, conv.stride, conv.inSize);
  if (stock === 'valid' || (stock === 'same' && symmetric)) return { input: x, padding: stock };
  let input = x;
  const crop = (v: number): number => Math.max(0, -v);
  const grow = (v: number): number => Math.max(0, v);
  if (pad.top < 0 || pad.bottom < 0 || pad.left < 0 || pad.right < 0)
    input = apply(tf.layers.cropping2D({ cropping: [[crop(pad.top), crop(pad.bottom)], [crop(pad.left), crop(pad.right)]], name: `${name}.crop` }), input);
  if (pad.top > 0 || pad.bottom > 0 || pad.left > 0 || pad.right > 0)
    input = apply(tf.layers.zeroPadding2d({ padding: [[grow(pad.top), grow(pad.bottom)], [grow(pad.left), grow(pad.right)]], name: `${name}.pad` }), input);
  return { input, padding: 'valid' };
}
