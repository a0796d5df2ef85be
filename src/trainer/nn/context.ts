// How one forward pass runs: which weights the convs use and how BatchNorm normalises.
// Typed fields instead of the reference code's deploy="0"|"1"|"2" strings.

import type { KernelTransform } from '../was/transforms';
import type { Conv2d } from './conv';

/** BatchNorm keeps one set of statistics per purpose; see BatchNormConfig.eval in shared/config. */
export type StatSet = 'train' | 'aom' | 'dom';

export interface ForwardContext {
  /**
   * 'shadow': transformed convs use SW = alpha * T(W) with T from `transformFor` (training, DOM);
   * 'plain': they use alpha * W, the identity transform (AOM).
   */
  readonly weights: 'shadow' | 'plain';
  /** 'batch': normalise with batch statistics; 'running': with the stored `statSet`. */
  readonly bn: 'batch' | 'running';
  readonly statSet: StatSet;
  /**
   * With bn 'batch', fold the batch statistics into `statSet` with this momentum
   * (new = (1 - m) * old + m * batch); null: leave the statistics alone.
   */
  readonly statMomentum: number | null;
  /** The transform of a shadow conv for this call; called once per transformed conv per pass. */
  readonly transformFor: (conv: Conv2d) => KernelTransform;
}
