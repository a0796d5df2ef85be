import * as tf from '@tensorflow/tfjs';
import type { ParamStore } from './params';

/** A fully connected layer with PyTorch's default init. Never transformed by WAS. */
export class Dense {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    store: ParamStore,
    readonly name: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
  ) {
    const init = { kind: 'torch-default', fanIn: inFeatures } as const;
    this.kernel = store.param(`${name}.kernel`, [inFeatures, outFeatures], init);
    this.bias = store.param(`${name}.bias`, [outFeatures], init);
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.kernel as tf.Tensor2D), this.bias);
  }
}
