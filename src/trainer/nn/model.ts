// What a model file provides and what the trainer gets back.

import * as tf from '@tensorflow/tfjs';
import type { ModelName } from '../../shared/config';
import type { ForwardContext } from './context';
import { tensorOps, type Graph } from './ops';
import type { ParamStore } from './params';

export interface ModelSpec {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
}

/** Logits for a batch of NHWC images; `graph` is the same network for other ops (FLOPs, export). */
export interface Forward {
  (x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor2D;
  readonly graph: Graph;
}

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

/** The forward pass on tensors of a network written as a Graph. */
export function forwardFrom(graph: Graph): Forward {
  const forward = (x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor2D => graph<tf.Tensor>(x, tensorOps(ctx)) as tf.Tensor2D;
  return Object.assign(forward, { graph });
}
