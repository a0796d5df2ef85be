// Where a live run is, from its events: epoch and step, the phase, the last epoch's accuracies,
// and an ETA from the pace of the latest session. Pure, for the status bar, tree and notifications;
// the fold and the ETA rule are shared with the terminal and the panel (shared/progress.ts).

import type { BackendInfo, EpochEvent, Phase, TrainerEvent } from '../../shared/protocol';
import { etaSeconds, foldProgress, progressOf } from '../../shared/progress';

export interface RunProgress {
  model: string;
  dataset: string;
  /** The backend it trains on (with its GPU adapter, on webgpu). */
  backend: BackendInfo;
  epoch: number;
  epochs: number;
  stepInEpoch: number;
  stepsPerEpoch: number;
  /** Share of all training steps done, 0..1. */
  fraction: number;
  phase: Phase | null;
  lastEpoch: EpochEvent | null;
  /** Seconds left at the pace since the latest (re)start; null until there is a pace. */
  etaSec: number | null;
}

/** Progress of the run's main stream (a --baseline run's envelope events are the baseline's own). */
export function runProgress(events: readonly TrainerEvent[], now = Date.now()): RunProgress | null {
  const state = foldProgress(events);
  const { start, lastStep, lastEpoch } = state;
  const progress = progressOf(state, true);
  if (start === null || progress === null) return null;
  return {
    model: start.model.name,
    dataset: start.dataset.name,
    backend: start.backend,
    // The latest step's epoch (0 before the first step), matching stepInEpoch beside it.
    epoch: lastStep?.epoch ?? lastEpoch?.epoch ?? start.resumedFrom?.epoch ?? 0,
    epochs: start.epochs,
    stepInEpoch: lastStep?.stepInEpoch ?? 0,
    stepsPerEpoch: start.stepsPerEpoch,
    fraction: progress.fraction,
    phase: state.phase,
    lastEpoch,
    etaSec: etaSeconds(progress, state.session, now),
  };
}
