// The chart options: smoothing, the loss chart's log scale, and Export CSV (the charts' data).

import { h } from '../dom';
import { displayedRuns, lossLogScale, smoothing } from '../panel-state';
import { csvSaveMessage } from '../save-file';
import { SMOOTHING_CHOICES } from '../ui-state';
import type { PanelActions, Scene, View } from './view';

export interface ChartOptionsView extends View {
  readonly element: HTMLElement;
}

export function chartOptionsView(actions: PanelActions): ChartOptionsView {
  // `label` names the combobox inside, where focus lands (see toolbar.ts).
  const select = h('vscode-single-select', { id: 'smoothing', label: 'Smoothing' });
  for (const v of SMOOTHING_CHOICES) select.append(h('vscode-option', { value: String(v) }, v === 0 ? 'Off' : String(v)));
  select.addEventListener('change', () => actions.act({ type: 'set-smoothing', smoothing: Number(select.value) }));

  const logScale = h('vscode-checkbox', { id: 'loss-log' }, 'Log scale (loss)');
  logScale.addEventListener('change', () => actions.act({ type: 'set-loss-log-scale', on: logScale.checked }));

  const exportCsv = h('vscode-button', { id: 'export-csv', secondary: true, title: 'Save the data of the charts as CSV' }, 'Export CSV');
  exportCsv.addEventListener('click', () => {
    const state = actions.state();
    const message = csvSaveMessage(displayedRuns(state), smoothing(state));
    if (message) actions.post(message);
  });

  const element = h(
    'section',
    { class: 'controls', 'aria-label': 'Chart options' },
    h('div', { class: 'control' }, h('span', { class: 'field-label', 'aria-hidden': 'true' }, 'Smoothing'), select),
    logScale,
    exportCsv,
  );
  return {
    element,
    deps: ({ state }) => [smoothing(state), lossLogScale(state)],
    render({ state }: Scene): void {
      const value = String(smoothing(state));
      // A smoothing set in the settings need not be one of the choices: it gets its own option.
      if (!SMOOTHING_CHOICES.map(String).includes(value) && !select.querySelector(`vscode-option[value="${CSS.escape(value)}"]`))
        select.append(h('vscode-option', { value }, value));
      if (select.value !== value) select.value = value;
      if (logScale.checked !== lossLogScale(state)) logScale.checked = lossLogScale(state);
    },
  };
}
