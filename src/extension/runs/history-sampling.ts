// A run's history, thinned for a metrics page: at most about `maxSteps` step events per series
// (the run's own, and a --baseline run's plain model inside its envelopes), every other event
// kept. The steps are cut into buckets in stream order and each bucket keeps the steps with its
// lowest and highest loss and accuracy (and its first non-finite loss), so a spike or a divergence
// still shows; the first and last step of a series always stay (the page reads progress from the
// last). The kept events are the events as they were, in their order, so the page folds them
// exactly as it folds a whole stream (webview/run-model.ts), and thinning a thinned history again
// keeps its extremes: the metrics cache does that as a history grows.

import type { StepEvent, TrainerEvent } from '../../shared/protocol';

/** Step events per series a page is sent at most (plus the first and last). */
export const HISTORY_STEPS = 4000;
/** Steps one bucket keeps at most: lowest and highest loss, lowest and highest accuracy. */
const KEPT_PER_BUCKET = 4;

/** The step an event carries, with the series it belongs to; null for every other event. */
function stepOf(event: TrainerEvent): { series: 'run' | 'baseline'; step: StepEvent } | null {
  if (event.type === 'step') return { series: 'run', step: event };
  if (event.type === 'baseline' && event.event.type === 'step') return { series: 'baseline', step: event.event };
  return null;
}

/** Whether the event is a step of either series. */
export function isStep(event: TrainerEvent): boolean {
  return stepOf(event) !== null;
}

/** How many step events `events` holds in its busiest series. */
export function stepCount(events: readonly TrainerEvent[]): number {
  let run = 0;
  let baseline = 0;
  for (const e of events) {
    const s = stepOf(e);
    if (s?.series === 'run') run++;
    else if (s) baseline++;
  }
  return Math.max(run, baseline);
}

/** `events` with each series' steps thinned to about `maxSteps`; the same array when none needs it. */
export function downsampleEvents(events: readonly TrainerEvent[], maxSteps = HISTORY_STEPS): readonly TrainerEvent[] {
  const series = { run: [] as number[], baseline: [] as number[] };
  const steps: (StepEvent | null)[] = events.map((event, index) => {
    const s = stepOf(event);
    if (s) series[s.series].push(index);
    return s?.step ?? null;
  });
  if (series.run.length <= maxSteps && series.baseline.length <= maxSteps) return events;
  const keep = new Uint8Array(events.length).fill(1);
  for (const indices of [series.run, series.baseline]) {
    if (indices.length <= maxSteps) continue;
    for (const i of indices) keep[i] = 0;
    for (const i of keptSteps(indices, steps as StepEvent[], maxSteps)) keep[i] = 1;
  }
  return events.filter((_, i) => keep[i] === 1);
}

/** Of one series' steps (their indices into `steps`), the ones to keep: its first and last, and each bucket's extremes. */
function keptSteps(indices: readonly number[], steps: readonly StepEvent[], maxSteps: number): number[] {
  const buckets = Math.max(1, Math.floor(maxSteps / KEPT_PER_BUCKET));
  const kept = [indices[0], indices[indices.length - 1]];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor((b * indices.length) / buckets);
    const to = Math.floor(((b + 1) * indices.length) / buckets);
    let minLoss = -1, maxLoss = -1, minAccuracy = -1, maxAccuracy = -1, nonFinite = -1;
    for (let k = from; k < to; k++) {
      const i = indices[k];
      const { loss, accuracy } = steps[i];
      if (!Number.isFinite(loss)) {
        if (nonFinite < 0) nonFinite = i;
        continue;
      }
      if (minLoss < 0 || loss < steps[minLoss].loss) minLoss = i;
      if (maxLoss < 0 || loss > steps[maxLoss].loss) maxLoss = i;
      if (minAccuracy < 0 || accuracy < steps[minAccuracy].accuracy) minAccuracy = i;
      if (maxAccuracy < 0 || accuracy > steps[maxAccuracy].accuracy) maxAccuracy = i;
    }
    for (const i of [minLoss, maxLoss, minAccuracy, maxAccuracy, nonFinite]) if (i >= 0) kept.push(i);
  }
  return kept;
}

/**
 * A live run's events as the host keeps them (a job's `events`): appended one by one and, every
 * `maxSteps` steps, thinned in place as a page's history is, so a run of any length holds at most
 * about twice `maxSteps` steps per series, every other event and the latest step always kept.
 */
export class BoundedEvents {
  private stepsSinceThinning = 0;

  constructor(
    readonly events: TrainerEvent[],
    private readonly maxSteps = HISTORY_STEPS,
  ) {}

  push(event: TrainerEvent): void {
    this.events.push(event);
    if (!isStep(event) || ++this.stepsSinceThinning <= this.maxSteps) return;
    this.stepsSinceThinning = 0;
    const kept = downsampleEvents(this.events, this.maxSteps);
    if (kept !== this.events) this.events.splice(0, this.events.length, ...kept);
  }
}
