// The compare table: the configurations and results of the runs on the charts, one column each
// (rows from ../compare.ts); differing settings and the best results are highlighted.

import { RUN_COLORS } from '../chart-series';
import { compareRows, type CompareRow } from '../compare';
import { h } from '../dom';
import type { RunModel } from '../run-model';
import { runDeps, type Scene, type View } from './view';

export interface CompareTableView extends View {
  readonly element: HTMLElement;
}

export function compareTableView(): CompareTableView {
  const table = h('table', { id: 'compare-table', class: 'compare-table' });
  return {
    element: h('div', { class: 'table-scroll' }, table),
    fullOnly: true,
    deps: ({ state, runs }) => [...runDeps(runs), state.mode],
    render({ state, runs }: Scene): void {
      const caption = h('caption', { class: 'visually-hidden' }, 'Configurations and results of the runs on the charts; differing settings and the best results are highlighted; accuracies with [their 95% Wilson interval, n images]');
      table.replaceChildren(caption, tableHead(runs), tableBody(runs, compareRows(runs, state.mode)));
    },
  };
}

function tableHead(runs: readonly RunModel[]): HTMLElement {
  const swatch = (i: number) => h('span', { class: `swatch color-${runs.length > 1 ? RUN_COLORS[i % RUN_COLORS.length] : 'blue'}`, 'aria-hidden': 'true' });
  return h(
    'thead',
    {},
    h('tr', {}, h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Setting')), ...runs.map((run, i) => h('th', { scope: 'col' }, swatch(i), run.label))),
  );
}

function tableBody(runs: readonly RunModel[], rows: readonly CompareRow[]): HTMLElement {
  const body = h('tbody', {});
  let group = '';
  for (const row of rows) {
    if (row.group !== group) {
      group = row.group;
      body.append(h('tr', { class: 'group' }, h('th', { scope: 'rowgroup', colspan: String(runs.length + 1) }, group === 'config' ? 'Configuration' : 'Results')));
    }
    const cells = row.cells.map((cell) =>
      h(
        'td',
        {
          class: [cell.diff ? 'diff' : '', cell.best ? 'best' : ''].filter(Boolean).join(' ') || undefined,
          title: cell.diff ? `differs from ${runs[0].label}` : cell.best ? 'best' : undefined,
        },
        cell.text,
      ),
    );
    body.append(h('tr', { class: row.differs && row.group === 'config' ? 'differs' : undefined, 'data-key': row.key }, h('th', { scope: 'row' }, row.label), ...cells));
  }
  return body;
}
