// The chart data as CSV (long format: one row per point), for `save-file`. Pure.

import { METRIC_NAMES, type MetricName, type RunModel } from './run-model';
import type { Series } from './series';

const METRIC_LABELS: Record<MetricName, string> = {
  stepLoss: 'step train loss',
  stepAccuracy: 'step train accuracy',
  stepLr: 'step learning rate',
  stepThroughput: 'step samples/s',
  epochLoss: 'epoch train loss',
  epochAccuracy: 'epoch train accuracy',
  aom: 'AOM selection accuracy',
  dom: 'DOM selection accuracy',
  epochLr: 'epoch learning rate',
  epochThroughput: 'epoch samples/s',
  aomLoss: 'AOM selection loss',
  domLoss: 'DOM selection loss',
};

export const CSV_HEADER = ['run', 'series', 'epoch', 'step', 'value', 'smoothed'];

/** Every series of these runs (and their baselines): raw values, and the EMA at `smoothing` for step series. */
export function buildCsv(runs: readonly RunModel[], smoothing: number): string {
  const lines = [CSV_HEADER.join(',')];
  const emit = (run: RunModel, name: string, series: Series, smooth: boolean): void => {
    const smoothed = smooth ? series.smoothedPoints(smoothing) : series.points;
    for (let i = 0; i < series.points.length; i++) {
      const p = series.points[i];
      const step = series.steps[i];
      lines.push([cell(run.label), cell(name), num(p.x), step === null ? '' : String(step), num(p.y), num(smoothed[i].y)].join(','));
    }
  };
  const emitRun = (run: RunModel): void => {
    for (const name of METRIC_NAMES) emit(run, METRIC_LABELS[name], run.metric(name), name.startsWith('step'));
    for (const [layer, series] of run.alphas) emit(run, `alpha ${layer}`, series, false);
  };
  for (const run of runs) {
    emitRun(run);
    if (run.baseline) emitRun(run.baseline);
  }
  return lines.join('\n') + '\n';
}

function num(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(10))) : Number.isNaN(v) ? 'NaN' : String(v);
}

/** RFC 4180 quoting, and a leading ' for text a spreadsheet would take for a formula. */
function cell(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
