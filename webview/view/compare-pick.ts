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
        setDisabled(box, isActive);
        box.checked = isActive || state.compare.includes(runId);
        box.title = isActive ? 'The active run is always shown' : '';
      }
    },
  };
}

/**
 * Disable or enable a vscode-checkbox and keep it in the Tab order. On `disabled` the element saves
 * its tabIndex and sets -1; on re-enable it restores the saved value, which for a host without a
 * tabindex attribute is -1 too, so the box would stay out of the Tab order for good (issue 15).
 * The attribute is set here (not the property, which Lit reflects later) so the element's
 * attributeChangedCallback has run before the tabindex it left is removed. aria-disabled says the
 * state on the host too: the checkbox inside the shadow root is never disabled itself.
 */
function setDisabled(box: HTMLElement, disabled: boolean): void {
  if (box.hasAttribute('disabled') === disabled) return;
  box.toggleAttribute('disabled', disabled);
  if (disabled) box.setAttribute('aria-disabled', 'true');
  else {
    box.removeAttribute('aria-disabled');
    box.removeAttribute('tabindex');
  }
}
