// One optimizer step on one batch.

import * as tf from '@tensorflow/tfjs';
import type { ForwardContext } from '../nn/context';
import type { Model } from '../nn/model';
import type { Optimizer } from './optimizer';
import { throwIfDeviceFault } from '../backend/device-faults';
import { readScalar } from '../nn/read';

export interface StepInput {
  model: Model;
  optimizer: Optimizer;
  /** The training pass: shadow weights, batch statistics. */
  ctx: ForwardContext;
  /** The variables the step differentiates and updates. */
  trainable: tf.Variable[];
  /** The batch: labels.length images of imageShape, flattened. */
  pixels: Float32Array;
  labels: Int32Array;
  imageShape: [number, number, number];
  lr: number;
}

/** One optimizer step; returns the batch's mean loss and number of correct predictions. */
export async function trainStep({ model, optimizer, ctx, trainable, pixels, labels, imageShape, lr }: StepInput): Promise<{ loss: number; correct: number }> {
  const kept: { correct?: tf.Tensor } = {};
  const { value, grads } = tf.variableGrads(() => {
    const x = tf.tensor4d(pixels, [labels.length, ...imageShape]);
    const y = tf.tensor1d(labels, 'int32');
    const logits = model.forward(x, ctx);
    kept.correct = tf.keep(tf.equal(tf.argMax(logits, 1), y).sum());
    return tf.losses.softmaxCrossEntropy(tf.oneHot(y, logits.shape[1]), logits) as tf.Scalar;
  }, trainable);
  const [loss, correct] = await Promise.all([readScalar(value), readScalar(kept.correct!)]);
  tf.dispose([value, kept.correct!]);
  // A GPU fault makes this step's numbers garbage: end before they reach the weights.
  throwIfDeviceFault();
  // Step only on a finite loss: the caller stops the run without corrupting the weights.
  if (Number.isFinite(loss)) optimizer.apply(grads, lr);
  tf.dispose(grads);
  return { loss, correct };
}
