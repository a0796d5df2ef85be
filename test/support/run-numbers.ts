import type { TrainerEvent } from '../../src/shared/protocol';

/** The numbers of a run: step, epoch and run-end events without times, speeds and tensor counts. */
export function runNumbers(events: readonly TrainerEvent[]): unknown[] {
  return events
    .filter((e) => e.type === 'step' || e.type === 'epoch' || e.type === 'run-end')
    .map((e) => {
      const { time: _t, ...rest } = e as unknown as Record<string, unknown>;
      for (const k of ['samplesPerSec', 'durationSec', 'numTensors']) delete rest[k];
      return rest;
    });
}
