// BatchNorm with one set of running statistics per purpose (training, AOM, DOM): statistics
// gathered under shadow weights do not fit the plain weights, so each mode gets its own
// (WAS.md, "BatchNorm pitfall").

import * as tf from '@tensorflow/tfjs';
import type { ForwardContext, StatSet } from './context';
import type { ParamStore } from './params';

const STAT_SETS: readonly StatSet[] = ['train', 'aom', 'dom'];

export class BatchNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  private readonly means = new Map<StatSet, tf.Variable>();
  private readonly variances = new Map<StatSet, tf.Variable>();

  constructor(
    store: ParamStore,
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
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const moments = tf.moments(x, axes);
    if (ctx.statMomentum !== null) {
      // Running variance is the unbiased estimate (PyTorch); normalisation uses the biased one.
      // assign() is not recorded on the gradient tape, so no gradient flows into the statistics.
      const n = x.size / this.channels;
      const m = ctx.statMomentum;
      const unbiased = n / Math.max(n - 1, 1);
      mean.assign(tf.tidy(() => mean.mul(1 - m).add(moments.mean.mul(m))));
      variance.assign(tf.tidy(() => variance.mul(1 - m).add(moments.variance.mul(m * unbiased))));
    }
    return tf.batchNorm(x, moments.mean, moments.variance, this.beta, this.gamma, this.epsilon) as T;
  }

  statistics(set: StatSet): { mean: tf.Variable; variance: tf.Variable } {
    return { mean: this.means.get(set)!, variance: this.variances.get(set)! };
  }
}
