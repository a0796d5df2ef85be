// The study table's rows, one per cell of the grid, read off study.json's cells (DOM-free: the
// table and the chart render these, and Node tests can read them). Accuracies are fractions in
// study.json and shown as percentages; gains are percentage points already.

import { percent, points, settingsText } from '../../src/shared/format';
import type { Gain, StudyCell, StudyResults, StudyRun, Summary } from '../../src/shared/study';

export interface CellRow {
  id: string;
  /** "model=lenet, was.transform=shift" */
  settings: string;
  /** Completed runs (the summaries' n), of all the cell's runs. */
  n: number;
  runs: number;
  aom: Summary | null;
  dom: Summary | null;
  baseline: Summary | null;
  gainAom: Gain | null;
  gainDom: Gain | null;
}


export function cellRows(results: StudyResults): CellRow[] {
  return results.cells.map((cell: StudyCell) => ({
    id: cell.id,
    settings: settingsText(cell.settings),
    n: cell.aom?.n ?? 0,
    runs: results.runs.filter((r) => r.cell === cell.id).length,
    aom: cell.aom,
    dom: cell.dom,
    baseline: cell.baseline,
    gainAom: cell.gain.aom,
    gainDom: cell.gain.dom,
  }));
}

export function runsOfCell(results: StudyResults, cellId: string): StudyRun[] {
  return results.runs.filter((r) => r.cell === cellId);
}

/** "98.12% ± 0.31" (the std in percentage points), or "-". */
export function summaryText(summary: Summary | null): string {
  if (summary === null || summary.n === 0) return '-';
  return Number.isFinite(summary.std) ? `${percent(summary.mean)} ± ${(100 * summary.std).toFixed(2)}` : percent(summary.mean);
}

/** "+0.42 pp [-0.10, +0.94]" (the 95% t interval), or "-". */
export function gainText(gain: Gain | null): string {
  if (gain === null || gain.n === 0) return '-';
  const [low, high] = gain.tInterval;
  return Number.isFinite(low) && Number.isFinite(high) ? `${points(gain.mean)} [${signed(low)}, ${signed(high)}]` : points(gain.mean);
}

export function pValueText(gain: Gain | null): string {
  if (gain === null || !Number.isFinite(gain.pValue)) return '-';
  return gain.pValue < 0.001 ? '<0.001' : gain.pValue.toFixed(3);
}

function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
}

/** A number to sort by (NaN and missing sort last whichever way). */
export function sortValue(value: number | null | undefined): number | undefined {
  return value === null || value === undefined || !Number.isFinite(value) ? undefined : value;
}
