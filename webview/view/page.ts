// The page around the views: "Waiting for the extension…" / "No runs yet" until there is a run,
// then the panel (toolbar, progress and facts, chart options, charts, the WAS view, the test set
// per class, compare, log). The body's
// data-layout and data-mode attributes let media/panel.css lay out each layout and mode.

import type { PanelLayout } from '../../src/shared/panel-protocol';
import type { InferenceMode } from '../../src/shared/protocol';
import { h, setChildren } from '../dom';

/** The elements the page is built from, each made by its view. */
export interface PageParts {
  toolbar: HTMLElement;
  progress: HTMLElement;
  chartOptions: HTMLElement;
  charts: HTMLElement;
  was: HTMLElement;
  testEvaluation: HTMLElement;
  comparePick: HTMLElement;
  compareTable: HTMLElement;
  log: HTMLElement;
}

export interface PageView {
  /** Show the empty state, or the panel for the active run (its label; null when there is none). */
  render(page: { received: boolean; runLabel: string | null; layout: PanelLayout; mode: InferenceMode }): void;
}

const TITLE = 'WAS Lab metrics';
const WAITING = 'Waiting for the extension…';
const NO_RUNS = 'No runs yet. Start one with “WAS: Start Training”.';

export function pageView(root: HTMLElement, parts: PageParts): PageView {
  // The page's one h1 (screen-reader users jump by headings): the active run's name. The run
  // picker shows that name already, so the heading is for assistive technology only.
  const heading = h('h1', { id: 'page-title', class: 'visually-hidden' }, TITLE);
  const empty = h('p', { id: 'empty-state', class: 'empty-state' }, WAITING);
  const compare = h(
    'section',
    { class: 'compare', 'aria-labelledby': 'compare-title' },
    h('h2', { id: 'compare-title' }, 'Compare runs'),
    parts.comparePick,
    parts.compareTable,
  );
  // The WAS view and the test set per class are the full layout's (the bottom view stays compact).
  const fullOnly = h('div', { class: 'full-only' }, parts.was, parts.testEvaluation);
  const panel = h('div', { id: 'panel', class: 'panel' }, parts.toolbar, parts.progress, parts.chartOptions, parts.charts, fullOnly, compare, parts.log);
  setChildren(root, heading, empty, panel);
  return {
    render({ received, runLabel, layout, mode }): void {
      const hasRun = runLabel !== null;
      const title = hasRun ? `${TITLE}: ${runLabel}` : TITLE;
      if (heading.textContent !== title) heading.textContent = title;
      document.body.dataset.layout = layout;
      document.body.dataset.mode = mode;
      empty.textContent = received ? NO_RUNS : WAITING;
      empty.hidden = hasRun;
      panel.hidden = !hasRun;
      fullOnly.hidden = layout !== 'full';
    },
  };
}
