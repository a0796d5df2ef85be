// The compare checkboxes: which runs are overlaid on the active one (always shown, so its box is
// checked and disabled). The boxes are rebuilt only when the run list changes, so focus stays put.

import { h, setChildren } from '../dom';
import type { PanelActions, Scene, View } from './view';

export interface ComparePickView extends View {
  readonly element: HTMLElement;
}

export function comparePickView(actions: PanelActions): ComparePickView {
  const element = h('div', { id: 'compare-pick', class: 'compare-pick', role: 'group', 'aria-label': 'Runs to overlay' });
  let runListSignature = '';
  return {
    element,
    fullOnly: true,
    deps: ({ state, active }) => [state.runs, active, state.compare],
    render({ state, active }: Scene): void {
      const signature = [...state.runs.values()].map((r) => `${r.runId}\u0000${r.label}`).join('\u0001');
      if (signature !== runListSignature) {
        runListSignature = signature;
        setChildren(
          element,
          ...[...state.runs.values()].map((run) => {
            const box = h('vscode-checkbox', { 'data-run-id': run.runId }, run.label);
            box.addEventListener('change', () => actions.act({ type: 'set-compare', runId: run.runId, on: box.checked }));
            return box;
          }),
        );
      }
      for (const box of element.querySelectorAll('vscode-checkbox')) {
        const runId = box.dataset.runId ?? '';
        const isActive = runId === active.runId;
        box.disabled = isActive;
        box.checked = isActive || state.compare.includes(runId);
        box.title = isActive ? 'The active run is always shown' : '';
      }
    },
  };
}

