// The chart grid: one ChartCard (../charts.ts) per chart, fed the series of the runs on display.
// The compact layout shows only the loss chart (LAYOUT_CHARTS in ../panel-state.ts). Throughput is a
// property of the machine, not of the model: it sits below the grid, folded, out of the main chart slots.

import { CHART_IDS, chartSeries } from '../chart-series';
import { ChartCard } from '../charts';
import { h } from '../dom';
import { activeRun, chartShown, lossLogScale, smoothing } from '../panel-state';
import { pngSaveMessage } from '../save-file';
import type { TestChartInfo } from '../test-hook';
import { runDeps, type PanelActions, type Scene, type View } from './view';

export interface ChartsView extends View {
  readonly element: HTMLElement;
  /** What the shown charts hold, for the test hook. */
  testInfo(): TestChartInfo[];
  /** Drop every chart's cached smoothing and downsampling (the next render redoes them). */
  clearCaches(): void;
}

export function chartsView(actions: PanelActions): ChartsView {
  // A resize changes how many points each chart gets: it is one of the charts' deps.
  let resizes = 0;
  const cards = CHART_IDS.map(
    (id) =>
      new ChartCard(
        id,
        (key) => actions.act({ type: 'toggle-series', key }),
        (card) => actions.post(pngSaveMessage(activeRun(actions.state())?.label, card.id, card.toPng())),
        () => {
          resizes++;
          actions.redraw();
        },
      ),
  );
  const secondary = new Set(['throughput']);
  const more = h(
    'details',
    { class: 'more-charts' },
    h('summary', {}, 'Throughput (training images per second)'),
    ...cards.filter((c) => secondary.has(c.id)).map((c) => c.element),
  );
  return {
    // A heading for the chart titles (h3) to sit under, after the page's h1.
    element: h('section', { 'aria-labelledby': 'charts-title' }, h('h2', { id: 'charts-title', class: 'visually-hidden' }, 'Charts'), h('div', { class: 'charts' }, ...cards.filter((c) => !secondary.has(c.id)).map((c) => c.element)), more),
    deps: ({ state, runs, theme }) => [...runDeps(runs), state.mode, state.layout, state.ui.hiddenSeries, smoothing(state), lossLogScale(state), theme, resizes],
    render({ state, runs, theme }: Scene): void {
      const specs = chartSeries(runs, state.mode, smoothing(state));
      const context = { smoothing: smoothing(state), theme, hidden: new Set(state.ui.hiddenSeries), lossLogScale: lossLogScale(state) };
      more.hidden = !chartShown(state, 'throughput');
      for (const card of cards) {
        const shown = chartShown(state, card.id);
        card.element.hidden = !shown;
        if (shown) card.update(specs[card.id], context);
      }
    },
    testInfo: () => cards.filter((c) => chartShown(actions.state(), c.id)).map((c) => c.testInfo()),
    clearCaches: () => {
      for (const card of cards) card.clearCache();
    },
  };
}
