// What a model file provides and what the trainer gets back.

import * as tf from '@tensorflow/tfjs';
import type { ModelName } from '../../shared/config';
import type { ForwardContext } from './context';
import type { ParamStore } from './params';

export interface ModelSpec {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
}

/** Logits for a batch of NHWC images. */
export type Forward = (x: tf.Tensor4D, ctx: ForwardContext) => tf.Tensor2D;

export interface ModelDefinition {
  readonly name: ModelName;
  readonly description: string;
  /** Creates every layer (registering them in `store`) and returns the forward pass. */
  build(store: ParamStore, spec: ModelSpec): Forward;
}

export interface Model {
  readonly name: ModelName;
  readonly spec: ModelSpec;
  readonly store: ParamStore;
  readonly forward: Forward;
}

export function flatten(x: tf.Tensor4D): tf.Tensor2D {
  const [n, h, w, c] = x.shape;
  return tf.reshape(x, [n, h * w * c]);
}

export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  return tf.mean(x, [1, 2]) as tf.Tensor2D;
}
