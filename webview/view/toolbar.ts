// The toolbar: the run picker, the run's status, the inference mode with Switch Mode, Stop and
// Export Weights. The page never changes the mode itself: Switch Mode asks the host.

import type { InferenceMode } from '../../src/shared/protocol';
import { h, setChildren } from '../dom';
import { activeRun } from '../panel-state';
import type { RunModel } from '../run-model';
import type { PanelActions, Scene, View } from './view';

export interface ToolbarView extends View {
  readonly element: HTMLElement;
}

export function toolbarView(actions: PanelActions): ToolbarView {
  const current = (): RunModel | null => activeRun(actions.state());
  // `label` names the combobox inside the shadow root, where focus lands (an aria-label on the host
  // would name nothing a screen reader reaches).
  const runSelect = h('vscode-single-select', { id: 'run-select', label: 'Run' });
  runSelect.addEventListener('change', () => actions.act({ type: 'select-run', runId: runSelect.value }));
  const status = h('span', { id: 'run-status', class: 'status', role: 'status' });
  const badge = h('span', { id: 'mode-badge', class: 'mode-badge', 'aria-live': 'polite' });

  const switchMode = h('vscode-button', { id: 'switch-mode' }, 'Switch to DOM');
  switchMode.addEventListener('click', () => {
    const { mode } = actions.state();
    actions.post({ type: 'switch-mode', mode: otherMode(mode), runId: current()?.runId ?? null });
  });
  const stop = h('vscode-button', { id: 'stop', secondary: true }, 'Stop');
  stop.addEventListener('click', () => {
    const run = current();
    if (run && !stop.disabled) actions.post({ type: 'stop', runId: run.runId });
  });
  const exportWeights = h('vscode-button', { id: 'export-weights', secondary: true }, 'Export Weights');
  exportWeights.addEventListener('click', () => {
    const run = current();
    if (run && !exportWeights.disabled) actions.post({ type: 'export-weights', runId: run.runId, mode: actions.state().mode });
  });

  const element = h(
    'header',
    { class: 'toolbar', 'aria-label': 'Run' },
    h('div', { class: 'run-pick' }, h('span', { class: 'field-label', 'aria-hidden': 'true' }, 'Run'), runSelect),
    status,
    h('div', { class: 'mode', role: 'group', 'aria-label': 'Inference mode' }, h('span', { class: 'field-label' }, 'Mode'), badge, switchMode),
    h('div', { class: 'actions' }, stop, exportWeights),
  );

  let runListSignature = '';
  return {
    element,
    deps: ({ state, active }) => [state.runs, active, active.version, state.mode],
    render({ state, active }: Scene): void {
      const signature = [...state.runs.values()].map((r) => `${r.runId}\u0000${r.label}`).join('\u0001');
      if (signature !== runListSignature) {
        runListSignature = signature;
        setChildren(runSelect, ...[...state.runs.values()].map((r) => h('vscode-option', { value: r.runId }, r.label)));
      }
      if (runSelect.value !== active.runId) runSelect.value = active.runId;

      const runStatus = active.effectiveStatus();
      status.textContent = runStatus;
      status.dataset.status = runStatus;

      const mode = state.mode;
      badge.textContent = mode.toUpperCase();
      badge.dataset.mode = mode;
      badge.title = mode === 'aom' ? 'Accuracy-oriented mode: the plain weights' : 'Desire-oriented mode: shadow weights';
      switchMode.textContent = `Switch to ${otherMode(mode).toUpperCase()}`;

      stop.disabled = !active.isLive() || runStatus === 'stopping';
      stop.textContent = runStatus === 'stopping' ? 'Stopping…' : 'Stop';
      exportWeights.disabled = active.epochs.length === 0;
      exportWeights.title = `Export the ${mode.toUpperCase()} weights of ${active.label}`;
    },
  };
}

export function otherMode(mode: InferenceMode): InferenceMode {
  return mode === 'aom' ? 'dom' : 'aom';
}
