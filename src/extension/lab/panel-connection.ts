// The host side of one metrics webview (the editor panel or the bottom view): every message from
// the page is parsed with the shared parser before anything happens (malformed or unknown ones are
// logged and dropped); `ready` gets a full snapshot; afterwards runs, events, statuses, the mode
// and the selection are sent as they change. Events are batched so a fast run cannot flood the page.

import { errorMessage } from '../../shared/errors';
import {
  PANEL_PROTOCOL_VERSION,
  parseWebviewMessage,
  type HostMessage,
  type PanelLayout,
  type PanelRun,
  type PanelRunStatus,
  type PanelSettings,
  type SaveFileKind,
  type WebviewMessage,
} from '../../shared/panel-protocol';
import type { InferenceMode, TrainerEvent } from '../../shared/protocol';
import type { LabRun, LabRuns } from './lab-runs';
import type { Event } from '../base/emitter';
import type { LabState } from './lab-state';
import { DisposableStore, type Disposable } from '../base/lifecycle';
import type { TrainerSupervisor } from '../runs/supervisor';
import { runSetup } from './tree-items';

/** What the page's buttons do; the API layer implements them (commands, dialogs). */
export interface PanelActions {
  stop(runId: string): void;
  switchMode(mode: InferenceMode, runId: string | null): void;
  exportWeights(runId: string, mode: InferenceMode): void;
  saveFile(kind: SaveFileKind, suggestedName: string, content: string): void;
}

export interface PanelConnectionOptions {
  layout: PanelLayout;
  /** webview.postMessage. */
  post: (message: HostMessage) => PromiseLike<boolean> | void;
  runs: LabRuns;
  state: LabState;
  supervisor: TrainerSupervisor;
  actions: PanelActions;
  settings: () => PanelSettings;
  /** The `was.*` settings changed: an open page gets a fresh snapshot (new defaults, runs folder). */
  onDidChangeSettings: Event<void>;
  log: (line: string) => void;
  /** How long events wait to travel together. */
  batchMs?: number;
}

/** Runs' histories read from disk, by run id. */
type Histories = ReadonlyMap<string, readonly TrainerEvent[]>;

/** A folder without a summary that was written to this recently is taken to be training elsewhere. */
const RECENT_WRITE_MS = 120_000;

export class PanelConnection implements Disposable {
  private readonly disposables = new DisposableStore();
  /** Runs the page holds (sent in the snapshot or since): events for others are not sent. */
  private readonly held = new Set<string>();
  private pending = new Map<string, TrainerEvent[]>();
  private flushTimer: NodeJS.Timeout | undefined;
  private ready = false;
  private disposed = false;
  /** Steps waiting for runs' histories from disk (afterHistories), in order; and how many. */
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;

  constructor(private readonly options: PanelConnectionOptions) {
    const { state, supervisor } = options;
    this.disposables.add(
      supervisor.onDidReceiveEvent(({ job, event }) => {
        if (!this.ready || !this.held.has(job.runId)) return;
        const list = this.pending.get(job.runId) ?? [];
        list.push(event);
        this.pending.set(job.runId, list);
        this.flushTimer ??= setTimeout(() => this.flush(), options.batchMs ?? 100);
      }),
    );
    this.disposables.add(
      supervisor.onDidChangeJob((job) => {
        const held = this.held.has(job.runId);
        if (!this.ready || (!held && job.runId !== state.activeRunId)) return;
        const run = options.runs.get(job.runId);
        if (!run) return;
        if (held) {
          this.flush();
          this.post({ type: 'run-status', runId: job.runId, ...panelStatus(run) });
        } else {
          this.add(job.runId);
        }
      }),
    );
    this.disposables.add(state.onDidChangeMode((mode) => this.ready && this.post({ type: 'mode', mode })));
    this.disposables.add(options.onDidChangeSettings(() => this.ready && this.sendSnapshot()));
    this.disposables.add(
      state.onDidChangeActiveRun((runId) => {
        if (!this.ready) return;
        if (runId !== null) this.ensureHeld(runId);
        this.afterHistories([], () => this.send({ type: 'active-run', runId: runId !== null && this.held.has(runId) ? runId : null }));
      }),
    );
    this.disposables.add(
      state.onDidChangeCompare((runIds) => {
        if (!this.ready) return;
        for (const id of runIds) this.ensureHeld(id);
        this.afterHistories([], () => this.send({ type: 'compare', runIds: runIds.filter((id) => this.held.has(id)) }));
      }),
    );
    this.disposables.add(
      state.onDidUpdateRun((runId) => {
        if (this.held.has(runId)) this.add(runId);
      }),
    );
    this.disposables.add(
      state.onDidRemoveRun((runId) => {
        if (this.held.delete(runId)) this.post({ type: 'run-removed', runId });
      }),
    );
  }

  /** Everything the webview posts arrives here, as `unknown`. */
  receive(raw: unknown): void {
    let message: WebviewMessage;
    try {
      message = parseWebviewMessage(raw);
    } catch (error) {
      this.options.log(`metrics ${this.options.layout === 'full' ? 'panel' : 'view'}: dropped a malformed message: ${errorMessage(error)}`);
      return;
    }
    const { state, actions } = this.options;
    switch (message.type) {
      case 'ready':
        if (message.protocolVersion !== PANEL_PROTOCOL_VERSION)
          this.options.log(`metrics page speaks panel protocol ${message.protocolVersion}, the host ${PANEL_PROTOCOL_VERSION}`);
        // Nothing (or a deleted run) followed, as after a window reload: follow what the panel
        // command would, before this page counts as ready (the snapshot carries it).
        if (state.activeRunId === null || !this.options.runs.get(state.activeRunId)) state.setActiveRun(this.options.runs.defaultRunId());
        this.ready = true;
        this.sendSnapshot();
        return;
      case 'stop':
        actions.stop(message.runId);
        return;
      case 'switch-mode':
        actions.switchMode(message.mode, message.runId);
        return;
      case 'export-weights':
        actions.exportWeights(message.runId, message.mode);
        return;
      case 'save-file':
        actions.saveFile(message.kind, message.suggestedName, message.content);
        return;
      case 'set-compare':
        state.setCompare(message.runIds);
        return;
      case 'select-run':
        state.setActiveRun(message.runId);
        return;
      case 'log':
        this.options.log(`metrics page ${message.level}: ${message.message}`);
        return;
    }
  }

  /**
   * A full snapshot (also after settings change); replaces everything the page holds. Posted once
   * the held runs' histories are read (at once when none is read from disk): settled() says when.
   */
  sendSnapshot(): void {
    const { state } = this.options;
    this.afterHistories([state.activeRunId, ...state.compare], (histories) => this.postSnapshot(histories));
  }

  /** Resolves once every step waiting for a history has posted (for tests and the bench). */
  async settled(): Promise<void> {
    while (this.queued > 0) await this.queue;
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.flushTimer);
    this.disposables.dispose();
  }

  private postSnapshot(histories: Histories): void {
    const { state, runs } = this.options;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    // The snapshot reads the runs' whole event lists, which already hold what is pending.
    this.pending = new Map();
    this.held.clear();
    const ids = [state.activeRunId, ...state.compare].filter((id): id is string => id !== null);
    const panelRuns: PanelRun[] = [];
    for (const id of ids) {
      const run = runs.get(id);
      const panelRun = run && !this.held.has(id) ? this.panelRun(run, histories) : null;
      if (panelRun) {
        panelRuns.push(panelRun);
        this.held.add(id);
      }
    }
    this.send({
      type: 'snapshot',
      protocolVersion: PANEL_PROTOCOL_VERSION,
      layout: this.options.layout,
      runs: panelRuns,
      activeRunId: state.activeRunId !== null && this.held.has(state.activeRunId) ? state.activeRunId : null,
      compare: state.compare.filter((id) => this.held.has(id)),
      mode: state.mode,
      settings: this.options.settings(),
    });
  }

  /**
   * Runs `post` once the histories of the runs named (those not live in this window: read from
   * disk, asynchronously) are at hand, after every step queued before it, so the page gets its
   * messages in the order they were caused. With nothing to read and nothing queued, at once.
   */
  private afterHistories(runIds: readonly (string | null)[], post: (histories: Histories) => void): void {
    const fromDisk = runIds.flatMap((id) => {
      const run = id === null ? undefined : this.options.runs.get(id);
      return run && run.job === null ? [run] : [];
    });
    if (fromDisk.length === 0 && this.queued === 0) return post(new Map());
    this.queued++;
    this.queue = this.queue
      .then(async () => {
        const histories: Histories = new Map(await Promise.all(fromDisk.map(async (run) => [run.runId, await this.options.runs.history(run)] as const)));
        if (!this.disposed) post(histories);
      })
      .catch((error: unknown) => this.options.log(`metrics page: could not read a run's history: ${errorMessage(error)}`))
      .finally(() => this.queued--);
  }

  private ensureHeld(runId: string): void {
    if (!this.held.has(runId)) this.add(runId);
  }

  /** Sends the run (again, when the page holds it) with its history. */
  private add(runId: string): void {
    this.afterHistories([runId], (histories) => {
      const run = this.options.runs.get(runId);
      const panelRun = run ? this.panelRun(run, histories) : null;
      if (!panelRun) return;
      this.pending.delete(runId);
      this.held.add(runId);
      this.send({ type: 'run-added', run: panelRun });
    });
  }

  /** The run as the page holds it; null when its history was not read (it became wanted while others were read). */
  private panelRun(run: LabRun, histories: Histories): PanelRun | null {
    const events = this.options.runs.liveHistory(run) ?? histories.get(run.runId);
    if (events === undefined) return null;
    return {
      runId: run.runId,
      label: panelLabel(run),
      ...panelStatus(run),
      events: [...events],
    };
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    // In the queue: a snapshot or run-added still waiting there sends these events itself (from
    // the job's list) and empties `pending`, so each event reaches the page once.
    this.afterHistories([], () => {
      const pending = this.pending;
      this.pending = new Map();
      for (const [runId, events] of pending) if (this.held.has(runId)) this.send({ type: 'events', runId, events });
    });
  }

  /** Posts in order: after any step still waiting for a history. */
  private post(message: HostMessage): void {
    this.afterHistories([], () => this.send(message));
  }

  private send(message: HostMessage): void {
    void Promise.resolve(this.options.post(message)).catch((error: unknown) => this.options.log(`could not post to the metrics page: ${errorMessage(error)}`));
  }
}

/** The tree's label and when the run started, so that overlaid runs of one setup tell apart in a legend. */
export function panelLabel(run: LabRun): string {
  const started = /^\d{8}-(\d\d)(\d\d)(\d\d)(?:-|$)/.exec(run.runId);
  return `${runSetup(run)} · ${started ? `${started[1]}:${started[2]}:${started[3]}` : run.runId}`;
}

/** The panel has no "incomplete": a silent folder without a summary is a failed run, a fresh one a running one. */
export function panelStatus(run: LabRun, now = Date.now()): { status: PanelRunStatus; reason: string | null } {
  if (run.status !== 'incomplete') return { status: run.status, reason: run.reason };
  const recent = run.record !== null && now - run.record.lastWriteMs < RECENT_WRITE_MS;
  return recent
    ? { status: 'running', reason: 'written to by a trainer outside this window' }
    : { status: 'failed', reason: 'no summary.json: its trainer was killed, or is still running outside this window' };
}
