// Evaluation in AOM and DOM with inference-mode BatchNorm. Statistics gathered during training
// come from shadow weights, which do not fit the plain weights, so before evaluating a mode we
// re-estimate its BatchNorm statistics on training batches run in that mode (a cumulative average
// over `recalibrationBatches` batches), then evaluate with those statistics.

import * as tf from '@tensorflow/tfjs';
import { addToConfusion, emptyConfusion, matrixAccuracy } from '../../shared/accuracy';
import type { BatchNormConfig } from '../../shared/config';
import type { InferenceMode } from '../../shared/protocol';
import type { KernelTransform } from '../was/transforms';
import type { BatchMaker } from '../data/batches';
import { sequentialRanges } from '../data/batches';
import type { ImageSplit } from '../data/types';
import type { Conv2d } from '../nn/conv';
import type { ForwardContext } from '../nn/context';
import type { Model } from '../nn/model';
import { throwIfDeviceFault } from '../backend/device-faults';
import { readValues } from '../nn/read';

export interface EvalSetup {
  model: Model;
  bn: BatchNormConfig;
  /** Evaluation batches (evalBatchSize). */
  batches: BatchMaker;
  /** Training images (not augmented) for BatchNorm recalibration, in training-size batches. */
  calibration: ImageSplit;
  calibrationBatches: BatchMaker;
  /** DOM: a transform per shadow conv per call. */
  domTransforms: (conv: Conv2d) => KernelTransform;
}

function contextFor(mode: InferenceMode, bn: ForwardContext['bn'], setup: EvalSetup, statMomentum: number | null): ForwardContext {
  const statSet = setup.bn.eval === 'running' ? 'train' : mode;
  return {
    weights: mode === 'aom' ? 'plain' : 'shadow',
    bn,
    statSet,
    statMomentum,
    transformFor: setup.domTransforms,
  };
}

/** Re-estimate the BatchNorm statistics of `mode` (only with bn.eval 'recalibrate'). */
export function recalibrate(mode: InferenceMode, setup: EvalSetup): void {
  if (setup.bn.eval !== 'recalibrate' || setup.model.store.batchNorms.length === 0) return;
  const maker = setup.calibrationBatches;
  const ranges = [...sequentialRanges(setup.calibration.count, maker.batchSize)].slice(0, setup.bn.recalibrationBatches);
  ranges.forEach(({ start, size }, i) => {
    const batch = maker.makeRange(setup.calibration, start, size);
    // Momentum 1/(i+1) makes the running statistics the plain average of the batches seen.
    const ctx = contextFor(mode, 'batch', setup, 1 / (i + 1));
    tf.tidy(() => {
      setup.model.forward(tf.tensor4d(batch.pixels, [size, ...imageShape(setup)]), ctx);
    });
  });
}

/** Top-1 accuracy, mean loss, and the confusion matrix (row = true class, column = predicted). */
export interface Evaluation {
  accuracy: number;
  loss: number;
  confusion: number[][];
}

/** Evaluate `mode` on `split` (recalibrate first for inference-mode BN). */
export async function evaluate(mode: InferenceMode, split: ImageSplit, setup: EvalSetup): Promise<Evaluation> {
  const ctx = contextFor(mode, setup.bn.eval === 'batch' ? 'batch' : 'running', setup, null);
  const confusion = emptyConfusion(setup.model.spec.numClasses);
  let lossSum = 0;
  for (const { start, size } of sequentialRanges(split.count, setup.batches.batchSize)) {
    const batch = setup.batches.makeRange(split, start, size);
    const [p, l] = tf.tidy(() => {
      const logits = setup.model.forward(tf.tensor4d(batch.pixels, [size, ...imageShape(setup)]), ctx);
      const labels = tf.tensor1d(batch.labels, 'int32');
      const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, logits.shape[1]), logits, undefined, undefined, tf.Reduction.SUM);
      return [tf.argMax(logits, 1), loss];
    });
    const [predicted, loss] = await Promise.all([readValues(p), readValues(l)]);
    p.dispose();
    l.dispose();
    throwIfDeviceFault();
    addToConfusion(confusion, batch.labels, predicted);
    lossSum += loss[0]!;
  }
  return { accuracy: matrixAccuracy(confusion).correct / split.count, loss: lossSum / split.count, confusion };
}

function imageShape(setup: EvalSetup): [number, number, number] {
  const { height, width, channels } = setup.model.spec;
  return [height, width, channels];
}
