// The DOM search as a chart: accuracy on the search split against FLOPs per image (as a share of
// AOM's), the greedy path from AOM to the chosen DOM step by step, the FLOPs budget, and the
// reference's stochastic DOM. Pure data here (domSearchSeries), drawn by DomSearchChart.

import { Chart, type ChartDataset, type ChartOptions } from 'chart.js';
import type { DomSearchEvent } from '../src/shared/protocol';
import { ChartLegend } from './chart-legend';
import { axisNote, zoomOptions } from './charts';
import { h } from './dom';
import type { Point } from './series';
import type { ChartTheme } from './theme';

export interface DomSeries {
  label: string;
  points: Point[];
  kind: 'path' | 'chosen' | 'stochastic' | 'budget';
}

/** x: FLOPs in % of AOM; y: accuracy as a fraction. One path (and chosen point) per search. */
export function domSearchSeries(searches: readonly DomSearchEvent[]): DomSeries[] {
  const out: DomSeries[] = [];
  const several = searches.length > 1;
  for (const s of searches) {
    const pct = (flops: number) => (100 * flops) / s.flops.aom;
    const name = several ? ` (target ${Math.round(100 * s.flopsTarget)}%, ${s.checkpoint} epoch ${s.epoch})` : '';
    const start = { x: 100, y: s.accuracy.aom };
    // A search saved before paths were recorded has only its ends.
    const steps = s.path ?? [{ flops: s.flops.dom, accuracy: s.accuracy.dom }];
    out.push({ label: `search path from AOM${name}`, kind: 'path', points: [start, ...steps.map((p) => ({ x: pct(p.flops), y: p.accuracy }))] });
    out.push({ label: `chosen DOM${name}`, kind: 'chosen', points: [{ x: pct(s.flops.dom), y: s.accuracy.dom }] });
    if (s.accuracy.stochasticDom !== null) out.push({ label: `stochastic DOM, the reference's${name}`, kind: 'stochastic', points: [{ x: 100, y: s.accuracy.stochasticDom }] });
    // A vertical line at the budget; update() stretches it over the accuracies shown.
    out.push({ label: `FLOPs budget ${Math.round(100 * s.flopsTarget)}%${name}`, kind: 'budget', points: [{ x: pct(s.flops.budget), y: Number.NaN }] });
  }
  return out;
}

type Dataset = ChartDataset<'line', Point[]>;

export class DomSearchChart {
  readonly element: HTMLElement;
  private readonly chart: Chart<'line', Point[]>;
  private readonly note: HTMLElement;
  private series: DomSeries[] = [];
  private readonly hidden = new Set<string>();
  private readonly legend: ChartLegend;
  private theme: ChartTheme | null = null;
  private searches: readonly DomSearchEvent[] = [];

  constructor() {
    const canvas = h('canvas', { role: 'img', 'aria-labelledby': 'dom-chart-title' });
    this.note = h('p', { class: 'axis-note', 'aria-live': 'polite' });
    this.legend = new ChartLegend('DOM search', (key) => {
      if (!this.hidden.delete(key)) this.hidden.add(key);
      if (this.theme) this.update(this.searches, this.theme);
    });
    this.element = h('div', { class: 'dom-chart' }, this.note, h('div', { class: 'chart-box' }, canvas), this.legend.element);
    const options: ChartOptions<'line'> = {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (item) => `${item.dataset.label ?? ''}: ${(100 * (item.parsed.y ?? 0)).toFixed(2)}% at ${(item.parsed.x ?? 0).toFixed(1)}% of AOM FLOPs` } },
        zoom: zoomOptions(() => this.showNote()),
      },
      scales: {},
    };
    this.chart = new Chart(canvas, { type: 'line', data: { datasets: [] }, options });
  }

  update(searches: readonly DomSearchEvent[], theme: ChartTheme): void {
    this.searches = searches;
    this.theme = theme;
    this.series = domSearchSeries(searches);
    const ys = this.series.filter((s) => s.kind !== 'budget').flatMap((s) => s.points.map((p) => p.y));
    const [yMin, yMax] = [Math.min(...ys), Math.max(...ys)];
    const colors: Record<DomSeries['kind'], string> = { path: theme.colors.purple, chosen: theme.colors.purple, stochastic: theme.colors.orange, budget: theme.colors.muted };
    this.chart.data.datasets = this.series.map((s, i): Dataset => {
      const points = s.kind === 'budget' ? [{ x: s.points[0].x, y: yMin }, { x: s.points[0].x, y: yMax }] : s.points;
      return {
        hidden: this.hidden.has(String(i)),
        label: s.label,
        data: points,
        borderColor: colors[s.kind],
        backgroundColor: colors[s.kind],
        borderDash: s.kind === 'budget' ? [6, 4] : [],
        borderWidth: s.kind === 'path' ? 2 : 1.5,
        showLine: s.kind === 'path' || s.kind === 'budget',
        pointRadius: s.kind === 'budget' ? 0 : s.kind === 'path' ? 3 : 6,
        pointStyle: s.kind === 'chosen' ? 'rectRot' : s.kind === 'stochastic' ? 'triangle' : 'circle',
      };
    });
    const aom = searches.at(-1)?.flops.aom ?? 0;
    const split = searches.at(-1)?.split === 'test' ? 'test split' : 'validation';
    const axis = (text: string) => ({ title: { display: true, text, color: theme.foreground }, ticks: { color: theme.foreground }, grid: { color: theme.grid } });
    this.chart.options.scales = {
      x: { type: 'linear', ...axis(`FLOPs per image (% of AOM's ${aom.toLocaleString('en-US')} multiply-adds)`) },
      y: { type: 'linear', ...axis(`top-1 accuracy on ${split} (%)`), ticks: { color: theme.foreground, callback: (v: number | string) => `${Math.round(Number(v) * 1000) / 10}%` } },
    };
    this.chart.update('none');
    this.legend.update(
      this.series.map((s, i) => ({ key: String(i), runId: '', runLabel: '', part: s.label, label: s.label, color: colors[s.kind], dash: s.kind === 'budget' ? [6, 4] : [], hidden: this.hidden.has(String(i)) })),
      false,
    );
    this.showNote();
  }

  /** What the chart holds, for the test hook. */
  testInfo(): { series: DomSeries[]; xTitle: string; yTitle: string; axisNote: string } {
    const title = (id: string) => {
      const t = (this.chart.options.scales?.[id] as { title?: { text?: unknown } } | undefined)?.title?.text;
      return typeof t === 'string' ? t : '';
    };
    return { series: this.series, xTitle: title('x'), yTitle: title('y'), axisNote: this.note.textContent ?? '' };
  }

  private showNote(): void {
    const format = (y: number) => `${Number((100 * y).toPrecision(4))}%`;
    this.note.textContent = axisNote(this.chart as unknown as Chart, this.chart.isZoomedOrPanned(), format);
    this.note.hidden = this.note.textContent === '';
  }
}
