// The parameters of one model: trainable variables (plain weights, biases, BN affine, WAS alphas)
// and BatchNorm statistics, all named, all initialised from the run's seeded Rng so that the same
// seed gives the same network on every backend.

import * as tf from '@tensorflow/tfjs';
import { Rng } from '../rng';
import type { Conv2d } from './conv';
import type { BatchNorm } from './batch-norm';
import type { Initializer } from './initializer';

export class ParamStore {
  readonly trainable = new Map<string, tf.Variable>();
  readonly state = new Map<string, tf.Variable>();
  readonly convs: Conv2d[] = [];
  readonly batchNorms: BatchNorm[] = [];

  constructor(
    readonly rng: Rng,
    readonly bnEpsilon: number,
  ) {}

  param(name: string, shape: number[], init: Initializer): tf.Variable {
    return this.add(this.trainable, name, shape, init, true);
  }

  /** Non-trainable state (BatchNorm statistics). */
  stateVariable(name: string, shape: number[], value: number): tf.Variable {
    return this.add(this.state, name, shape, { kind: 'constant', value }, false);
  }

  countTrainable(): number {
    let n = 0;
    for (const v of this.trainable.values()) n += v.size;
    return n;
  }

  dispose(): void {
    for (const v of this.trainable.values()) v.dispose();
    for (const v of this.state.values()) v.dispose();
    this.trainable.clear();
    this.state.clear();
  }

  private add(
    into: Map<string, tf.Variable>,
    name: string,
    shape: number[],
    init: Initializer,
    trainable: boolean,
  ): tf.Variable {
    if (this.trainable.has(name) || this.state.has(name)) throw new Error(`duplicate parameter name ${name}`);
    const values = fill(shape.reduce((a, b) => a * b, 1), init, this.rng);
    // Variable names are global in tfjs; dispose() frees them, so each store uses a unique prefix.
    const v = tf.variable(tf.tensor(values, shape), trainable, `${this.prefix}/${name}`);
    into.set(name, v);
    return v;
  }

  private readonly prefix = `m${nextStoreId++}`;
}

let nextStoreId = 0;

function fill(n: number, init: Initializer, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  switch (init.kind) {
    case 'kaiming-normal-out': {
      const std = Math.sqrt(2 / init.fanOut);
      for (let i = 0; i < n; i++) out[i] = std * rng.normal();
      break;
    }
    case 'torch-default': {
      const bound = 1 / Math.sqrt(init.fanIn);
      for (let i = 0; i < n; i++) out[i] = rng.uniform(-bound, bound);
      break;
    }
    case 'normal':
      for (let i = 0; i < n; i++) out[i] = init.std * rng.normal();
      break;
    case 'uniform':
      for (let i = 0; i < n; i++) out[i] = rng.uniform(init.lo, init.hi);
      break;
    case 'constant':
      out.fill(init.value);
      break;
  }
  return out;
}
