// "After training, switching mode evaluates the chosen mode on the test set if not yet done":
// what is missing for a finished run, and how to get it. AOM and the stochastic reference DOM are
// measured on the test set at the end of every run that reached its test phase; a run with a
// FLOPs target also gets the deterministic DOM searched then, except after a stop. So the gaps
// are: a run that ended before its test phase (resume finishes it), and a stopped run whose
// deterministic DOM was never searched (`was-train dom` on its best checkpoint does it).

import type { InferenceMode } from '../../shared/protocol';
import type { RunRecord } from './run-store';

export type TestGap =
  | { kind: 'none' }
  | { kind: 'search-dom'; flopsTarget: number }
  | { kind: 'resume'; why: string };

export function testGap(record: RunRecord, mode: InferenceMode): TestGap {
  if (record.status === 'incomplete' && !record.hasCheckpoint) return { kind: 'none' };
  if (record.test === null) {
    if (record.status === 'completed' || !record.hasCheckpoint) return { kind: 'none' };
    return { kind: 'resume', why: `${record.runId} ended before its test phase, so it has no test-set ${mode.toUpperCase()} accuracy` };
  }
  if (mode === 'dom' && record.domFlopsTarget !== null && record.hasCheckpoint) {
    const target = record.domFlopsTarget;
    const searched = record.domSearches.some((s) => s.flopsTarget === target && s.checkpoint === 'best' && s.test !== null);
    if (!searched) return { kind: 'search-dom', flopsTarget: target };
  }
  return { kind: 'none' };
}

/** The deterministic DOM's test accuracy for the run's target, when searched. */
export function domTestAccuracy(record: RunRecord): number | null {
  const search = record.domSearches.find((s) => s.flopsTarget === record.domFlopsTarget && s.checkpoint === 'best' && s.test !== null);
  return search?.test?.dom ?? null;
}
