// Draws of shadow-weight transforms during a pass: a fresh T per transformed layer per call.

import { cropScaleFor, type TrainConfig } from '../../shared/config';
import type { Conv2d } from '../nn/conv';
import type { Rng } from '../rng';
import { drawTransform, type KernelTransform, type ShadowFamily, type TransformParams } from '../was/transforms';

export function transformParams(config: TrainConfig): TransformParams {
  return {
    translate: config.was.translate,
    cropScale: cropScaleFor(config),
    cropRatio: config.was.cropRatio,
    mixedShiftProbability: config.was.mixedShiftProbability,
  };
}

/** A `transformFor` for ForwardContext that draws a new transform from `rng` on every call. */
export function randomTransforms(family: ShadowFamily, params: TransformParams, rng: Rng): (conv: Conv2d) => KernelTransform {
  return (conv) => drawTransform(family, conv.k, params, rng);
}
