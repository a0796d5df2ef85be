// The study page: a heading (the study, its state, runs done of all), the table of cells
// (table.ts), the gains chart (gain-chart.ts) and, for the cell clicked, its runs; clicking a run
// asks the host to open it in the metrics panel. Every host message is parsed
// (study-panel-protocol.ts); a malformed one is logged, told to the host, and dropped. The host
// posts the whole study.json again whenever it changes, so the page is live while the study runs.

import { Chart } from 'chart.js';
import { errorMessage } from '../../src/shared/errors';
import { duration, percent, points } from '../../src/shared/format';
import type { StudyResults } from '../../src/shared/study';
import { STUDY_PANEL_PROTOCOL_VERSION, parseStudyHostMessage, type StudyHostMessage } from '../../src/shared/study-panel-protocol';
import { readTheme, watchTheme } from '../theme';
import { GainChart, type GainMetric } from './gain-chart';
import type { StudyHost, StudyUiState } from './host';
import { cellRows, runsOfCell, type CellRow } from './rows';
import { StudyTable } from './table';
import type { StudyTestHook } from './test-hook';

type StudyMessage = Extract<StudyHostMessage, { type: 'study' }>;

export class StudyApp {
  private study: StudyMessage | null = null;
  private rows: CellRow[] = [];
  private ui: StudyUiState;
  private messageCount = 0;
  private renderCount = 0;
  private readonly heading: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly problem: HTMLElement;
  private readonly filter: HTMLInputElement;
  private readonly metricSelect: HTMLSelectElement;
  private readonly table: StudyTable;
  private readonly chart: GainChart;
  private readonly runsList: HTMLElement;

  constructor(
    private readonly host: StudyHost,
    root: HTMLElement,
  ) {
    this.ui = host.loadState();
    const el = <K extends keyof HTMLElementTagNameMap>(tag: K, className: string, parent: HTMLElement = root): HTMLElementTagNameMap[K] => {
      const node = parent.appendChild(document.createElement(tag));
      node.className = className;
      return node;
    };
    this.heading = el('h1', 'study-title');
    this.summary = el('p', 'study-summary');
    this.problem = el('p', 'study-problem');
    const tools = el('div', 'study-tools');
    this.filter = el('input', 'study-filter', tools);
    this.filter.type = 'search';
    this.filter.placeholder = 'Filter cells by settings';
    this.filter.setAttribute('aria-label', 'Filter cells by settings');
    this.filter.value = this.ui.filter;
    this.filter.addEventListener('input', () => this.table.setFilter(this.filter.value));
    this.metricSelect = el('select', 'study-metric', tools);
    this.metricSelect.setAttribute('aria-label', 'Gain shown in the chart');
    for (const [value, label] of [['aom', 'AOM gain'], ['dom', 'DOM gain']] as const) this.metricSelect.add(new Option(label, value, false, value === this.ui.metric));
    this.metricSelect.addEventListener('change', () => this.setMetric(this.metricSelect.value === 'dom' ? 'dom' : 'aom'));
    this.table = new StudyTable(
      el('div', 'study-table-wrap'),
      {
        onSelect: (id) => this.select(id),
        onStateChange: (sorting, filter) => {
          this.save({ sorting, filter });
          this.renderChart();
        },
      },
      this.ui,
    );
    const chartBox = el('div', 'study-chart');
    this.chart = new GainChart(chartBox.appendChild(document.createElement('canvas')));
    this.runsList = el('section', 'study-runs');
    watchTheme(() => this.render());
  }

  start(): void {
    window.addEventListener('message', (event: MessageEvent) => this.receive(event.data));
    this.render();
    this.host.post({ type: 'ready', protocolVersion: STUDY_PANEL_PROTOCOL_VERSION });
  }

  receive(value: unknown): void {
    let message: StudyHostMessage;
    try {
      message = parseStudyHostMessage(value);
    } catch (error) {
      const text = `dropped a malformed host message: ${errorMessage(error)}`;
      console.error(`WAS Lab study page: ${text}`);
      this.host.post({ type: 'log', level: 'error', message: text.slice(0, 8000) });
      return;
    }
    this.messageCount++;
    // Another study than the one kept: its cell choice does not carry over.
    if (message.name !== this.ui.study) this.save({ study: message.name, selectedCell: message.name === this.ui.study ? this.ui.selectedCell : null });
    this.study = message;
    this.rows = message.results ? cellRows(message.results) : [];
    this.render();
  }

  testHook(): StudyTestHook {
    return { messages: () => this.messageCount, renders: () => this.renderCount, rows: () => this.table.shownIds(), chart: () => this.chart.info() };
  }

  private select(cellId: string): void {
    this.save({ selectedCell: cellId });
    this.render();
  }

  private setMetric(metric: GainMetric): void {
    this.save({ metric });
    this.render();
  }

  private save(change: Partial<StudyUiState>): void {
    this.ui = { ...this.ui, ...change };
    this.host.saveState(this.ui);
  }

  private render(): void {
    const theme = readTheme();
    Chart.defaults.font.family = theme.fontFamily;
    Chart.defaults.color = theme.foreground;
    const results = this.study?.results ?? null;
    this.renderHeading(results);
    this.table.setRows(this.rows, this.ui.selectedCell);
    this.renderChart();
    this.renderRuns(results);
    this.renderCount++;
  }

  /** The chart shows the cells the table shows, in its order (sorted, filtered). */
  private renderChart(): void {
    const theme = readTheme();
    this.chart.update(this.table.shownRows(), this.ui.metric, { mean: theme.colors.blue, seeds: theme.colors.orange, foreground: theme.foreground, grid: theme.grid });
  }

  private renderHeading(results: StudyResults | null): void {
    const study = this.study;
    this.heading.textContent = study ? `Study ${study.name}` : 'Study';
    this.problem.hidden = !study?.problem;
    this.problem.textContent = study?.problem ? `⚠ ${study.problem}` : '';
    if (results === null) {
      this.summary.textContent = study ? 'No results yet.' : 'Waiting for the study…';
      return;
    }
    const ended = results.runs.filter((r) => r.state === 'completed' || r.state === 'stopped' || r.state === 'failed').length;
    const failed = results.runs.filter((r) => r.state === 'failed').length;
    const running = results.runs.filter((r) => r.state === 'running').length;
    this.summary.textContent = [
      `${results.state}${study?.live ? ' (in this window)' : ''}`,
      `${ended}/${results.runs.length} runs ended${failed > 0 ? `, ${failed} failed` : ''}${running > 0 ? `, ${running} running` : ''}`,
      `${results.cells.length} cells`,
      `wall ${duration(results.wallSec)}`,
      `${results.executor.processes} processes × ${results.executor.threadsPerProcess} threads`,
    ].join(' · ');
  }

  private renderRuns(results: StudyResults | null): void {
    const cellId = this.ui.selectedCell;
    const cell = results?.cells.find((c) => c.id === cellId);
    if (!results || !cell) {
      this.runsList.replaceChildren(Object.assign(document.createElement('p'), { className: 'hint', textContent: 'Click a cell to list its runs.' }));
      return;
    }
    const title = Object.assign(document.createElement('h2'), { textContent: `Runs of ${cell.id}` });
    const list = document.createElement('ul');
    list.className = 'run-list';
    for (const run of runsOfCell(results, cell.id)) {
      const item = list.appendChild(document.createElement('li'));
      const button = item.appendChild(document.createElement('button'));
      button.type = 'button';
      button.dataset.run = run.name;
      button.className = `run state-${run.state}`;
      const r = run.result;
      const numbers = r ? ` · AOM ${percent(r.aom)} · DOM ${percent(r.dom)}${r.gain ? ` · gain ${points(r.gain.aom)} / ${points(r.gain.dom)}` : ''}` : '';
      const progress = run.state === 'running' ? ` · epoch ${run.epochsCompleted}/${run.epochs}` : '';
      button.textContent = `${run.name} · seed ${run.seed} · ${run.state}${progress}${numbers}${run.reason ? ` (${run.reason})` : ''}`;
      button.disabled = run.state === 'pending' || run.state === 'queued';
      button.addEventListener('click', () => this.host.post({ type: 'open-run', run: run.name }));
    }
    this.runsList.replaceChildren(title, list);
  }
}
