// Which series each chart draws, for the runs on display (the active run first, then the
// compared ones), with their legend labels and styles. One run: colours tell the metrics apart.
// Several runs: each run has its colour and the dash pattern tells the metrics apart.
// Pure: charts.ts turns these specs into chart.js datasets with the theme's colours.

import type { InferenceMode } from '../src/shared/protocol';
import type { RunModel } from './run-model';
import type { Series } from './series';

export type ChartId = 'loss' | 'accuracy' | 'lr' | 'throughput' | 'alpha';
export const CHART_IDS: readonly ChartId[] = ['loss', 'accuracy', 'lr', 'throughput', 'alpha'];

export const CHART_TITLES: Record<ChartId, string> = {
  loss: 'Loss',
  accuracy: 'Accuracy',
  lr: 'Learning rate',
  throughput: 'Throughput (samples/s)',
  alpha: 'Alpha per transformed layer',
};

/** What each chart's y axis measures, with its unit (the x axis is the epoch everywhere). */
export const Y_AXIS_TITLES: Record<ChartId, string> = {
  loss: 'cross-entropy (nats)',
  accuracy: 'top-1 accuracy (%)',
  lr: 'learning rate (per step)',
  throughput: 'training images per second',
  alpha: 'alpha (kernel scale, no unit)',
};

/** The charts whose y axis starts at zero, so that a drift of 1e-4 does not look like a fall. */
export const ZERO_BASED: ReadonlySet<ChartId> = new Set<ChartId>(['alpha', 'throughput', 'lr']);

/** The VS Code chart colours (--vscode-charts-*), and a muted one for baselines. */
export type ColorRole = 'blue' | 'orange' | 'green' | 'purple' | 'red' | 'yellow' | 'muted';
export const RUN_COLORS: readonly ColorRole[] = ['blue', 'orange', 'green', 'purple', 'red', 'yellow'];

export interface SeriesSpec {
  /** Unique within its chart and stable across renders (legend visibility is remembered by it). */
  key: string;
  label: string;
  runId: string;
  runLabel: string;
  /** What it shows, e.g. 'train loss', 'AOM val', 'alpha conv2'. */
  part: string;
  series: Series;
  /** Drawn EMA-smoothed when smoothing is on. */
  smooth: boolean;
  /** The raw line under a smoothed one: drawn faint, left out of the legend. */
  faint: boolean;
  color: ColorRole;
  dash: number[];
  width: number;
  /** Per-epoch values: drawn with point markers. */
  markers: boolean;
  /** An accuracy on a split: the split's images (its 95% interval is shown beside each value). */
  n?: number;
}

const DASH = {
  solid: [] as number[],
  dotted: [2, 3],
  dashed: [6, 4],
  dashDot: [10, 3, 2, 3],
  long: [12, 4],
};
const LAYER_DASHES = [DASH.solid, DASH.dashed, DASH.dotted, DASH.dashDot, DASH.long];

interface Part {
  part: string;
  series: Series;
  smooth: boolean;
  /** Colour when one run is shown. */
  color: ColorRole;
  /** Dash when several runs are shown (a baseline keeps its own dash either way). */
  dash: number[];
  width?: number;
  markers?: boolean;
  keepDash?: boolean;
  n?: number | null;
}

export function chartSeries(runs: readonly RunModel[], mode: InferenceMode, smoothing: number): Record<ChartId, SeriesSpec[]> {
  const out: Record<ChartId, SeriesSpec[]> = { loss: [], accuracy: [], lr: [], throughput: [], alpha: [] };
  const several = runs.length > 1;
  runs.forEach((run, index) => {
    const runColor = RUN_COLORS[index % RUN_COLORS.length];
    const add = (chart: ChartId, p: Part): void => {
      if (p.series.length === 0) return;
      const label = several ? `${run.label} · ${p.part}` : p.part;
      const color = several ? runColor : p.color;
      const dash = several || p.keepDash ? p.dash : DASH.solid;
      const key = `${run.runId}|${p.part}`;
      const base = { runId: run.runId, runLabel: run.label, part: p.part, series: p.series, color, dash, markers: p.markers ?? false, ...(p.n ? { n: p.n } : {}) };
      if (p.smooth && smoothing > 0)
        out[chart].push({ ...base, key: `${key}|raw`, label: `${label} (raw)`, smooth: false, faint: true, width: 1 });
      out[chart].push({ ...base, key, label, smooth: p.smooth, faint: false, width: p.width ?? 1.5 });
    };
    const steps = (name: 'stepLoss' | 'stepAccuracy' | 'stepLr' | 'stepThroughput', fallback: 'epochLoss' | 'epochAccuracy' | 'epochLr' | 'epochThroughput') =>
      run.metric(name).length > 0 ? { series: run.metric(name), smooth: true, markers: false } : { series: run.metric(fallback), smooth: false, markers: true };
    const split = run.selectionSplit() === 'test' ? 'test' : 'val';
    const n = run.splitSize(run.selectionSplit());

    add('loss', { part: 'train loss', ...steps('stepLoss', 'epochLoss'), color: 'blue', dash: DASH.solid });
    if (run.metric('stepLoss').length > 0)
      add('loss', { part: 'train loss (epoch mean)', series: run.metric('epochLoss'), smooth: false, markers: true, color: 'orange', dash: DASH.dashed });

    if (run.isPlain()) {
      add('loss', { part: `${split} loss (plain model)`, series: run.metric('aomLoss'), smooth: false, markers: true, color: 'green', dash: DASH.dashDot, width: 2 });
    } else {
      add('loss', { part: `AOM ${split} loss`, series: run.metric('aomLoss'), smooth: false, markers: true, color: 'green', dash: DASH.dashDot, width: 2 });
      add('loss', { part: `DOM ${split} loss`, series: run.metric('domLoss'), smooth: false, markers: true, color: 'purple', dash: DASH.long, width: 2 });
    }

    add('accuracy', { part: 'train', ...steps('stepAccuracy', 'epochAccuracy'), color: 'blue', dash: DASH.dotted, width: 1 });
    if (run.isPlain()) {
      add('accuracy', { part: `${split} (plain model)`, series: run.metric('aom'), smooth: false, markers: true, color: 'green', dash: DASH.solid, width: 2, n });
    } else {
      // The current mode leads: listed first and drawn heavier.
      const modes: InferenceMode[] = mode === 'aom' ? ['aom', 'dom'] : ['dom', 'aom'];
      for (const m of modes)
        add('accuracy', {
          part: `${m.toUpperCase()} ${split}`,
          series: run.metric(m),
          smooth: false,
          markers: true,
          color: m === 'aom' ? 'green' : 'purple',
          dash: m === 'aom' ? DASH.solid : DASH.dashed,
          width: m === mode ? 2.5 : 1.5,
          n,
        });
    }
    if (run.baseline) {
      add('accuracy', { part: `baseline ${split}`, series: run.baseline.metric('aom'), smooth: false, markers: true, color: 'muted', dash: DASH.dashDot, keepDash: true, width: 2, n });
      const baseLoss = run.baseline.metric('stepLoss').length > 0 ? run.baseline.metric('stepLoss') : run.baseline.metric('epochLoss');
      add('loss', { part: 'baseline train loss', series: baseLoss, smooth: baseLoss === run.baseline.metric('stepLoss'), color: 'muted', dash: DASH.dashDot, keepDash: true });
    }

    add('lr', { part: 'learning rate', ...steps('stepLr', 'epochLr'), smooth: false, color: 'yellow', dash: DASH.solid });
    add('throughput', { part: 'samples/s', ...steps('stepThroughput', 'epochThroughput'), color: 'orange', dash: DASH.solid });

    [...run.alphas.entries()].forEach(([layer, series], i) =>
      add('alpha', {
        part: `alpha ${layer}`,
        series,
        smooth: false,
        markers: true,
        color: RUN_COLORS[i % RUN_COLORS.length],
        dash: LAYER_DASHES[i % LAYER_DASHES.length],
      }),
    );
  });
  return out;
}
