// The chart cards: one chart.js line chart each, fed from SeriesSpecs. chart.js gets numeric x
// (epochs), pre-parsed points (`parsing: false`) and at most a few points per pixel: smoothing
// and min/max downsampling happen here first (series.ts), cached per series until it grows,
// the smoothing changes or the chart is resized. No animation: live data redraws at once.

import {
  Chart,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  LogarithmicScale,
  PointElement,
  Tooltip,
  type ChartDataset,
  type ChartOptions,
} from 'chart.js';
import zoomPlugin from 'chartjs-plugin-zoom';
import { percent } from '../src/shared/format';
import { ChartLegend } from './chart-legend';
import { CHART_TITLES, Y_AXIS_TITLES, ZERO_BASED, type ChartId, type SeriesSpec } from './chart-series';
import { h } from './dom';
import { accuracyWithInterval, metric } from './format';
import { downsampleMinMax, type Point } from './series';
import type { TestChartInfo } from './test-hook';
import { withAlpha, type ChartTheme } from './theme';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Legend, Tooltip, zoomPlugin);

/** Zoom and pan (chartjs-plugin-zoom): drag pans, Ctrl+wheel or Shift+drag zooms, pinch on touch. */
export function zoomOptions(onChange: () => void) {
  return {
    zoom: { wheel: { enabled: true, modifierKey: 'ctrl' as const }, drag: { enabled: true, modifierKey: 'shift' as const }, pinch: { enabled: true }, mode: 'xy' as const, onZoomComplete: onChange },
    pan: { enabled: true, mode: 'xy' as const, onPanComplete: onChange },
  };
}

/** A short number for axis notes: 4 significant digits. */
function short(x: number): string {
  return String(Number(x.toPrecision(4)));
}

/** What the axes show now: a zoom with its ranges, a y axis that does not start at zero, or nothing. */
export function axisNote(chart: Chart, zoomed: boolean, formatY: (y: number) => string): string {
  const x = chart.scales.x;
  const y = chart.scales.y;
  if (!x || !y) return '';
  if (zoomed) return `Zoomed: x ${short(x.min)}–${short(x.max)}, y ${formatY(y.min)}–${formatY(y.max)}`;
  if (y.type === 'linear' && y.min > 0) return `y axis from ${formatY(y.min)}, not zero`;
  return '';
}

type LineDataset = ChartDataset<'line', Point[]>;
type ScaleOptions = NonNullable<ChartOptions<'line'>['scales']>[string];

export interface RenderContext {
  smoothing: number;
  theme: ChartTheme;
  hidden: ReadonlySet<string>;
  lossLogScale: boolean;
}

interface CacheEntry {
  length: number;
  smoothing: number;
  buckets: number;
  xMin: number;
  xMax: number;
  data: Point[];
}

/** Per-epoch series get point markers while they are short enough for markers to help. */
const MARKER_LIMIT = 60;

export class ChartCard {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly empty: HTMLElement;
  private readonly note: HTMLElement;
  private readonly resetZoom: HTMLElement;
  private readonly legend: ChartLegend;
  private readonly chart: Chart<'line', Point[]>;
  private specs: SeriesSpec[] = [];
  private readonly datasets = new Map<string, LineDataset>();
  private readonly cache = new Map<string, CacheEntry>();
  private yLog = false;
  private theme: ChartTheme | null = null;

  constructor(
    readonly id: ChartId,
    onToggleSeries: (key: string) => void,
    onSavePng: (card: ChartCard) => void,
    onResize: () => void,
  ) {
    this.element = h('section', { class: `chart-card chart-${id}`, 'data-chart': id, 'aria-labelledby': `chart-title-${id}` });
    const title = h('h3', { id: `chart-title-${id}` }, CHART_TITLES[id]);
    const zoomButton = (label: string, text: string, act: () => void) => {
      const b = h('vscode-button', { secondary: true, class: 'zoom-button', 'data-zoom': id, title: label, 'aria-label': label }, text);
      b.addEventListener('click', act);
      return b;
    };
    const zoomIn = zoomButton(`Zoom in on the ${CHART_TITLES[id].toLowerCase()} chart`, '+', () => this.zoomBy(1.5));
    const zoomOut = zoomButton(`Zoom out on the ${CHART_TITLES[id].toLowerCase()} chart`, '−', () => this.zoomBy(1 / 1.5));
    this.resetZoom = zoomButton(`Reset the zoom of the ${CHART_TITLES[id].toLowerCase()} chart`, 'Reset zoom', () => this.unzoom());
    this.resetZoom.classList.add('reset-zoom');
    const save = h('vscode-button', { secondary: true, class: 'save-png', 'data-chart': id, title: `Save the ${CHART_TITLES[id].toLowerCase()} chart as a PNG image` }, 'Save PNG');
    save.addEventListener('click', () => onSavePng(this));
    this.note = h('p', { class: 'axis-note', 'aria-live': 'polite' });
    this.canvas = h('canvas', { role: 'img', 'aria-labelledby': title.id });
    this.empty = h('p', { class: 'chart-empty' }, 'No data yet');
    this.legend = new ChartLegend(CHART_TITLES[id], onToggleSeries);
    this.element.append(
      h('header', {}, title, h('div', { class: 'chart-actions' }, zoomIn, zoomOut, this.resetZoom, save)),
      this.note,
      h('div', { class: 'chart-box' }, this.canvas, this.empty),
      this.legend.element,
    );
    this.chart = new Chart(this.canvas, { type: 'line', data: { datasets: [] }, options: this.options(onResize) });
  }

  get title(): string {
    return CHART_TITLES[this.id];
  }

  /** Feed new specs and redraw. */
  update(specs: SeriesSpec[], context: RenderContext): void {
    this.specs = specs;
    const themeChanged = this.theme !== context.theme;
    this.theme = context.theme;
    const yLog = this.id === 'loss' && context.lossLogScale;
    if (yLog !== this.yLog || themeChanged) {
      this.yLog = yLog;
      this.chart.options.scales = { x: this.xScale(), y: this.yScale(yLog) };
    }
    if (themeChanged) this.applyThemeToOptions(context.theme);
    const [xMin, xMax] = xExtent(specs);
    // The x axis spans the data (no rounding out to a nice number past the last epoch), unless
    // the user zoomed or panned: then their view stays.
    const x = this.chart.options.scales?.x;
    if (x && !this.chart.isZoomedOrPanned()) {
      x.min = Number.isFinite(xMin) ? Math.min(0, Math.floor(xMin)) : undefined;
      x.max = Number.isFinite(xMax) ? Math.max(xMax, 1) : undefined;
    }
    // Each bucket may keep 4 points: about 2 points per horizontal pixel at most.
    const buckets = Math.max(50, Math.round((this.chart.chartArea?.width ?? this.chart.width ?? 600) / 2));
    const datasets = specs.map((spec) => this.dataset(spec, context, buckets, xMin, xMax));
    const live = new Set(specs.map((s) => s.key));
    for (const key of [...this.datasets.keys()]) if (!live.has(key)) this.datasets.delete(key);
    for (const key of [...this.cache.keys()]) if (!live.has(key)) this.cache.delete(key);
    this.chart.data.datasets = datasets;
    this.empty.hidden = specs.length > 0;
    this.element.classList.toggle('is-empty', specs.length === 0);
    this.canvas.setAttribute('aria-label', this.describe());
    this.chart.update('none');
    this.legend.update(
      specs.flatMap((spec, i) => (spec.faint ? [] : [{ ...spec, color: String(datasets[i].borderColor), hidden: datasets[i].hidden === true }])),
      new Set(specs.map((s) => s.runId)).size > 1,
    );
    this.showAxisNote();
  }

  private dataset(spec: SeriesSpec, context: RenderContext, buckets: number, xMin: number, xMax: number): LineDataset {
    let dataset = this.datasets.get(spec.key);
    if (!dataset) {
      dataset = { label: spec.label, data: [] };
      this.datasets.set(spec.key, dataset);
    }
    const color = context.theme.colors[spec.color];
    const stroke = spec.faint ? withAlpha(color, 0.2) : color;
    const markers = spec.markers && spec.series.length <= MARKER_LIMIT;
    return Object.assign(dataset, {
      label: spec.label,
      data: this.drawn(spec, context.smoothing, buckets, xMin, xMax),
      borderColor: stroke,
      backgroundColor: stroke,
      borderDash: spec.dash,
      borderWidth: spec.width,
      pointRadius: markers ? 2.5 : 0,
      pointHoverRadius: markers ? 4 : 2,
      pointHitRadius: 4,
      tension: 0,
      hidden: context.hidden.has(spec.key.replace(/\|raw$/, '')),
      order: spec.faint ? 1 : 0,
    });
  }

  private options(onResize: () => void): ChartOptions<'line'> {
    return {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      spanGaps: false,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      onResize: () => onResize(),
      plugins: {
        // The legend is HTML under the canvas (chart-legend.ts): readable and reachable by keyboard.
        legend: { display: false },
        tooltip: {
          filter: (item) => !this.isFaint(item.datasetIndex),
          callbacks: {
            title: (items) => (items.length > 0 ? `epoch ${(items[0].parsed.x ?? 0).toFixed(2)}` : ''),
            label: (item) => {
              const y = item.parsed.y ?? Number.NaN;
              const n = this.specs[item.datasetIndex]?.n;
              return `${item.dataset.label ?? ''}: ${n === undefined ? this.formatY(y) : accuracyWithInterval(y, n)}`;
            },
          },
        },
        zoom: zoomOptions(() => this.showAxisNote()),
      },
      scales: { x: this.xScale(), y: this.yScale(false) },
    };
  }

  private zoomBy(factor: number): void {
    this.chart.zoom(factor);
    this.showAxisNote();
  }

  private unzoom(): void {
    this.chart.resetZoom('none');
    this.showAxisNote();
  }

  private showAxisNote(): void {
    const zoomed = this.chart.isZoomedOrPanned();
    this.note.textContent = axisNote(this.chart as unknown as Chart, zoomed, (y) => this.formatAxis(y));
    this.note.hidden = this.note.textContent === '';
    this.resetZoom.hidden = !zoomed;
  }

  clearCache(): void {
    this.cache.clear();
  }

  /** The chart as a PNG data URL, on the theme's background (the canvas itself is transparent). */
  toPng(): string {
    const out = document.createElement('canvas');
    out.width = this.canvas.width;
    out.height = this.canvas.height;
    const ctx = out.getContext('2d');
    if (!ctx) throw new Error('no 2d context');
    ctx.fillStyle = this.theme?.background ?? '#ffffff';
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.drawImage(this.canvas, 0, 0);
    return out.toDataURL('image/png');
  }

  testInfo(): TestChartInfo {
    type Axis = { type?: string; grid?: { color?: unknown }; ticks?: { color?: unknown }; title?: { display?: boolean; text?: unknown } };
    const scales = this.chart.options.scales as Record<string, Axis>;
    const axisTitle = (axis: Axis | undefined) => (axis?.title?.display ? String(axis.title.text ?? '') : '');
    const y = this.chart.scales.y;
    return {
      id: this.id,
      title: this.title,
      xTitle: axisTitle(scales.x),
      yTitle: axisTitle(scales.y),
      yRange: y ? [y.min, y.max] : null,
      zoomed: this.chart.isZoomedOrPanned(),
      axisNote: this.note.textContent ?? '',
      yScale: scales.y?.type === 'logarithmic' ? 'logarithmic' : 'linear',
      gridColor: String(scales.y?.grid?.color ?? ''),
      tickColor: String(scales.y?.ticks?.color ?? ''),
      series: this.specs.map((spec, i) => {
        const dataset = this.chart.data.datasets[i];
        const drawn = dataset.data;
        return {
          key: spec.key,
          label: spec.label,
          runId: spec.runId,
          part: spec.part,
          rawCount: spec.series.length,
          drawnCount: drawn.length,
          hidden: dataset.hidden === true,
          faint: spec.faint,
          color: String(dataset.borderColor),
          dash: [...((dataset.borderDash as number[] | undefined) ?? [])],
          last: spec.series.last(),
          drawnY: drawn.length <= 500 ? drawn.map((p) => p.y) : null,
        };
      }),
    };
  }

  private drawn(spec: SeriesSpec, smoothing: number, buckets: number, xMin: number, xMax: number): Point[] {
    const factor = spec.smooth ? smoothing : 0;
    const cached = this.cache.get(spec.key);
    if (
      cached &&
      cached.length === spec.series.length &&
      cached.smoothing === factor &&
      cached.buckets === buckets &&
      cached.xMin === xMin &&
      cached.xMax === xMax
    )
      return cached.data;
    const data = downsampleMinMax(spec.series.smoothedPoints(factor), buckets, xMin, xMax);
    this.cache.set(spec.key, { length: spec.series.length, smoothing: factor, buckets, xMin, xMax, data });
    return data;
  }

  private isFaint(index: number | undefined): boolean {
    return index !== undefined && this.specs[index]?.faint === true;
  }

  private formatY(y: number): string {
    return this.id === 'accuracy' ? percent(y, '—') : metric(y);
  }

  private describe(): string {
    const visible = this.specs.filter((s) => !s.faint);
    if (visible.length === 0) return `${this.title}: no data yet`;
    const parts = visible.map((s) => {
      const last = s.series.last();
      return last ? `${s.label} ${this.formatY(last.y)} at epoch ${last.x.toFixed(2)}` : s.label;
    });
    return `${this.title}: ${parts.join('; ')}`;
  }

  private xScale(): ScaleOptions {
    const t = this.theme;
    return {
      type: 'linear',
      title: { display: true, text: 'epoch', color: t?.foreground },
      // The last tick sits on the last point (epoch 120.1 mid-run): at most 2 decimals, no trailing zeros.
      ticks: { color: t?.foreground, maxRotation: 0, callback: (v: number | string) => String(Math.round(Number(v) * 100) / 100) },
      grid: { color: t?.grid },
      border: { color: t?.grid },
    };
  }

  private yScale(log: boolean): ScaleOptions {
    const t = this.theme;
    const title = { display: true, text: log ? `${Y_AXIS_TITLES[this.id]}, log scale` : Y_AXIS_TITLES[this.id], color: t?.foreground };
    const common = { title, ticks: { color: t?.foreground }, grid: { color: t?.grid }, border: { color: t?.grid } };
    if (log) return { type: 'logarithmic', ...common };
    // An honest axis: alpha, lr and throughput start at zero (a drift of 1e-4 is not a fall).
    // chart.js's own tick labels adapt their decimals to the step (alphas move in the 4th digit).
    if (this.id !== 'accuracy') return { type: 'linear', ...common, beginAtZero: ZERO_BASED.has(this.id) };
    return { type: 'linear', ...common, ticks: { ...common.ticks, callback: (v: number | string) => `${Math.round(Number(v) * 1000) / 10}%` } };
  }

  /** A y value as the axis shows it. */
  private formatAxis(y: number): string {
    return this.id === 'accuracy' ? `${Number((100 * y).toPrecision(4))}%` : short(y);
  }

  private applyThemeToOptions(theme: ChartTheme): void {
    const plugins = this.chart.options.plugins;
    if (plugins?.legend?.labels) plugins.legend.labels.color = theme.foreground;
    if (plugins?.tooltip) {
      plugins.tooltip.backgroundColor = withAlpha(theme.background, 0.95);
      plugins.tooltip.titleColor = theme.foreground;
      plugins.tooltip.bodyColor = theme.foreground;
      plugins.tooltip.borderColor = theme.grid;
      plugins.tooltip.borderWidth = 1;
    }
    this.chart.options.font = { family: theme.fontFamily, size: theme.fontSize };
  }
}

/** The x range of the specs' points (Infinity, -Infinity when there are none). */
function xExtent(specs: readonly SeriesSpec[]): [number, number] {
  let xMin = Infinity;
  let xMax = -Infinity;
  for (const spec of specs) {
    const points = spec.series.points;
    if (points.length === 0) continue;
    xMin = Math.min(xMin, points[0].x);
    xMax = Math.max(xMax, points[points.length - 1].x);
  }
  return [xMin, xMax];
}

/** chart.js defaults from the theme (fonts and text colour of everything not set per chart). */
export function applyChartDefaults(theme: ChartTheme): void {
  Chart.defaults.font.family = theme.fontFamily;
  Chart.defaults.font.size = Math.max(10, theme.fontSize - 1);
  Chart.defaults.color = theme.foreground;
  Chart.defaults.borderColor = theme.grid;
}
