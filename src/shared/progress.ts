// How far a run is, from its events: the steps done of those planned, the epoch under way, the
// throughput, and the time left at the pace of the latest session (a resumed run starts again at
// its checkpoint's step, so the steps before it do not count towards the pace). One fold for the
// terminal's progress bar, the extension's status bar and Runs tree, and the metrics panel. Pure.

import { currentHistory, type EpochEvent, type Phase, type RunEndEvent, type RunStartEvent, type StepEvent, type TrainerEvent } from './protocol';

/** The events progress is read from, folded in stream order: the latest of each kind. */
export interface ProgressState {
  start: RunStartEvent | null;
  lastStep: StepEvent | null;
  lastEpoch: EpochEvent | null;
  phase: Phase | null;
  end: RunEndEvent | null;
  /** The latest session's start: its time (ms) and the global step it starts after. */
  session: { time: number; step: number } | null;
  /** The time (ms) of the latest event. */
  lastTime: number | null;
}

export const NO_PROGRESS: ProgressState = { start: null, lastStep: null, lastEpoch: null, phase: null, end: null, session: null, lastTime: null };

/**
 * One more event. A `baseline` envelope belongs to the plain model trained beside the run, not to
 * the run's own progress: it changes nothing. A run-start opens a new session.
 */
export function advanceProgress(state: ProgressState, event: TrainerEvent): ProgressState {
  if (event.type === 'baseline') return state;
  const next = { ...state, lastTime: event.time };
  switch (event.type) {
    case 'run-start':
      return { ...next, start: event, end: null, session: { time: event.time, step: event.resumedFrom?.step ?? 0 } };
    case 'step':
      return { ...next, lastStep: event };
    case 'epoch':
      return { ...next, lastEpoch: event };
    case 'phase':
      return { ...next, phase: event.phase };
    case 'run-end':
      return { ...next, end: event };
    default:
      return next;
  }
}

/** The fold over a stored stream: its current history (what a resume superseded is left out). */
export function foldProgress(events: readonly TrainerEvent[]): ProgressState {
  return currentHistory(events).reduce(advanceProgress, NO_PROGRESS);
}

export interface Progress {
  /** The epoch under way (1..epochs): the latest step's, or the next one while a live run is between epochs. */
  epoch: number;
  epochs: number;
  /** Global steps done and planned. */
  step: number;
  totalSteps: number;
  /** step / totalSteps, 0..1. */
  fraction: number;
}

/** Where the run is; null before its run-start. `live`: the run may still go on (it is queued, starting, running or stopping). */
export function progressOf(state: Pick<ProgressState, 'start' | 'lastStep' | 'lastEpoch' | 'end' | 'session'>, live: boolean): Progress | null {
  const { start, lastStep } = state;
  if (start === null) return null;
  const epochs = start.epochs;
  const totalSteps = epochs * start.stepsPerEpoch;
  const lastEpoch = state.lastEpoch?.epoch ?? 0;
  let step = Math.max(lastEpoch * start.stepsPerEpoch, state.session?.step ?? 0);
  let epoch = lastEpoch;
  if (lastStep !== null && lastStep.epoch > lastEpoch) {
    step = Math.max(step, lastStep.step);
    epoch = lastStep.epoch;
  } else if (live && lastEpoch < epochs) {
    epoch = lastEpoch + 1;
  }
  if (state.end?.status === 'completed') step = totalSteps;
  step = Math.min(step, totalSteps);
  return { epoch: Math.min(Math.max(epoch, 1), epochs), epochs, step, totalSteps, fraction: totalSteps > 0 ? step / totalSteps : 0 };
}

/**
 * Seconds left: the time per step of this session so far (data loading and evaluation included),
 * from its start to `nowMs`, times the steps left; 0 once every step is done. Null while there is
 * no pace yet (no step done in this session, or no time passed).
 */
export function etaSeconds(progress: Progress, session: { time: number; step: number } | null, nowMs: number): number | null {
  if (session === null) return null;
  const done = progress.step - session.step;
  const elapsed = (nowMs - session.time) / 1000;
  if (done <= 0 || !(elapsed > 0)) return null;
  return (elapsed * Math.max(0, progress.totalSteps - progress.step)) / done;
}

/** Training throughput: the run's own average once it ended, else the latest epoch's, else the latest step's; null before any. */
export function samplesPerSecond(state: Pick<ProgressState, 'end' | 'lastEpoch' | 'lastStep'>): number | null {
  if (state.end !== null && state.end.samplesPerSec > 0) return state.end.samplesPerSec;
  return state.lastEpoch?.samplesPerSec ?? state.lastStep?.samplesPerSec ?? null;
}

/** How long the run took (the trainer's own count, over all sessions), or while it runs, this session so far; null before its start. */
export function runSeconds(state: Pick<ProgressState, 'end' | 'session' | 'lastTime'>): number | null {
  if (state.end !== null) return state.end.durationSec;
  if (state.session === null || state.lastTime === null) return null;
  return (state.lastTime - state.session.time) / 1000;
}
