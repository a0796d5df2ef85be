// The metrics panel's wiring: a host message is parsed and reduced (panel-state.ts), a page
// action is reduced and told to the host, and either schedules one render per animation frame
// however fast messages arrive; a render re-renders only the views whose inputs changed.
// A host message that does not parse is logged, reported to the host, and dropped.

import { errorMessage } from '../src/shared/errors';
import { PANEL_PROTOCOL_VERSION, parseHostMessage, type HostMessage } from '../src/shared/panel-protocol';
import { applyChartDefaults } from './charts';
import {
  displayedRuns,
  initialPanelState,
  pageActionMessage,
  reduceHostMessage,
  reducePageAction,
  type PageAction,
  type PanelState,
} from './panel-state';
import { PanelCounters, type PanelTestHook } from './test-hook';
import { readTheme, watchTheme, type ChartTheme } from './theme';
import type { HostConnection } from './vscode-api';
import { chartOptionsView } from './view/chart-options';
import { chartsView, type ChartsView } from './view/charts';
import { comparePickView } from './view/compare-pick';
import { compareTableView } from './view/compare-table';
import { factsView } from './view/facts';
import { logView } from './view/log';
import { pageView, type PageView } from './view/page';
import { progressView } from './view/progress';
import { testEvaluationView } from './view/test-evaluation';
import { toolbarView } from './view/toolbar';
import { wasView, type WasView } from './view/was-view';
import { sameDeps, type PanelActions, type View } from './view/view';

export class PanelApp {
  private state: PanelState;
  private theme: ChartTheme;
  private renderQueued = false;
  private readonly counters = new PanelCounters();
  private readonly page: PageView;
  private readonly charts: ChartsView;
  private readonly was: WasView;
  /** In page order; each with the deps it last rendered. */
  private readonly views: View[];
  private readonly renderedDeps = new Map<View, readonly unknown[]>();

  constructor(
    private readonly host: HostConnection,
    root: HTMLElement,
  ) {
    this.state = initialPanelState(document.body.dataset.layout === 'compact' ? 'compact' : 'full', host.loadState());
    this.theme = readTheme();
    applyChartDefaults(this.theme);
    const actions: PanelActions = {
      state: () => this.state,
      act: (action) => this.act(action),
      post: (message) => this.host.post(message),
      redraw: () => this.scheduleRender(),
    };
    const toolbar = toolbarView(actions);
    const facts = factsView();
    const progress = progressView(facts.element);
    const chartOptions = chartOptionsView(actions);
    this.charts = chartsView(actions);
    this.was = wasView();
    const testEvaluation = testEvaluationView();
    const comparePick = comparePickView(actions);
    const compareTable = compareTableView();
    const log = logView();
    this.views = [toolbar, progress, facts, chartOptions, this.charts, this.was, testEvaluation, comparePick, compareTable, log];
    this.page = pageView(root, {
      toolbar: toolbar.element,
      progress: progress.element,
      chartOptions: chartOptions.element,
      charts: this.charts.element,
      was: this.was.element,
      testEvaluation: testEvaluation.element,
      comparePick: comparePick.element,
      compareTable: compareTable.element,
      log: log.element,
    });
    watchTheme(() => {
      this.theme = readTheme();
      applyChartDefaults(this.theme);
      this.render(true);
    });
  }

  /** Start listening, then tell the host the page is ready for its snapshot. */
  start(): void {
    window.addEventListener('message', (event: MessageEvent<unknown>) => this.receive(event.data));
    this.host.post({ type: 'ready', protocolVersion: PANEL_PROTOCOL_VERSION });
    this.render(true);
  }

  receive(data: unknown): void {
    let message: HostMessage;
    try {
      message = parseHostMessage(data);
    } catch (error) {
      const reason = errorMessage(error);
      console.warn(`WAS Lab panel: dropped a malformed message from the extension: ${reason}`);
      this.host.post({ type: 'log', level: 'warn', message: `metrics panel dropped a malformed message: ${reason}`.slice(0, 4000) });
      return;
    }
    this.state = reduceHostMessage(this.state, message);
    this.counters.messageApplied();
    this.scheduleRender();
  }

  testHook(): PanelTestHook {
    return this.counters.hook(
      () => this.charts.testInfo(),
      () => this.was.domChart.testInfo(),
      () => {
        this.charts.clearCaches();
        for (const run of this.state.runs.values()) {
          for (const s of run.series.values()) s.resetSmoothing();
          for (const s of run.alphas.values()) s.resetSmoothing();
        }
        this.render(true);
      },
    );
  }

  private act(action: PageAction): void {
    const before = this.state;
    this.state = reducePageAction(before, action);
    if (this.state === before) return;
    if (this.state.ui !== before.ui) this.host.saveState(this.state.ui);
    const message = pageActionMessage(before, this.state, action);
    if (message) this.host.post(message);
    this.scheduleRender();
  }

  private scheduleRender(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      this.render(false);
    });
  }

  /** Render the views whose deps changed since they last rendered (all of them when `all`). */
  private render(all: boolean): void {
    const t0 = performance.now();
    const { state, theme } = this;
    const runs = displayedRuns(state);
    const active = runs[0] ?? null;
    this.page.render({ received: state.received, runLabel: active?.label ?? null, layout: state.layout, mode: state.mode });
    if (active) {
      const scene = { state, active, runs, theme };
      for (const view of this.views) {
        if (view.fullOnly && state.layout !== 'full') continue;
        const deps = view.deps(scene);
        if (!all && sameDeps(this.renderedDeps.get(view), deps)) continue;
        view.render(scene);
        this.renderedDeps.set(view, deps);
      }
    }
    this.counters.rendered(t0);
  }
}
