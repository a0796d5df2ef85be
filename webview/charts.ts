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
  type LegendItem,
} from 'chart.js';
import { percent } from '../src/shared/format';
import { CHART_TITLES, type ChartId, type SeriesSpec } from './chart-series';
import { metric } from './format';
import { downsampleMinMax, type Point } from './series';
import type { TestChartInfo } from './test-hook';
import { withAlpha, type ChartTheme } from './theme';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Legend, Tooltip);

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
    this.element = document.createElement('section');
    this.element.className = `chart-card chart-${id}`;
    this.element.dataset.chart = id;
    const header = document.createElement('header');
    const title = document.createElement('h3');
    title.id = `chart-title-${id}`;
    title.textContent = CHART_TITLES[id];
    const save = document.createElement('vscode-button');
    save.secondary = true;
    save.className = 'save-png';
    save.dataset.chart = id;
    save.textContent = 'Save PNG';
    save.title = `Save the ${CHART_TITLES[id].toLowerCase()} chart as a PNG image`;
    save.addEventListener('click', () => onSavePng(this));
    header.append(title, save);
    const box = document.createElement('div');
    box.className = 'chart-box';
    this.canvas = document.createElement('canvas');
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-labelledby', title.id);
    this.empty = document.createElement('p');
    this.empty.className = 'chart-empty';
    this.empty.textContent = 'No data yet';
    box.append(this.canvas, this.empty);
    this.element.append(header, box);

    const options: ChartOptions<'line'> = {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      spanGaps: false,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      onResize: () => onResize(),
      plugins: {
        legend: {
          position: 'bottom',
          labels: { boxWidth: 24, boxHeight: 2, filter: (item: LegendItem) => !this.isFaint(item.datasetIndex) },
          onClick: (_event, item) => {
            const spec = item.datasetIndex === undefined ? undefined : this.specs[item.datasetIndex];
            if (spec) onToggleSeries(spec.key);
          },
        },
        tooltip: {
          filter: (item) => !this.isFaint(item.datasetIndex),
          callbacks: {
            title: (items) => (items.length > 0 ? `epoch ${(items[0].parsed.x ?? 0).toFixed(2)}` : ''),
            label: (item) => `${item.dataset.label ?? ''}: ${this.formatY(item.parsed.y ?? Number.NaN)}`,
          },
        },
      },
      scales: { x: this.xScale(), y: this.yScale(false) },
    };
    this.chart = new Chart(this.canvas, { type: 'line', data: { datasets: [] }, options });
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

    let xMin = Infinity;
    let xMax = -Infinity;
    for (const spec of specs) {
      const points = spec.series.points;
      if (points.length === 0) continue;
      xMin = Math.min(xMin, points[0].x);
      xMax = Math.max(xMax, points[points.length - 1].x);
    }
    // The x axis spans the data (no rounding out to a nice number past the last epoch).
    const x = this.chart.options.scales?.x;
    if (x) {
      x.min = Number.isFinite(xMin) ? Math.min(0, Math.floor(xMin)) : undefined;
      x.max = Number.isFinite(xMax) ? Math.max(xMax, 1) : undefined;
    }
    // Each bucket may keep 4 points: about 2 points per horizontal pixel at most.
    const buckets = Math.max(50, Math.round((this.chart.chartArea?.width ?? this.chart.width ?? 600) / 2));
    const live = new Set<string>();
    const datasets: LineDataset[] = specs.map((spec) => {
      live.add(spec.key);
      let dataset = this.datasets.get(spec.key);
      if (!dataset) {
        dataset = { label: spec.label, data: [] };
        this.datasets.set(spec.key, dataset);
      }
      const color = context.theme.colors[spec.color];
      const stroke = spec.faint ? withAlpha(color, 0.2) : color;
      const markers = spec.markers && spec.series.length <= MARKER_LIMIT;
      Object.assign(dataset, {
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
      return dataset;
    });
    for (const key of [...this.datasets.keys()]) if (!live.has(key)) this.datasets.delete(key);
    for (const key of [...this.cache.keys()]) if (!live.has(key)) this.cache.delete(key);
    this.chart.data.datasets = datasets;
    this.empty.hidden = specs.length > 0;
    this.element.classList.toggle('is-empty', specs.length === 0);
    this.canvas.setAttribute('aria-label', this.describe());
    this.chart.update('none');
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
    const scales = this.chart.options.scales as Record<string, { type?: string; grid?: { color?: unknown }; ticks?: { color?: unknown } }>;
    return {
      id: this.id,
      title: this.title,
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
    const common = { ticks: { color: t?.foreground }, grid: { color: t?.grid }, border: { color: t?.grid } };
    if (log) return { type: 'logarithmic', ...common };
    // chart.js's own tick labels adapt their decimals to the step (alphas move in the 4th digit).
    if (this.id !== 'accuracy') return { type: 'linear', ...common };
    return { type: 'linear', ...common, ticks: { ...common.ticks, callback: (v: number | string) => `${Math.round(Number(v) * 1000) / 10}%` } };
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

/** chart.js defaults from the theme (fonts and text colour of everything not set per chart). */
export function applyChartDefaults(theme: ChartTheme): void {
  Chart.defaults.font.family = theme.fontFamily;
  Chart.defaults.font.size = Math.max(10, theme.fontSize - 1);
  Chart.defaults.color = theme.foreground;
  Chart.defaults.borderColor = theme.grid;
}
