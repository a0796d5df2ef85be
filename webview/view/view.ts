// What every view of the panel shares: the scene it renders (the state and what is derived from
// it once per render), the actions it may take, and the View shape app.ts drives.

import type { WebviewMessage } from '../../src/shared/panel-protocol';
import type { PageAction, PanelState } from '../panel-state';
import type { RunModel } from '../run-model';
import type { ChartTheme } from '../theme';

/** One render's input: the state, the active run, the runs on display (active first), the theme. */
export interface Scene {
  state: PanelState;
  active: RunModel;
  runs: RunModel[];
  theme: ChartTheme;
}

/** What a view's buttons and fields can do. */
export interface PanelActions {
  /** The state now (a click may come between a message and the render it schedules). */
  state(): PanelState;
  /** Reduce a page action, tell the host what it needs to know, render. */
  act(action: PageAction): void;
  post(message: WebviewMessage): void;
  /** Render again without a state change (a chart was resized). */
  redraw(): void;
}

export interface View {
  /** Rendered only in the full layout (the compact view docked in the bottom panel skips it). */
  readonly fullOnly?: boolean;
  /** What `render` reads; the view renders again only when one of these changed (Object.is). */
  deps(scene: Scene): readonly unknown[];
  render(scene: Scene): void;
}

/** The runs and their versions, as deps: a run replaced or grown changes one of them. */
export function runDeps(runs: readonly RunModel[]): unknown[] {
  return runs.flatMap((run) => [run, run.version]);
}

export function sameDeps(a: readonly unknown[] | undefined, b: readonly unknown[]): boolean {
  return a !== undefined && a.length === b.length && a.every((value, i) => Object.is(value, b[i]));
}
