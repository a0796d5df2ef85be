// How one forward pass runs: which weights the convs use and how BatchNorm normalises.
// Typed fields instead of the reference code's deploy="0"|"1"|"2" strings.

import type { ConvPass } from './conv';

/** BatchNorm keeps one set of statistics per purpose; see BatchNormConfig.eval in shared/config. */
export type StatSet = 'train' | 'aom' | 'dom';

/** The convs' part (`weights`, `transformFor`) is ConvPass in nn/conv.ts, which needs no more. */
export interface ForwardContext extends ConvPass {
  /** 'batch': normalise with batch statistics; 'running': with the stored `statSet`. */
  readonly bn: 'batch' | 'running';
  readonly statSet: StatSet;
  /**
   * With bn 'batch', fold the batch statistics into `statSet` with this momentum
   * (new = (1 - m) * old + m * batch); null: leave the statistics alone.
   */
  readonly statMomentum: number | null;
}
