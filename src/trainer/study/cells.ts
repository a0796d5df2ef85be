// A study's table: one row per cell of its grid, read off the cell's completed runs (a run that
// failed, stopped or has not finished counts nowhere, so n says how many seeds each number has).

import type { StudyCell, StudyRun } from '../../shared/study';
import { pairedGain, summarize, type GainOptions } from './statistics';

export interface CellSpec {
  id: string;
  settings: Record<string, unknown>;
}

/** Per cell: AOM, DOM and baseline test accuracy summaries, the DOM's spread between its draws, and the paired gains. */
export function summarizeCells(cells: readonly CellSpec[], runs: readonly StudyRun[], options: GainOptions = {}): StudyCell[] {
  return cells.map(({ id, settings }) => {
    const results = runs.flatMap((run) => (run.cell === id && run.state === 'completed' && run.result !== null ? [{ seed: run.seed, ...run.result }] : []));
    const paired = results.filter((r): r is typeof r & { baseline: number } => r.baseline !== null);
    const drawStds = results.map((r) => summarize(r.domDraws).std).filter((std) => !Number.isNaN(std));
    return {
      id,
      settings,
      aom: orNull(results.length, () => summarize(results.map((r) => r.aom))),
      dom: orNull(results.length, () => summarize(results.map((r) => r.dom))),
      baseline: orNull(paired.length, () => summarize(paired.map((r) => r.baseline))),
      domDrawStd: orNull(drawStds.length, () => summarize(drawStds).mean),
      gain: {
        aom: orNull(paired.length, () => pairedGain(paired.map((r) => ({ seed: r.seed, was: r.aom, plain: r.baseline })), options)),
        dom: orNull(paired.length, () => pairedGain(paired.map((r) => ({ seed: r.seed, was: r.dom, plain: r.baseline })), options)),
      },
    };
  });
}

/** Null where nothing was measured. */
function orNull<T>(count: number, make: () => T): T | null {
  return count === 0 ? null : make();
}
