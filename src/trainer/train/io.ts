// What a training run says and hears: the TrainingIo the caller injects (IPC when forked, the
// terminal otherwise, an array in tests), and the run's own output on top of it, which also
// appends every event to the run folder.

import type { RunEndEvent, TrainerEvent } from '../../shared/protocol';
import type { RunFolder } from '../output/run-folder';

export interface TrainingIo {
  emit(event: TrainerEvent): void;
  /** Why a stop was requested, or null; checked at every step boundary. */
  stopRequested(): string | null;
  /** Optional observer (tests): the initial weights and every training batch, per part of the run. */
  trace?(point: TracePoint): void;
}

/** 'was': the run itself; 'baseline': the plain model trained beside it (--baseline). */
export type RunPart = 'was' | 'baseline';

export type TracePoint =
  | { kind: 'initialized'; part: RunPart; weights: Map<string, Float32Array> }
  | { kind: 'batch'; part: RunPart; epoch: number; step: number; indices: Int32Array };

export interface RunResult {
  end: RunEndEvent;
  runDir: string;
}

export type LogLevel = 'info' | 'warn' | 'error';

/** Where a session's events go: the run folder and the caller's TrainingIo. */
export interface RunOutput {
  emit(event: TrainerEvent): void;
  log(message: string, level?: LogLevel): void;
}

export function runOutput(folder: RunFolder, io: TrainingIo): RunOutput {
  const emit = (event: TrainerEvent): void => {
    folder.append(event);
    io.emit(event);
  };
  const log = (message: string, level: LogLevel = 'info'): void => emit({ type: 'log', time: Date.now(), level, message });
  return { emit, log };
}
