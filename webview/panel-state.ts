// The panel's state and its two reducers: host messages (`reduceHostMessage`) and the page's own
// actions (`reducePageAction`: smoothing, loss scale, hidden series, the run picked, compared
// runs). No DOM: the views read a PanelState, app.ts wires messages -> reduce -> render, and
// test/webview/panel-state.test.ts runs these in Node.
//
// Every field is replaced, never mutated, with one exception: a run's RunModel is append-only and
// `events` folds into it in place (its `version` goes up, which is what the views compare).
// Copying its series (100k+ points) on every message would cost more than the page can spend.

import type { HostMessage, PanelLayout, PanelSettings, WebviewMessage } from '../src/shared/panel-protocol';
import { DEFAULT_PANEL_SETTINGS } from '../src/shared/panel-protocol';
import type { InferenceMode } from '../src/shared/protocol';
import { CHART_IDS, type ChartId } from './chart-series';
import { RunModel } from './run-model';
import type { UiState } from './ui-state';

export interface PanelState {
  /** A snapshot has arrived (until then the page says it is waiting for the extension). */
  readonly received: boolean;
  /** In the host's order. */
  readonly runs: ReadonlyMap<string, RunModel>;
  readonly activeRunId: string | null;
  /** Runs overlaid on the active one. */
  readonly compare: readonly string[];
  readonly mode: InferenceMode;
  readonly layout: PanelLayout;
  readonly settings: PanelSettings;
  /** The user's choices, kept with setState. */
  readonly ui: UiState;
}

/** What the user does on the page that changes what it shows. */
export type PageAction =
  | { type: 'set-smoothing'; smoothing: number }
  | { type: 'set-loss-log-scale'; on: boolean }
  | { type: 'toggle-series'; key: string }
  | { type: 'select-run'; runId: string }
  | { type: 'set-compare'; runId: string; on: boolean };

/**
 * The charts each layout shows. The compact view docked in the bottom panel is a summary beside
 * the editor panel, not a copy of it: the test and selected-epoch numbers of both modes and the
 * model (media/panel.css), and the loss, the one chart that says a run is still learning.
 */
export const LAYOUT_CHARTS: Record<PanelLayout, readonly ChartId[]> = { full: CHART_IDS, compact: ['loss'] };

export function initialPanelState(layout: PanelLayout, ui: UiState): PanelState {
  return { received: false, runs: new Map(), activeRunId: null, compare: [], mode: 'aom', layout, settings: DEFAULT_PANEL_SETTINGS, ui };
}

export function reduceHostMessage(state: PanelState, message: HostMessage): PanelState {
  switch (message.type) {
    case 'snapshot': {
      const runs = new Map(message.runs.map((run) => [run.runId, RunModel.fromPanelRun(run)]));
      const { activeRunId, compare, mode, layout, settings } = message;
      return { ...state, received: true, runs, activeRunId, compare, mode, layout, settings };
    }
    case 'events': {
      const run = state.runs.get(message.runId);
      if (!run) {
        console.warn(`WAS Lab panel: events for an unknown run ${message.runId}`);
        return state;
      }
      run.append(message.events);
      return { ...state };
    }
    case 'run-added': {
      const runs = new Map(state.runs).set(message.run.runId, RunModel.fromPanelRun(message.run));
      return { ...state, runs, activeRunId: state.activeRunId ?? message.run.runId };
    }
    case 'run-removed': {
      const runs = new Map(state.runs);
      runs.delete(message.runId);
      const compare = state.compare.filter((id) => id !== message.runId);
      return { ...state, runs, compare, activeRunId: state.activeRunId === message.runId ? null : state.activeRunId };
    }
    case 'run-status':
      state.runs.get(message.runId)?.setStatus(message.status, message.reason);
      return { ...state };
    case 'mode':
      return { ...state, mode: message.mode };
    case 'active-run':
      return { ...state, activeRunId: message.runId };
    case 'compare':
      return { ...state, compare: message.runIds };
  }
}

/** The next state after a page action; the same object when nothing changes. */
export function reducePageAction(state: PanelState, action: PageAction): PanelState {
  switch (action.type) {
    case 'set-smoothing':
      return { ...state, ui: { ...state.ui, smoothing: action.smoothing } };
    case 'set-loss-log-scale':
      return { ...state, ui: { ...state.ui, lossLogScale: action.on } };
    case 'toggle-series': {
      const base = action.key.replace(/\|raw$/, '');
      const hidden = new Set(state.ui.hiddenSeries);
      if (hidden.has(base)) hidden.delete(base);
      else hidden.add(base);
      return { ...state, ui: { ...state.ui, hiddenSeries: [...hidden] } };
    }
    case 'select-run':
      if (!action.runId || action.runId === activeRun(state)?.runId) return state;
      return { ...state, activeRunId: action.runId };
    case 'set-compare': {
      const compare = state.compare.filter((id) => id !== action.runId);
      if (action.on) compare.push(action.runId);
      return { ...state, compare };
    }
  }
}

/** What the host is told after a page action moved the state from `before` to `after`. */
export function pageActionMessage(before: PanelState, after: PanelState, action: PageAction): WebviewMessage | null {
  if (before === after) return null;
  if (action.type === 'select-run') return { type: 'select-run', runId: action.runId };
  if (action.type === 'set-compare') return { type: 'set-compare', runIds: [...after.compare] };
  return null;
}

// ---------------------------------------------------------------------------------------------
// What the state shows

/** The active run, or the first run when the active one is unset or gone. */
export function activeRun(state: PanelState): RunModel | null {
  if (state.activeRunId !== null) {
    const run = state.runs.get(state.activeRunId);
    if (run) return run;
  }
  return state.runs.values().next().value ?? null;
}

/** The active run, then the compared ones that exist. */
export function displayedRuns(state: PanelState): RunModel[] {
  const active = activeRun(state);
  if (!active) return [];
  const others = state.compare.filter((id) => id !== active.runId).map((id) => state.runs.get(id));
  return [active, ...others.filter((r): r is RunModel => r !== undefined)];
}

export function smoothing(state: PanelState): number {
  return state.ui.smoothing ?? state.settings.smoothing;
}

export function lossLogScale(state: PanelState): boolean {
  return state.ui.lossLogScale ?? state.settings.lossLogScale;
}

export function chartShown(state: PanelState, id: ChartId): boolean {
  return LAYOUT_CHARTS[state.layout].includes(id);
}
