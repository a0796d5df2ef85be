// A chart's legend as HTML under its canvas (chart.js draws its own inside the canvas, where no
// keyboard or screen reader reaches it): one toggle button per series, with a swatch of its colour
// and dash. With several runs the entries are grouped by run (the colour is the run, the dash the
// metric), so 8 entries for 2 runs read as 2 rows of 4. Buttons are kept across renders, so focus
// stays on the one just toggled.

import { h } from './dom';

export interface LegendEntry {
  /** The series' key (what toggling hides). */
  key: string;
  runId: string;
  runLabel: string;
  /** The metric part of the label ("AOM val"), and the whole label. */
  part: string;
  label: string;
  color: string;
  dash: readonly number[];
  hidden: boolean;
}

const SVG = 'http://www.w3.org/2000/svg';

/** A short line in the series' colour and dash, as the chart draws it. */
export function lineSwatch(color: string, dash: readonly number[]): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('width', '28');
  svg.setAttribute('height', '8');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'legend-swatch');
  const line = document.createElementNS(SVG, 'line');
  for (const [name, value] of Object.entries({ x1: '1', y1: '4', x2: '27', y2: '4', stroke: color, 'stroke-width': '2.5' })) line.setAttribute(name, value);
  if (dash.length > 0) line.setAttribute('stroke-dasharray', dash.join(' '));
  svg.append(line);
  return svg;
}

export class ChartLegend {
  readonly element: HTMLElement;
  private shape = '';
  private readonly buttons = new Map<string, HTMLButtonElement>();

  constructor(
    private readonly chartTitle: string,
    private readonly onToggle: (key: string) => void,
  ) {
    this.element = h('div', { class: 'chart-legend', role: 'group', 'aria-label': `${chartTitle} legend: toggle a series` });
  }

  update(entries: readonly LegendEntry[], byRun: boolean): void {
    const shape = JSON.stringify([byRun, entries.map((e) => [e.key, e.label, e.color, e.dash])]);
    if (shape !== this.shape) this.rebuild(entries, byRun, shape);
    for (const entry of entries) {
      const button = this.buttons.get(entry.key);
      if (!button) continue;
      button.setAttribute('aria-pressed', String(!entry.hidden));
      button.classList.toggle('is-hidden', entry.hidden);
      button.title = `${entry.hidden ? 'Show' : 'Hide'} ${entry.label} on the ${this.chartTitle.toLowerCase()} chart`;
    }
  }

  private rebuild(entries: readonly LegendEntry[], byRun: boolean, shape: string): void {
    this.shape = shape;
    this.buttons.clear();
    const button = (entry: LegendEntry): HTMLButtonElement => {
      const b = h('button', { type: 'button', class: 'legend-item', 'data-key': entry.key }, byRun ? entry.part : entry.label);
      b.prepend(lineSwatch(entry.color, entry.dash));
      b.addEventListener('click', () => this.onToggle(entry.key));
      this.buttons.set(entry.key, b);
      return b;
    };
    if (!byRun) {
      this.element.replaceChildren(h('div', { class: 'legend-row' }, ...entries.map(button)));
      return;
    }
    const runs = [...new Set(entries.map((e) => e.runId))];
    this.element.replaceChildren(
      ...runs.map((runId) => {
        const mine = entries.filter((e) => e.runId === runId);
        const name = h('span', { class: 'legend-run' }, mine[0].runLabel);
        name.prepend(lineSwatch(mine[0].color, []));
        return h('div', { class: 'legend-row', role: 'group', 'aria-label': mine[0].runLabel }, name, ...mine.map(button));
      }),
    );
  }
}
