// The gains chart: per cell (x), the mean paired gain of WAS over plain in percentage points, its
// 95% Student t interval as an error bar, and each seed's own gain as a point beside it. chart.js
// draws the points (a scatter chart on a linear x of cell indexes); the error bars and the zero line
// are a small plugin of ours (chart.js has no error bars), which also records what it drew, so the
// page's test hook reports what is on the canvas, not what was meant to be.

import { Chart, Legend, LinearScale, PointElement, ScatterController, Tooltip, type ChartDataset, type Plugin } from 'chart.js';
import type { CellRow } from './rows';

Chart.register(ScatterController, PointElement, LinearScale, Legend, Tooltip);

export type GainMetric = 'aom' | 'dom';

interface MeanPoint {
  x: number;
  y: number;
  low: number;
  high: number;
  cell: string;
}

interface SeedPoint {
  x: number;
  y: number;
  seed: number;
  cell: string;
}

export interface DrawnCiBar {
  cell: string;
  mean: number;
  low: number;
  high: number;
}

export interface GainChartInfo {
  metric: GainMetric;
  cells: string[];
  /** The error bars the plugin drew at the last draw. */
  ciBars: DrawnCiBar[];
  /** The seed points chart.js holds. */
  seedPoints: { cell: string; seed: number; gain: number }[];
}

export interface ChartColors {
  mean: string;
  seeds: string;
  foreground: string;
  grid: string;
}

/** Seeds of one cell spread this far either side of it, so equal gains do not hide each other. */
const SEED_SPREAD = 0.18;

const ciBarsPlugin: Plugin<'scatter'> & { drawn: WeakMap<Chart, DrawnCiBar[]> } = {
  id: 'wasCiBars',
  drawn: new WeakMap(),
  afterDatasetsDraw(chart) {
    const { ctx, scales } = chart;
    const x = scales.x;
    const y = scales.y;
    const drawn: DrawnCiBar[] = [];
    ctx.save();
    ctx.strokeStyle = String(chart.options.color ?? '#888');
    ctx.setLineDash([4, 4]);
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(chart.chartArea.left, y.getPixelForValue(0));
    ctx.lineTo(chart.chartArea.right, y.getPixelForValue(0));
    ctx.stroke();
    ctx.setLineDash([]);
    const means = chart.data.datasets[0]?.data as MeanPoint[] | undefined;
    ctx.strokeStyle = String(chart.data.datasets[0]?.borderColor ?? '#888');
    ctx.lineWidth = 2;
    for (const point of means ?? []) {
      if (!Number.isFinite(point.low) || !Number.isFinite(point.high)) continue;
      const px = x.getPixelForValue(point.x);
      const top = y.getPixelForValue(point.high);
      const bottom = y.getPixelForValue(point.low);
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, bottom);
      ctx.moveTo(px - 6, top);
      ctx.lineTo(px + 6, top);
      ctx.moveTo(px - 6, bottom);
      ctx.lineTo(px + 6, bottom);
      ctx.stroke();
      drawn.push({ cell: point.cell, mean: point.y, low: point.low, high: point.high });
    }
    ctx.restore();
    ciBarsPlugin.drawn.set(chart, drawn);
  },
};

export class GainChart {
  private readonly chart: Chart<'scatter', (MeanPoint | SeedPoint)[]>;
  private metric: GainMetric = 'aom';
  private cells: string[] = [];

  constructor(canvas: HTMLCanvasElement) {
    this.chart = new Chart(canvas, {
      type: 'scatter',
      data: { datasets: [] },
      options: {
        animation: false,
        maintainAspectRatio: false,
        parsing: false,
        plugins: {
          legend: { display: true },
          tooltip: { callbacks: { label: (item) => tooltipLabel(item.raw as MeanPoint | SeedPoint) } },
        },
        scales: {
          x: {
            type: 'linear',
            min: -0.5,
            max: 0.5,
            // One tick per cell, at its index, named by its id.
            afterBuildTicks: (axis) => void (axis.ticks = this.cells.map((_, i) => ({ value: i }))),
            ticks: { callback: (value) => this.cells[Number(value)] ?? '' },
          },
          y: { type: 'linear', title: { display: true, text: 'gain (points)' } },
        },
      },
      plugins: [ciBarsPlugin],
    });
  }

  update(rows: readonly CellRow[], metric: GainMetric, colors: ChartColors): void {
    this.metric = metric;
    this.cells = rows.map((r) => r.id);
    const means: MeanPoint[] = [];
    const seeds: SeedPoint[] = [];
    rows.forEach((row, i) => {
      const gain = metric === 'aom' ? row.gainAom : row.gainDom;
      if (gain === null || gain.n === 0) return;
      means.push({ x: i, y: gain.mean, low: gain.tInterval[0], high: gain.tInterval[1], cell: row.id });
      const n = gain.perSeed.length;
      gain.perSeed.forEach((s, k) => seeds.push({ x: i + (n > 1 ? SEED_SPREAD * (2 * k / (n - 1) - 1) : 0) + 0.25, y: s.gain, seed: s.seed, cell: row.id }));
    });
    const name = metric.toUpperCase();
    const datasets: ChartDataset<'scatter', (MeanPoint | SeedPoint)[]>[] = [
      { label: `${name} mean gain, 95% t interval`, data: means, borderColor: colors.mean, backgroundColor: colors.mean, pointStyle: 'rectRot', pointRadius: 6 },
      { label: `${name} gain per seed`, data: seeds, borderColor: colors.seeds, backgroundColor: colors.seeds, pointRadius: 3 },
    ];
    this.chart.data.datasets = datasets;
    const options = this.chart.options;
    options.color = colors.foreground;
    const x = options.scales!.x!;
    x.max = Math.max(0.5, rows.length - 0.5);
    // The intervals are drawn by the plugin: the y range must hold them, and zero.
    const ends = means.flatMap((m) => [m.low, m.high]).filter(Number.isFinite);
    const y = options.scales!.y!;
    y.suggestedMin = Math.min(0, ...ends);
    y.suggestedMax = Math.max(0, ...ends);
    for (const scale of [x, options.scales!.y!]) {
      scale.grid = { color: colors.grid };
      scale.ticks = { ...scale.ticks, color: colors.foreground };
    }
    this.chart.update('none');
  }

  info(): GainChartInfo {
    const seeds = (this.chart.data.datasets[1]?.data ?? []) as SeedPoint[];
    return {
      metric: this.metric,
      cells: [...this.cells],
      ciBars: [...(ciBarsPlugin.drawn.get(this.chart as unknown as Chart) ?? [])],
      seedPoints: seeds.map((s) => ({ cell: s.cell, seed: s.seed, gain: s.y })),
    };
  }
}

function tooltipLabel(point: MeanPoint | SeedPoint): string {
  if ('seed' in point) return `${point.cell} seed ${point.seed}: ${point.y.toFixed(2)} points`;
  const interval = Number.isFinite(point.low) ? ` [${point.low.toFixed(2)}, ${point.high.toFixed(2)}]` : '';
  return `${point.cell} mean: ${point.y.toFixed(2)} points${interval}`;
}
