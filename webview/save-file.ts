// Files the page offers to save: the charts' data as CSV, one chart as PNG. The page cannot write
// files; it posts a `save-file` message and the host asks where to save it.

import type { WebviewMessage } from '../src/shared/panel-protocol';
import { buildCsv } from './csv';
import { fileName } from './format';
import type { RunModel } from './run-model';

/** The CSV of the runs on the charts (the active one first); null when there is none. */
export function csvSaveMessage(runs: readonly RunModel[], smoothing: number): WebviewMessage | null {
  if (runs.length === 0) return null;
  const name = runs.length > 1 ? `${runs[0].label}-compare-metrics` : `${runs[0].label}-metrics`;
  return { type: 'save-file', kind: 'csv', suggestedName: fileName(name, 'csv'), content: buildCsv(runs, smoothing) };
}

/** One chart as a PNG data URL, named after the active run and the chart. */
export function pngSaveMessage(runLabel: string | undefined, chartId: string, pngDataUrl: string): WebviewMessage {
  return { type: 'save-file', kind: 'png', suggestedName: fileName(`${runLabel ?? 'was-lab'}-${chartId}`, 'png'), content: pngDataUrl };
}
