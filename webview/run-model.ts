// What the panel knows about one run, folded from its event stream: the series to draw, the
// latest step, epoch and phase, progress and ETA, the best epoch, the final test numbers, and
// (with --baseline) the plain model trained beside it as a nested model. Pure: no DOM.

import type { PanelRun, PanelRunStatus } from '../src/shared/panel-protocol';
import {
  currentHistory,
  type DomSearchEvent,
  type EpochEvent,
  type LogEvent,
  type Phase,
  type RunEndEvent,
  type RunStartEvent,
  type StepEvent,
  type TestConfusionEvent,
  type TrainerEvent,
  type WasKernelsEvent,
} from '../src/shared/protocol';
import { advanceProgress, etaSeconds, NO_PROGRESS, progressOf, runSeconds, samplesPerSecond, type Progress, type ProgressState } from '../src/shared/progress';
import { Series } from './series';

export type { Progress } from '../src/shared/progress';

/** The series every run has (alpha series are per layer, in `alphas`). */
export type MetricName =
  | 'stepLoss'
  | 'stepAccuracy'
  | 'stepLr'
  | 'stepThroughput'
  | 'epochLoss'
  | 'epochAccuracy'
  | 'aom'
  | 'dom'
  | 'epochLr'
  | 'epochThroughput'
  | 'aomLoss'
  | 'domLoss';

export const METRIC_NAMES: readonly MetricName[] = [
  'stepLoss',
  'stepAccuracy',
  'stepLr',
  'stepThroughput',
  'epochLoss',
  'epochAccuracy',
  'aom',
  'dom',
  'epochLr',
  'epochThroughput',
  'aomLoss',
  'domLoss',
];

const LOG_LIMIT = 500;

export class RunModel {
  status: PanelRunStatus;
  reason: string | null;
  epochs: EpochEvent[] = [];
  logs: LogEvent[] = [];
  logCount = 0;
  series = new Map<MetricName, Series>();
  alphas = new Map<string, Series>();
  /** The latest kernel samples of the transformed layers (WAS view). */
  kernels: WasKernelsEvent | null = null;
  /** The test phase's confusion matrices. */
  confusion: TestConfusionEvent | null = null;
  /** Every DOM search of the run, in stream order. */
  domSearches: DomSearchEvent[] = [];
  /** The plain model trained beside this run (--baseline), from its `baseline` envelopes. */
  baseline: RunModel | null = null;
  /** Bumped on every change; the view redraws what depends on a changed version. */
  version = 0;
  /** The latest run-start, step, epoch, phase and run-end, this session's start and the latest event's time (src/shared/progress.ts). */
  private pace: ProgressState = NO_PROGRESS;
  private history: TrainerEvent[] = [];

  constructor(
    readonly runId: string,
    public label: string,
    status: PanelRunStatus = 'running',
    reason: string | null = null,
  ) {
    this.status = status;
    this.reason = reason;
    this.reset();
  }

  get start(): RunStartEvent | null {
    return this.pace.start;
  }

  get end(): RunEndEvent | null {
    return this.pace.end;
  }

  get lastStep(): StepEvent | null {
    return this.pace.lastStep;
  }

  get phase(): Phase | null {
    return this.pace.phase;
  }

  static fromPanelRun(run: PanelRun): RunModel {
    const model = new RunModel(run.runId, run.label, run.status, run.reason);
    model.append(run.events);
    return model;
  }

  /** Add events in stream order. A new session's run-start (a resume) refolds the whole history. */
  append(events: readonly TrainerEvent[]): void {
    if (events.length === 0) return;
    const hadHistory = this.history.length > 0;
    for (const e of events) this.history.push(e);
    const restarts = events.some((e) => e.type === 'run-start' || (e.type === 'baseline' && e.event.type === 'run-start'));
    if (restarts || !hadHistory) {
      // Metrics come from the latest session's history; logs from every session (the lines
      // written before a run-start, such as the backend choice, are worth reading too).
      this.reset();
      const current = new Set(currentHistory(this.history));
      for (const e of this.history) if (current.has(e) || e.type === 'log' || (e.type === 'baseline' && e.event.type === 'log')) this.fold(e);
    } else {
      for (const e of events) this.fold(e);
    }
    this.version++;
  }

  setStatus(status: PanelRunStatus, reason: string | null): void {
    this.status = status;
    this.reason = reason;
    this.version++;
  }

  /** The status to show: a run-end in the stream settles a run the host still calls running. */
  effectiveStatus(): PanelRunStatus {
    if (this.end && (this.status === 'running' || this.status === 'stopping' || this.status === 'starting')) return this.end.status;
    return this.status;
  }

  isLive(): boolean {
    const s = this.effectiveStatus();
    return s === 'queued' || s === 'starting' || s === 'running' || s === 'stopping';
  }

  /** A run of the plain model (no shadow weights): AOM and DOM are the same network. */
  isPlain(): boolean {
    return this.start !== null && (this.start.config.was.transform === 'none' || this.start.model.shadowLayers.length === 0);
  }

  selectionSplit(): 'validation' | 'test' {
    return this.epochs.length > 0 ? this.epochs[this.epochs.length - 1].selectionSplit : (this.start?.config.selectOn ?? 'validation');
  }

  metric(name: MetricName): Series {
    const series = this.series.get(name);
    if (!series) throw new Error(`no series ${name}`);
    return series;
  }

  progress(): Progress | null {
    return progressOf(this.pace, this.isLive());
  }

  /** Seconds left at this session's pace; null when not measurable, and once the run is over or every step is done. */
  etaSeconds(): number | null {
    const p = this.progress();
    if (!p || !this.isLive() || p.step >= p.totalSteps || this.pace.lastTime === null) return null;
    return etaSeconds(p, this.pace.session, this.pace.lastTime);
  }

  /** The epoch with the best accuracy on the selection split in a mode (AOM decides the selected epoch). */
  best(mode: 'aom' | 'dom'): EpochEvent | null {
    let best: EpochEvent | null = null;
    for (const e of this.epochs) {
      const v = mode === 'aom' ? e.aomAccuracy : e.domAccuracy;
      if (Number.isFinite(v) && (best === null || v > (mode === 'aom' ? best.aomAccuracy : best.domAccuracy))) best = e;
    }
    return best;
  }

  /** The epoch the trainer selected (flagged best, by AOM on the selection split). */
  selectedEpoch(): EpochEvent | null {
    if (this.end?.bestEpoch != null) {
      const selected = this.epochs.find((e) => e.epoch === this.end?.bestEpoch);
      if (selected) return selected;
    }
    let selected: EpochEvent | null = null;
    for (const e of this.epochs) if (e.best) selected = e;
    return selected;
  }

  samplesPerSec(): number | null {
    return samplesPerSecond(this.pace);
  }

  /** Images in a split (from run-start), or null before it. */
  splitSize(split: 'validation' | 'test'): number | null {
    return this.start ? this.start.dataset[split] : null;
  }

  durationSec(): number | null {
    return runSeconds(this.pace);
  }

  private reset(): void {
    this.pace = NO_PROGRESS;
    this.epochs = [];
    this.logs = [];
    this.logCount = 0;
    this.series = new Map(METRIC_NAMES.map((name) => [name, new Series()]));
    this.alphas = new Map();
    this.kernels = null;
    this.confusion = null;
    this.domSearches = [];
    this.baseline = null;
  }

  private fold(e: TrainerEvent): void {
    this.pace = advanceProgress(this.pace, e);
    switch (e.type) {
      case 'step': {
        const x = e.epoch - 1 + e.stepInEpoch / e.stepsPerEpoch;
        this.metric('stepLoss').push(x, e.loss, e.step);
        this.metric('stepAccuracy').push(x, e.accuracy, e.step);
        this.metric('stepLr').push(x, e.lr, e.step);
        this.metric('stepThroughput').push(x, e.samplesPerSec, e.step);
        break;
      }
      case 'epoch': {
        this.epochs.push(e);
        const step = this.start ? e.epoch * this.start.stepsPerEpoch : null;
        this.metric('epochLoss').push(e.epoch, e.trainLoss, step);
        this.metric('epochAccuracy').push(e.epoch, e.trainAccuracy, step);
        this.metric('aom').push(e.epoch, e.aomAccuracy, step);
        this.metric('dom').push(e.epoch, e.domAccuracy, step);
        this.metric('epochLr').push(e.epoch, e.lr, step);
        this.metric('epochThroughput').push(e.epoch, e.samplesPerSec, step);
        if (e.aomLoss !== undefined) this.metric('aomLoss').push(e.epoch, e.aomLoss, step);
        if (e.domLoss !== undefined) this.metric('domLoss').push(e.epoch, e.domLoss, step);
        for (const [layer, alpha] of Object.entries(e.alphas)) {
          let series = this.alphas.get(layer);
          if (!series) this.alphas.set(layer, (series = new Series()));
          series.push(e.epoch, alpha, step);
        }
        break;
      }
      case 'was-kernels':
        this.kernels = e;
        break;
      case 'test-confusion':
        this.confusion = e;
        break;
      case 'dom-search':
        this.domSearches.push(e);
        break;
      case 'log':
        this.logCount++;
        this.logs.push(e);
        if (this.logs.length > LOG_LIMIT) this.logs.splice(0, this.logs.length - LOG_LIMIT);
        break;
      case 'baseline':
        if (!this.baseline) this.baseline = new RunModel(`${this.runId}/baseline`, `${this.label} baseline`, 'running');
        this.baseline.foldOne(e.event);
        break;
    }
  }

  /** Fold one event of an already-resolved stream (the baseline's, inside its owner's history). */
  private foldOne(e: TrainerEvent): void {
    this.history.push(e);
    this.fold(e);
    this.version++;
  }
}
