// BatchNorm with one set of running statistics per purpose (training, AOM, DOM): statistics
// gathered under shadow weights do not fit the plain weights, so each mode gets its own
// (WAS.md, "BatchNorm pitfall").

import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_TRAIN } from '../backend/wasm-heap';
import type { ForwardContext, StatSet } from './context';
import type { Initializer } from './initializer';

const STAT_SETS: readonly StatSet[] = ['train', 'aom', 'dom'];

/** What a BatchNorm needs of its model's ParamStore (nn/params.ts). */
export interface BatchNormStore {
  readonly bnEpsilon: number;
  param(name: string, shape: number[], init: Initializer): tf.Variable;
  stateVariable(name: string, shape: number[], value: number): tf.Variable;
  readonly batchNorms: BatchNorm[];
}

export class BatchNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  private readonly means = new Map<StatSet, tf.Variable>();
  private readonly variances = new Map<StatSet, tf.Variable>();

  constructor(
    store: BatchNormStore,
    readonly name: string,
    readonly channels: number,
  ) {
    this.epsilon = store.bnEpsilon;
    this.gamma = store.param(`${name}.gamma`, [channels], { kind: 'constant', value: 1 });
    this.beta = store.param(`${name}.beta`, [channels], { kind: 'constant', value: 0 });
    for (const set of STAT_SETS) {
      this.means.set(set, store.stateVariable(`${name}.mean.${set}`, [channels], 0));
      this.variances.set(set, store.stateVariable(`${name}.variance.${set}`, [channels], 1));
    }
    store.batchNorms.push(this);
  }

  private readonly epsilon: number;

  apply<T extends tf.Tensor>(x: T, ctx: ForwardContext): T {
    const mean = this.means.get(ctx.statSet)!;
    const variance = this.variances.get(ctx.statSet)!;
    if (ctx.bn === 'running') return tf.batchNorm(x, mean, variance, this.beta, this.gamma, this.epsilon) as T;
    const { y, mean: batchMean, variance: batchVariance } = normalizeWithBatchStatistics(x, this.gamma, this.beta, this.epsilon);
    if (ctx.statMomentum !== null) {
      // Running variance is the unbiased estimate (PyTorch); normalisation uses the biased one.
      // assign() is not recorded on the gradient tape, so no gradient flows into the statistics.
      const n = x.size / this.channels;
      const m = ctx.statMomentum;
      const unbiased = n / Math.max(n - 1, 1);
      mean.assign(tf.tidy(() => mean.mul(1 - m).add(batchMean.mul(m))));
      variance.assign(tf.tidy(() => variance.mul(1 - m).add(batchVariance.mul(m * unbiased))));
    }
    return y as T;
  }

  statistics(set: StatSet): { mean: tf.Variable; variance: tf.Variable } {
    return { mean: this.means.get(set)!, variance: this.variances.get(set)! };
  }
}

/**
 * Training-mode BatchNorm: y = (x - mean) / sqrt(var + eps) * gamma + beta with the batch's mean
 * and (biased) variance over every axis but the last, which are returned too (for the running
 * statistics; no gradient flows through those outputs). On wasm this is one fused kernel with a
 * fused gradient (backend/wasm-heap.ts: two passes forward, two backward, instead of ~20 generic
 * ops); elsewhere tf.moments + tf.batchNorm, differentiated by tfjs.
 */
export function normalizeWithBatchStatistics(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  if (x.dtype === 'float32' && tf.getBackend() === 'wasm' && tf.getKernel(BATCH_NORM_TRAIN, 'wasm')) {
    const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAIN, { x, gamma, beta }, { epsilon }) as tf.Tensor[];
    return { y, mean, variance };
  }
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const moments = tf.moments(x, axes);
  return { y: tf.batchNorm(x, moments.mean, moments.variance, beta, gamma, epsilon), mean: moments.mean, variance: moments.variance };
}
