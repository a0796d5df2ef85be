// replaced by study-stats: a minimal stand-in with the agreed signature. Per cell, over its
// completed runs: AOM, DOM and baseline test accuracy summaries, the mean DOM-draw spread, and
// the paired gains (statistics.ts).

import type { StudyCell, StudyRun } from '../../shared/study';
import { pairedGain, summarize } from './statistics';

export function summarizeCells(cells: { id: string; settings: Record<string, unknown> }[], runs: StudyRun[]): StudyCell[] {
  return cells.map((cell) => {
    const done = runs.flatMap((r) => (r.cell === cell.id && r.state === 'completed' && r.result !== null ? [{ seed: r.seed, result: r.result }] : []));
    if (done.length === 0) return { id: cell.id, settings: cell.settings, aom: null, dom: null, baseline: null, domDrawStd: null, gain: { aom: null, dom: null } };
    const paired = done.flatMap(({ seed, result }) => (result.baseline === null ? [] : [{ seed, result, plain: result.baseline }]));
    const drawStd = done.map(({ result }) => summarize(result.domDraws).std).filter((s) => !Number.isNaN(s));
    return {
      id: cell.id,
      settings: cell.settings,
      aom: summarize(done.map(({ result }) => result.aom)),
      dom: summarize(done.map(({ result }) => result.dom)),
      baseline: paired.length > 0 ? summarize(paired.map((p) => p.plain)) : null,
      domDrawStd: drawStd.length > 0 ? summarize(drawStd).mean : null,
      gain: {
        aom: paired.length > 0 ? pairedGain(paired.map((p) => ({ seed: p.seed, was: p.result.aom, plain: p.plain }))) : null,
        dom: paired.length > 0 ? pairedGain(paired.map((p) => ({ seed: p.seed, was: p.result.dom, plain: p.plain }))) : null,
      },
    };
  });
}
