// The operations a model's forward pass is written in. A model describes its network once, as a
// `Graph` over these ops; each implementation gives the same description another meaning:
// - tensorOps (here): run it on tensors, for training and evaluation;
// - shape ops (nn/flops.ts): propagate shapes and count multiply-adds;
// - tf.layers ops (export/layers-ops.ts): build a plain tf.LayersModel for export.

import * as tf from '@tensorflow/tfjs';
import type { BatchNorm } from './batch-norm';
import type { ForwardContext } from './context';
import type { Conv2d, Padding } from './conv';
import type { Dense } from './dense';

export interface Ops<T> {
  conv(layer: Conv2d, x: T): T;
  batchNorm(layer: BatchNorm, x: T): T;
  dense(layer: Dense, x: T): T;
  relu(x: T): T;
  relu6(x: T): T;
  maxPool(x: T, size: number, stride: number, padding: Padding): T;
  add(a: T, b: T): T;
  /** Along the channel axis. */
  concat(xs: T[]): T;
  /** NHWC [n, h, w, c] -> [n, h * w * c]. */
  flatten(x: T): T;
  /** NHWC [n, h, w, c] -> [n, c]. */
  globalAvgPool(x: T): T;
}

/** A network: NHWC images in, logits out, in terms of whichever ops it is given. */
export type Graph = <T>(x: T, nn: Ops<T>) => T;

/** The ops on tensors; `ctx` says which weights the convs use and how BatchNorm normalises. */
export function tensorOps(ctx: ForwardContext): Ops<tf.Tensor> {
  return {
    conv: (layer, x) => layer.apply(x as tf.Tensor4D, ctx),
    batchNorm: (layer, x) => layer.apply(x, ctx),
    dense: (layer, x) => layer.apply(x as tf.Tensor2D),
    relu: (x) => tf.relu(x),
    relu6: (x) => tf.relu6(x),
    maxPool: (x, size, stride, padding) => tf.maxPool(x as tf.Tensor4D, size, stride, padding),
    add: (a, b) => tf.add(a, b),
    concat: (xs) => tf.concat(xs, 3),
    flatten: (x) => {
      const [n, h, w, c] = x.shape;
      return tf.reshape(x, [n, h * w * c]);
    },
    globalAvgPool: (x) => tf.mean(x, [1, 2]),
  };
}
