// The metrics panel: holds the runs the host sent, renders them (coalesced to one render per
// animation frame however fast events arrive), and turns clicks into WebviewMessages.
// Every host message is parsed with parseHostMessage; a malformed one is logged and dropped.

import {
  DEFAULT_PANEL_SETTINGS,
  PANEL_PROTOCOL_VERSION,
  parseHostMessage,
  type HostMessage,
  type PanelLayout,
  type PanelSettings,
} from '../src/shared/panel-protocol';
import type { InferenceMode } from '../src/shared/protocol';
import { CHART_IDS, RUN_COLORS, chartSeries, type ChartId } from './chart-series';
import { ChartCard, applyChartDefaults } from './charts';
import { compareRows } from './compare';
import { buildCsv } from './csv';
import { byId, h, setChildren } from './dom';
import { fileName, percent, rate } from './format';
import { RunModel } from './run-model';
import { duration } from './timing';
import type { PanelTestHook } from './test-hook';
import { readTheme, watchTheme, type ChartTheme } from './theme';
import { SMOOTHING_CHOICES, type UiState } from './ui-state';
import type { HostConnection } from './vscode-api';

/** The charts each layout shows (the compact view docked in the bottom panel shows two). */
const LAYOUT_CHARTS: Record<PanelLayout, readonly ChartId[]> = { full: CHART_IDS, compact: ['loss', 'accuracy'] };

export class PanelApp {
  private runs = new Map<string, RunModel>();
  private activeRunId: string | null = null;
  private compare: string[] = [];
  private mode: InferenceMode = 'aom';
  private layout: PanelLayout;
  private settings: PanelSettings = DEFAULT_PANEL_SETTINGS;
  private ui: UiState;
  private theme: ChartTheme;
  private received = false;
  private renderQueued = false;
  private renderCount = 0;
  private appliedMessages = 0;
  private renderedMessages = 0;
  private lastRenderMs = 0;
  private runListSignature = '';
  private readonly charts: ChartCard[];
  private readonly root: HTMLElement;

  constructor(
    private readonly host: HostConnection,
    root: HTMLElement,
  ) {
    this.root = root;
    this.ui = host.loadState();
    this.layout = document.body.dataset.layout === 'compact' ? 'compact' : 'full';
    this.theme = readTheme();
    applyChartDefaults(this.theme);
    this.charts = CHART_IDS.map(
      (id) =>
        new ChartCard(
          id,
          (key) => this.toggleSeries(key),
          (card) => this.savePng(card),
          () => this.scheduleRender(),
        ),
    );
    this.build();
    watchTheme(() => {
      this.theme = readTheme();
      applyChartDefaults(this.theme);
      this.renderNow();
    });
  }

  /** Start listening, then tell the host the page is ready for its snapshot. */
  start(): void {
    window.addEventListener('message', (event: MessageEvent<unknown>) => this.receive(event.data));
    this.host.post({ type: 'ready', protocolVersion: PANEL_PROTOCOL_VERSION });
    this.renderNow();
  }

  receive(data: unknown): void {
    let message: HostMessage;
    try {
      message = parseHostMessage(data);
    } catch (error) {
      const reason = (error as Error).message;
      console.warn(`WAS Lab panel: dropped a malformed message from the extension: ${reason}`);
      this.host.post({ type: 'log', level: 'warn', message: `metrics panel dropped a malformed message: ${reason}`.slice(0, 4000) });
      return;
    }
    this.apply(message);
    this.appliedMessages++;
    this.scheduleRender();
  }

  testHook(): PanelTestHook {
    return {
      charts: () => this.charts.filter((c) => this.chartShown(c.id)).map((c) => c.testInfo()),
      renders: () => this.renderCount,
      messages: () => this.appliedMessages,
      renderedMessages: () => this.renderedMessages,
      lastRenderMs: () => this.lastRenderMs,
      fullRender: () => {
        for (const chart of this.charts) chart.clearCache();
        for (const run of this.runs.values()) {
          for (const s of run.series.values()) s.resetSmoothing();
          for (const s of run.alphas.values()) s.resetSmoothing();
        }
        const t0 = performance.now();
        this.renderNow();
        return performance.now() - t0;
      },
    };
  }

  // -------------------------------------------------------------------------------------------
  // Host messages

  private apply(message: HostMessage): void {
    switch (message.type) {
      case 'snapshot':
        this.received = true;
        this.runs = new Map(message.runs.map((run) => [run.runId, RunModel.fromPanelRun(run)]));
        this.activeRunId = message.activeRunId;
        this.compare = message.compare;
        this.mode = message.mode;
        this.layout = message.layout;
        this.settings = message.settings;
        break;
      case 'events': {
        const run = this.runs.get(message.runId);
        if (run) run.append(message.events);
        else console.warn(`WAS Lab panel: events for an unknown run ${message.runId}`);
        break;
      }
      case 'run-added':
        this.runs.set(message.run.runId, RunModel.fromPanelRun(message.run));
        if (this.activeRunId === null) this.activeRunId = message.run.runId;
        break;
      case 'run-removed':
        this.runs.delete(message.runId);
        this.compare = this.compare.filter((id) => id !== message.runId);
        if (this.activeRunId === message.runId) this.activeRunId = null;
        break;
      case 'run-status':
        this.runs.get(message.runId)?.setStatus(message.status, message.reason);
        break;
      case 'mode':
        this.mode = message.mode;
        break;
      case 'active-run':
        this.activeRunId = message.runId;
        break;
      case 'compare':
        this.compare = message.runIds;
        break;
    }
  }

  // -------------------------------------------------------------------------------------------
  // What is shown

  private activeRun(): RunModel | null {
    if (this.activeRunId !== null) {
      const run = this.runs.get(this.activeRunId);
      if (run) return run;
    }
    return this.runs.values().next().value ?? null;
  }

  /** The active run, then the compared ones that exist. */
  private displayedRuns(): RunModel[] {
    const active = this.activeRun();
    if (!active) return [];
    const others = this.compare.filter((id) => id !== active.runId).map((id) => this.runs.get(id));
    return [active, ...others.filter((r): r is RunModel => r !== undefined)];
  }

  private smoothing(): number {
    return this.ui.smoothing ?? this.settings.smoothing;
  }

  private lossLogScale(): boolean {
    return this.ui.lossLogScale ?? this.settings.lossLogScale;
  }

  private chartShown(id: ChartId): boolean {
    return LAYOUT_CHARTS[this.layout].includes(id);
  }

  // -------------------------------------------------------------------------------------------
  // Actions

  private post(message: Parameters<HostConnection['post']>[0]): void {
    this.host.post(message);
  }

  private saveUi(patch: Partial<UiState>): void {
    this.ui = { ...this.ui, ...patch };
    this.host.saveState(this.ui);
    this.scheduleRender();
  }

  private toggleSeries(key: string): void {
    const base = key.replace(/\|raw$/, '');
    const hidden = new Set(this.ui.hiddenSeries);
    if (hidden.has(base)) hidden.delete(base);
    else hidden.add(base);
    this.saveUi({ hiddenSeries: [...hidden] });
  }

  private savePng(card: ChartCard): void {
    const run = this.activeRun();
    this.post({ type: 'save-file', kind: 'png', suggestedName: fileName(`${run?.label ?? 'was-lab'}-${card.id}`, 'png'), content: card.toPng() });
  }

  private saveCsv(): void {
    const runs = this.displayedRuns();
    if (runs.length === 0) return;
    const name = runs.length > 1 ? `${runs[0].label}-compare-metrics` : `${runs[0].label}-metrics`;
    this.post({ type: 'save-file', kind: 'csv', suggestedName: fileName(name, 'csv'), content: buildCsv(runs, this.smoothing()) });
  }

  private setCompare(runId: string, on: boolean): void {
    const next = this.compare.filter((id) => id !== runId);
    if (on) next.push(runId);
    this.compare = next;
    this.post({ type: 'set-compare', runIds: next });
    this.scheduleRender();
  }

  // -------------------------------------------------------------------------------------------
  // The page

  private build(): void {
    const smoothing = h('vscode-single-select', { id: 'smoothing', 'aria-label': 'Smoothing' });
    for (const v of SMOOTHING_CHOICES) smoothing.append(h('vscode-option', { value: String(v) }, v === 0 ? 'Off' : String(v)));
    smoothing.addEventListener('change', () => this.saveUi({ smoothing: Number(smoothing.value) }));

    const logScale = h('vscode-checkbox', { id: 'loss-log' }, 'Log scale (loss)');
    logScale.addEventListener('change', () => this.saveUi({ lossLogScale: logScale.checked }));

    const runSelect = h('vscode-single-select', { id: 'run-select', 'aria-label': 'Run' });
    runSelect.addEventListener('change', () => {
      const runId = runSelect.value;
      if (!runId || runId === this.activeRun()?.runId) return;
      this.activeRunId = runId;
      this.post({ type: 'select-run', runId });
      this.scheduleRender();
    });

    const stop = h('vscode-button', { id: 'stop', secondary: true }, 'Stop');
    stop.addEventListener('click', () => {
      const run = this.activeRun();
      if (run && !stop.disabled) this.post({ type: 'stop', runId: run.runId });
    });
    const switchMode = h('vscode-button', { id: 'switch-mode' }, 'Switch to DOM');
    switchMode.addEventListener('click', () => {
      this.post({ type: 'switch-mode', mode: this.mode === 'aom' ? 'dom' : 'aom', runId: this.activeRun()?.runId ?? null });
    });
    const exportWeights = h('vscode-button', { id: 'export-weights', secondary: true }, 'Export Weights');
    exportWeights.addEventListener('click', () => {
      const run = this.activeRun();
      if (run && !exportWeights.disabled) this.post({ type: 'export-weights', runId: run.runId, mode: this.mode });
    });
    const exportCsv = h('vscode-button', { id: 'export-csv', secondary: true, title: 'Save the data of the charts as CSV' }, 'Export CSV');
    exportCsv.addEventListener('click', () => this.saveCsv());

    const fact = (id: string, label: string) => [h('dt', {}, label), h('dd', { id })];

    setChildren(
      this.root,
      h('p', { id: 'empty-state', class: 'empty-state' }, 'Waiting for the extension…'),
      h(
        'div',
        { id: 'panel', class: 'panel' },
        h(
          'header',
          { class: 'toolbar', 'aria-label': 'Run' },
          h('div', { class: 'run-pick' }, h('span', { class: 'field-label', 'aria-hidden': 'true' }, 'Run'), runSelect),
          h('span', { id: 'run-status', class: 'status', role: 'status' }),
          h(
            'div',
            { class: 'mode', role: 'group', 'aria-label': 'Inference mode' },
            h('span', { class: 'field-label' }, 'Mode'),
            h('span', { id: 'mode-badge', class: 'mode-badge', 'aria-live': 'polite' }),
            switchMode,
          ),
          h('div', { class: 'actions' }, stop, exportWeights),
        ),
        h(
          'section',
          { class: 'progress', 'aria-label': 'Progress' },
          h('vscode-progress-bar', { id: 'progress-bar', 'aria-label': 'Training progress' }),
          h('p', { id: 'progress-text', class: 'progress-text' }),
          h('p', { id: 'run-reason', class: 'run-reason' }),
          h(
            'dl',
            { class: 'facts' },
            ...fact('fact-test', 'Test'),
            ...fact('fact-best', 'Selected epoch'),
            ...fact('fact-throughput', 'Samples/s'),
            ...fact('fact-time', 'Time'),
            ...fact('fact-backend', 'Backend'),
            ...fact('fact-model', 'Model'),
          ),
        ),
        h(
          'section',
          { class: 'controls', 'aria-label': 'Chart options' },
          h('div', { class: 'control' }, h('span', { class: 'field-label', 'aria-hidden': 'true' }, 'Smoothing'), smoothing),
          logScale,
          exportCsv,
        ),
        h('div', { class: 'charts' }, ...this.charts.map((c) => c.element)),
        h(
          'section',
          { class: 'compare', 'aria-labelledby': 'compare-title' },
          h('h2', { id: 'compare-title' }, 'Compare runs'),
          h('div', { id: 'compare-pick', class: 'compare-pick', role: 'group', 'aria-label': 'Runs to overlay' }),
          h('div', { class: 'table-scroll' }, h('table', { id: 'compare-table', class: 'compare-table' })),
        ),
        h('details', { id: 'log', class: 'log' }, h('summary', { id: 'log-summary' }, 'Log'), h('ol', { id: 'log-list' })),
      ),
    );
  }

  private scheduleRender(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      this.renderNow();
    });
  }

  private renderNow(): void {
    const t0 = performance.now();
    document.body.dataset.layout = this.layout;
    document.body.dataset.mode = this.mode;
    const runs = this.displayedRuns();
    const active = runs[0] ?? null;
    const empty = byId(this.root, 'empty-state');
    empty.textContent = this.received ? 'No runs yet. Start one with “WAS: Start Training”.' : 'Waiting for the extension…';
    empty.hidden = active !== null;
    byId(this.root, 'panel').hidden = active === null;
    if (active) {
      this.renderToolbar(active);
      this.renderProgress(active);
      this.renderControls();
      this.renderCharts(runs);
      if (this.layout === 'full') {
        this.renderComparePick(active);
        this.renderCompareTable(runs);
        this.renderLog(active);
      }
    }
    this.renderCount++;
    this.renderedMessages = this.appliedMessages;
    this.lastRenderMs = performance.now() - t0;
  }

  private renderToolbar(active: RunModel): void {
    const select = byId<HTMLElementTagNameMap['vscode-single-select']>(this.root, 'run-select');
    const signature = [...this.runs.values()].map((r) => `${r.runId}\u0000${r.label}`).join('\u0001');
    if (signature !== this.runListSignature) {
      this.runListSignature = signature;
      setChildren(select, ...[...this.runs.values()].map((r) => h('vscode-option', { value: r.runId }, r.label)));
      this.renderComparePickList();
    }
    if (select.value !== active.runId) select.value = active.runId;

    const status = active.effectiveStatus();
    const statusEl = byId(this.root, 'run-status');
    statusEl.textContent = status;
    statusEl.dataset.status = status;

    const other: InferenceMode = this.mode === 'aom' ? 'dom' : 'aom';
    const badge = byId(this.root, 'mode-badge');
    badge.textContent = this.mode.toUpperCase();
    badge.dataset.mode = this.mode;
    badge.title = this.mode === 'aom' ? 'Accuracy-oriented mode: the plain weights' : 'Desire-oriented mode: shadow weights';
    const switchMode = byId<HTMLElementTagNameMap['vscode-button']>(this.root, 'switch-mode');
    switchMode.textContent = `Switch to ${other.toUpperCase()}`;

    const stop = byId<HTMLElementTagNameMap['vscode-button']>(this.root, 'stop');
    stop.disabled = !active.isLive() || status === 'stopping';
    stop.textContent = status === 'stopping' ? 'Stopping…' : 'Stop';
    const exportWeights = byId<HTMLElementTagNameMap['vscode-button']>(this.root, 'export-weights');
    exportWeights.disabled = active.epochs.length === 0;
    exportWeights.title = `Export the ${this.mode.toUpperCase()} weights of ${active.label}`;
  }

  private renderProgress(run: RunModel): void {
    const progress = run.progress();
    const bar = byId<HTMLElementTagNameMap['vscode-progress-bar']>(this.root, 'progress-bar');
    bar.max = 100;
    bar.indeterminate = progress === null && run.isLive();
    bar.value = progress ? Math.round(progress.fraction * 1000) / 10 : 0;
    const parts: string[] = [];
    if (progress) {
      parts.push(`Epoch ${progress.epoch} / ${progress.epochs}`);
      parts.push(`step ${progress.step.toLocaleString('en-US')} / ${progress.totalSteps.toLocaleString('en-US')} (${Math.floor(progress.fraction * 100)}%)`);
    }
    if (run.isLive() && run.phase) parts.push(run.phase.replace('-', ' '));
    const eta = run.etaSeconds();
    if (eta !== null) parts.push(`ETA ${duration(eta)}`);
    if (!progress) parts.push(run.isLive() ? 'starting…' : 'no training data');
    byId(this.root, 'progress-text').textContent = parts.join(' · ');
    const reason = byId(this.root, 'run-reason');
    reason.textContent = run.reason ?? run.end?.reason ?? '';
    reason.hidden = reason.textContent === '';

    const other: InferenceMode = this.mode === 'aom' ? 'dom' : 'aom';
    const pair = (values: Record<InferenceMode, number>, suffix: string): (Node | string)[] => [
      h('strong', { class: 'lead' }, `${this.mode.toUpperCase()} ${percent(values[this.mode])}`),
      ` · ${other.toUpperCase()} ${percent(values[other])}${suffix}`,
    ];
    const test = run.end?.test;
    const testEl = byId(this.root, 'fact-test');
    if (test) {
      const gain = run.end?.baseline?.gain;
      setChildren(testEl, ...pair(test, ` (epoch ${test.epoch})`), gain ? ` · gain over baseline ${gain[this.mode] >= 0 ? '+' : ''}${gain[this.mode].toFixed(2)} pts` : '');
    } else setChildren(testEl, run.isLive() ? 'after training' : '—');
    const selected = run.selectedEpoch();
    const bestEl = byId(this.root, 'fact-best');
    const split = run.selectionSplit() === 'test' ? 'test split' : 'validation';
    if (selected && run.isPlain()) setChildren(bestEl, `epoch ${selected.epoch}: `, h('strong', { class: 'lead' }, percent(selected.aomAccuracy)), ` on ${split} (plain model)`);
    else if (selected) setChildren(bestEl, `epoch ${selected.epoch}: `, ...pair({ aom: selected.aomAccuracy, dom: selected.domAccuracy }, ` on ${split}`));
    else setChildren(bestEl, '—');
    byId(this.root, 'fact-throughput').textContent = rate(run.samplesPerSec());
    const time = run.durationSec();
    byId(this.root, 'fact-time').textContent = time === null ? '—' : run.isLive() ? `${duration(time)} so far` : duration(time);
    const backend = byId(this.root, 'fact-backend');
    backend.textContent = run.start?.backend.name ?? '—';
    backend.title = run.start?.backend.reason ?? '';
    byId(this.root, 'fact-model').textContent = run.start
      ? `${run.start.model.name} on ${run.start.dataset.name}, ${run.start.config.was.transform === 'none' ? 'plain (no WAS)' : `WAS ${run.start.config.was.transform}`}`
      : '—';
  }

  private renderControls(): void {
    const smoothing = byId<HTMLElementTagNameMap['vscode-single-select']>(this.root, 'smoothing');
    const value = String(this.smoothing());
    if (!SMOOTHING_CHOICES.map(String).includes(value) && !smoothing.querySelector(`vscode-option[value="${CSS.escape(value)}"]`))
      smoothing.append(h('vscode-option', { value }, value));
    if (smoothing.value !== value) smoothing.value = value;
    const logScale = byId<HTMLElementTagNameMap['vscode-checkbox']>(this.root, 'loss-log');
    if (logScale.checked !== this.lossLogScale()) logScale.checked = this.lossLogScale();
  }

  private renderCharts(runs: RunModel[]): void {
    const specs = chartSeries(runs, this.mode, this.smoothing());
    const context = { smoothing: this.smoothing(), theme: this.theme, hidden: new Set(this.ui.hiddenSeries), lossLogScale: this.lossLogScale() };
    for (const chart of this.charts) {
      const shown = this.chartShown(chart.id);
      chart.element.hidden = !shown;
      if (shown) chart.update(specs[chart.id], context);
    }
  }

  /** The compare checkboxes, rebuilt only when the run list changes (so focus stays put). */
  private renderComparePickList(): void {
    const pick = byId(this.root, 'compare-pick');
    setChildren(
      pick,
      ...[...this.runs.values()].map((run) => {
        const box = h('vscode-checkbox', { 'data-run-id': run.runId }, run.label);
        box.addEventListener('change', () => this.setCompare(run.runId, box.checked));
        return box;
      }),
    );
  }

  private renderComparePick(active: RunModel): void {
    for (const box of byId(this.root, 'compare-pick').querySelectorAll('vscode-checkbox')) {
      const runId = box.dataset.runId ?? '';
      const isActive = runId === active.runId;
      box.disabled = isActive;
      box.checked = isActive || this.compare.includes(runId);
      box.title = isActive ? 'The active run is always shown' : '';
    }
  }

  private renderCompareTable(runs: RunModel[]): void {
    const table = byId<HTMLTableElement>(this.root, 'compare-table');
    const rows = compareRows(runs, this.mode);
    const head = h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Setting')),
        ...runs.map((run, i) =>
          h('th', { scope: 'col' }, h('span', { class: `swatch color-${runs.length > 1 ? RUN_COLORS[i % RUN_COLORS.length] : 'blue'}`, 'aria-hidden': 'true' }), run.label),
        ),
      ),
    );
    const body = h('tbody', {});
    let group = '';
    for (const row of rows) {
      if (row.group !== group) {
        group = row.group;
        body.append(h('tr', { class: 'group' }, h('th', { scope: 'rowgroup', colspan: String(runs.length + 1) }, group === 'config' ? 'Configuration' : 'Results')));
      }
      body.append(
        h(
          'tr',
          { class: row.differs && row.group === 'config' ? 'differs' : undefined, 'data-key': row.key },
          h('th', { scope: 'row' }, row.label),
          ...row.cells.map((cell) =>
            h(
              'td',
              {
                class: [cell.diff ? 'diff' : '', cell.best ? 'best' : ''].filter(Boolean).join(' ') || undefined,
                title: cell.diff ? `differs from ${runs[0].label}` : cell.best ? 'best' : undefined,
              },
              cell.text,
            ),
          ),
        ),
      );
    }
    table.replaceChildren(h('caption', { class: 'visually-hidden' }, 'Configurations and results of the runs on the charts; differing settings and the best results are highlighted'), head, body);
  }

  private renderLog(run: RunModel): void {
    byId(this.root, 'log-summary').textContent = `Log (${run.logCount})`;
    const list = byId(this.root, 'log-list');
    const key = `${run.runId}:${run.logCount}`;
    if (list.dataset.for === key) return;
    list.dataset.for = key;
    setChildren(
      list,
      ...run.logs.map((e) => h('li', { class: `level-${e.level}` }, h('time', {}, new Date(e.time).toLocaleTimeString('en-GB')), ` ${e.message}`)),
    );
  }
}
