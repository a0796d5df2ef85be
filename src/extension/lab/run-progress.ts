// Where a live run is, from its events: epoch and step, the phase, the last epoch's accuracies,
// and an ETA from the pace of the latest session. Pure, for the status bar, tree and notifications.

import { currentHistory, type EpochEvent, type Phase, type RunStartEvent, type StepEvent, type TrainerEvent } from '../../shared/protocol';

// The trainer's own formatting (a pure module), so the editor and the terminal print alike.
export { duration as formatDuration, percent as formatPercent } from '../../shared/format';

export interface RunProgress {
  model: string;
  dataset: string;
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
  const history = currentHistory(events);
  let start: RunStartEvent | null = null;
  let step: StepEvent | null = null;
  let lastEpoch: EpochEvent | null = null;
  let phase: Phase | null = null;
  for (const e of history) {
    if (e.type === 'run-start') start = e;
    else if (e.type === 'step') step = e;
    else if (e.type === 'epoch') lastEpoch = e;
    else if (e.type === 'phase') phase = e.phase;
  }
  if (start === null) return null;
  const totalSteps = start.epochs * start.stepsPerEpoch;
  const firstStep = start.resumedFrom?.step ?? 0;
  const doneSteps = Math.max(step?.step ?? 0, (lastEpoch?.epoch ?? 0) * start.stepsPerEpoch, firstStep);
  const sessionSteps = doneSteps - firstStep;
  const elapsed = (now - start.time) / 1000;
  return {
    model: start.model.name,
    dataset: start.dataset.name,
    epoch: step?.epoch ?? lastEpoch?.epoch ?? start.resumedFrom?.epoch ?? 0,
    epochs: start.epochs,
    stepInEpoch: step?.stepInEpoch ?? 0,
    stepsPerEpoch: start.stepsPerEpoch,
    fraction: totalSteps > 0 ? Math.min(1, doneSteps / totalSteps) : 0,
    phase,
    lastEpoch,
    // Time per step so far (data loading and evaluation included) times the steps left.
    etaSec: sessionSteps > 0 && elapsed > 0 ? (elapsed / sessionSteps) * Math.max(0, totalSteps - doneSteps) : null,
  };
}
