// What the user is looking at, shared by the panel, the bottom view, the tree and the status bar:
// the inference mode (remembered per workspace), the run being followed, the runs overlaid, and
// whether the metrics panel is on screen.

import type { InferenceMode } from '../../shared/protocol';
import { Emitter } from '../base/emitter';
import type { Disposable } from '../base/lifecycle';

/** The slice of vscode.Memento this needs (workspaceState), so tests can pass a Map-backed one. */
export interface StateStore {
  get(key: string): unknown;
  update(key: string, value: unknown): PromiseLike<void>;
}

const MODE_KEY = 'was.mode';
// The followed and overlaid runs outlive a window reload, so a restored panel shows them again.
const ACTIVE_KEY = 'was.activeRun';
const COMPARE_KEY = 'was.compare';

export class LabState implements Disposable {
  private currentMode: InferenceMode;
  private active: string | null = null;
  private compared: string[] = [];
  private panelShown = false;
  private readonly modeChanged = new Emitter<InferenceMode>();
  private readonly activeChanged = new Emitter<string | null>();
  private readonly compareChanged = new Emitter<string[]>();
  private readonly removed = new Emitter<string>();
  private readonly updated = new Emitter<string>();
  private readonly panelVisibility = new Emitter<boolean>();
  readonly onDidChangeMode = this.modeChanged.event;
  readonly onDidChangeActiveRun = this.activeChanged.event;
  readonly onDidChangeCompare = this.compareChanged.event;
  /** A run's folder was deleted. */
  readonly onDidRemoveRun = this.removed.event;
  /** A finished run gained something on disk (a DOM search): views showing it read it again. */
  readonly onDidUpdateRun = this.updated.event;
  /** The metrics panel was opened, closed, shown or hidden. */
  readonly onDidChangePanelVisible = this.panelVisibility.event;

  constructor(private readonly store: StateStore) {
    const saved = store.get(MODE_KEY);
    this.currentMode = saved === 'dom' ? 'dom' : 'aom';
    const active = store.get(ACTIVE_KEY);
    this.active = typeof active === 'string' ? active : null;
    const compared = store.get(COMPARE_KEY);
    this.compared = Array.isArray(compared) ? compared.filter((id): id is string => typeof id === 'string' && id !== this.active) : [];
  }

  get mode(): InferenceMode {
    return this.currentMode;
  }

  get activeRunId(): string | null {
    return this.active;
  }

  get compare(): readonly string[] {
    return this.compared;
  }

  /** The metrics panel is open and visible (not only open behind another tab). */
  get panelVisible(): boolean {
    return this.panelShown;
  }

  setPanelVisible(visible: boolean): void {
    if (visible === this.panelShown) return;
    this.panelShown = visible;
    this.panelVisibility.fire(visible);
  }

  setMode(mode: InferenceMode): void {
    if (mode === this.currentMode) return;
    this.currentMode = mode;
    void this.store.update(MODE_KEY, mode);
    this.modeChanged.fire(mode);
  }

  setActiveRun(runId: string | null): void {
    if (runId === this.active) return;
    this.active = runId;
    void this.store.update(ACTIVE_KEY, runId);
    this.activeChanged.fire(runId);
  }

  /** Runs overlaid on the active one (the active run itself is always drawn). */
  setCompare(runIds: readonly string[]): void {
    const next = [...new Set(runIds)].filter((id) => id !== this.active);
    if (next.length === this.compared.length && next.every((id, i) => id === this.compared[i])) return;
    this.compared = next;
    void this.store.update(COMPARE_KEY, next);
    this.compareChanged.fire(next);
  }

  runRemoved(runId: string): void {
    if (this.compared.includes(runId)) this.setCompare(this.compared.filter((id) => id !== runId));
    if (this.active === runId) this.setActiveRun(null);
    this.removed.fire(runId);
  }

  runUpdated(runId: string): void {
    this.updated.fire(runId);
  }

  dispose(): void {
    for (const emitter of [this.modeChanged, this.activeChanged, this.compareChanged, this.removed, this.updated, this.panelVisibility]) emitter.dispose();
  }
}
