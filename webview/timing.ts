// Progress, ETA and durations: how far a run is, how long it has left, and how a length of time
// reads. One small home for these rules (run-model.ts, the views and the compare table use them),
// so a shared module can take them over later. Pure.

import type { EpochEvent, RunEndEvent, RunStartEvent, StepEvent } from '../src/shared/protocol';

export interface Progress {
  epoch: number;
  epochs: number;
  /** Global steps done and planned. */
  step: number;
  totalSteps: number;
  /** 0..1 */
  fraction: number;
}

/** What progress is read from: the run's latest session, folded from its events. */
export interface ProgressInput {
  start: RunStartEvent | null;
  epochs: readonly EpochEvent[];
  lastStep: StepEvent | null;
  end: RunEndEvent | null;
  live: boolean;
}

export function progressOf(run: ProgressInput): Progress | null {
  if (!run.start) return null;
  const epochs = run.start.epochs;
  const perEpoch = run.start.stepsPerEpoch;
  const totalSteps = epochs * perEpoch;
  const lastEpoch = run.epochs.length > 0 ? run.epochs[run.epochs.length - 1].epoch : 0;
  let step = lastEpoch * perEpoch;
  let epoch = lastEpoch;
  if (run.lastStep && run.lastStep.epoch > lastEpoch) {
    step = run.lastStep.step;
    epoch = run.lastStep.epoch;
  } else if (run.live && lastEpoch < epochs) {
    epoch = lastEpoch + 1;
  }
  if (run.end && run.end.status === 'completed') step = totalSteps;
  const fraction = totalSteps > 0 ? Math.min(1, step / totalSteps) : 0;
  return { epoch: Math.min(Math.max(epoch, 1), epochs), epochs, step: Math.min(step, totalSteps), totalSteps, fraction };
}

/**
 * Seconds left, from this session's pace so far (training and evaluation together), measured on
 * event times (ms) from the session's start up to the latest event; null when not measurable.
 */
export function etaSecondsOf(progress: Progress, sessionStart: { time: number; step: number }, lastTime: number): number | null {
  const done = progress.step - sessionStart.step;
  const elapsed = (lastTime - sessionStart.time) / 1000;
  if (done <= 0 || progress.step >= progress.totalSteps || !(elapsed > 0)) return null;
  return (elapsed * (progress.totalSteps - progress.step)) / done;
}

/** 7 s, 3m 05s, 2h 04m */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}
