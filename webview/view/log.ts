// The active run's log (the trainer's log lines, the latest 500), folded away under "Log (n)".

import { h, setChildren } from '../dom';
import type { Scene, View } from './view';

export interface LogView extends View {
  readonly element: HTMLElement;
}

export function logView(): LogView {
  const summary = h('summary', { id: 'log-summary' }, 'Log');
  const list = h('ol', { id: 'log-list' });
  return {
    element: h('details', { id: 'log', class: 'log' }, summary, list),
    fullOnly: true,
    deps: ({ active }) => [active, active.logCount],
    render({ active: run }: Scene): void {
      summary.textContent = `Log (${run.logCount})`;
      const key = `${run.runId}:${run.logCount}`;
      if (list.dataset.for === key) return;
      list.dataset.for = key;
      setChildren(
        list,
        ...run.logs.map((e) => h('li', { class: `level-${e.level}` }, h('time', {}, new Date(e.time).toLocaleTimeString('en-GB')), ` ${e.message}`)),
      );
    },
  };
}
