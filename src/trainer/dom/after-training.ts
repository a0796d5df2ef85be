// The FLOPs part of a run's end: the AOM FLOPs always, and with dom.flopsTarget the deterministic
// DOM searched on the selection split at the selected epoch. The training loop calls this after
// its test phase, with the best weights restored; what it returns goes into run-end (`flops`).

import type { TrainConfig } from '../../shared/config';
import type { FlopsSummary, TrainerEvent } from '../../shared/protocol';
import type { ImageSplit } from '../data/types';
import type { Model } from '../nn/model';
import type { EvalSetup } from '../eval/evaluate';
import { countFlops } from '../nn/flops';
import { runDomSearch, saveSearch } from './run-search';
import { UnreachableTargetError } from './search';

export interface AfterTraining {
  model: Model;
  config: TrainConfig;
  /** The run's evaluation setup (calibration on the training split). */
  setup: EvalSetup;
  selection: ImageSplit;
  test: ImageSplit;
  bestEpoch: number;
  runDir: string;
  emit(event: TrainerEvent): void;
  log(message: string, level?: 'info' | 'warn'): void;
}

/** An unreachable target is a warning, not a failed run: the trained model is still good. */
export async function searchDomAfterTraining(input: AfterTraining): Promise<FlopsSummary> {
  const aom = countFlops(input.model).total;
  const target = input.config.dom.flopsTarget;
  if (target === null) return { aom, dom: null };
  input.emit({ type: 'phase', time: Date.now(), phase: 'searching-dom', epoch: input.bestEpoch });
  try {
    const { event } = await runDomSearch({
      model: input.model,
      setup: input.setup,
      split: input.selection,
      splitName: input.config.selectOn,
      test: input.test,
      flopsTarget: target,
      algorithm: input.config.dom.search,
      translate: input.config.was.translate,
      checkpoint: 'best',
      epoch: input.bestEpoch,
      onProgress: (line) => input.log(`DOM search: ${line}`),
    });
    input.emit(event);
    saveSearch(input.runDir, event);
    return { aom, dom: { target, flops: event.flops.dom, accuracy: event.accuracy.dom, test: event.test?.dom ?? null, layers: event.layers } };
  } catch (error) {
    if (!(error instanceof UnreachableTargetError)) throw error;
    input.log(error.message, 'warn');
    return { aom, dom: null };
  }
}
