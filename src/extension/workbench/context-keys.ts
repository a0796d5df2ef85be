// Hands the context keys that lab/context-keys.ts decides to VS Code (`setContext`), so the
// palette and the menus offer a command only where it can act. Only the keys that changed are set.
// Activation reads no disk: the mode and the panel's visibility are set at once, the run-derived
// keys when the Runs tree changes (it lists the runs anyway), at once when a trainer of this
// window changes state (a run just stopped is resumable before the palette opens again), and
// once shortly after activation.

import * as vscode from 'vscode';
import { DisposableStore, type Disposable } from '../base/lifecycle';
import { changedKeys, CONTEXT_KEY_DEFAULTS, decideContextKeys, type ContextKeys } from '../lab/context-keys';
import type { LabRuns } from '../lab/lab-runs';
import type { LabState } from '../lab/lab-state';
import type { RunsTree, TreeStudies } from './runs-tree';
import type { TrainerSupervisor } from '../runs/supervisor';

/** The first listing waits this long after activation, so activation itself stays cheap. */
const FIRST_UPDATE_MS = 1500;

export class ContextKeysController implements Disposable {
  private readonly disposables = new DisposableStore();
  private current: ContextKeys | null = null;
  private listed = false;
  private readonly firstUpdate: NodeJS.Timeout;

  constructor(
    private readonly runs: LabRuns,
    private readonly state: LabState,
    tree: RunsTree,
    supervisor: TrainerSupervisor,
    private readonly studies: TreeStudies,
  ) {
    this.apply({ ...CONTEXT_KEY_DEFAULTS, 'was.mode': state.mode, 'was.panelOpen': state.panelVisible });
    this.disposables.add(tree.onDidChangeTreeData(() => this.update()));
    this.disposables.add(supervisor.onDidChangeJob(() => this.update()));
    this.disposables.add(state.onDidChangeActiveRun(() => this.update()));
    this.disposables.add(state.onDidChangeMode(() => this.update()));
    this.disposables.add(state.onDidChangePanelVisible(() => this.update()));
    this.disposables.add(studies.onDidChange(() => this.update()));
    this.firstUpdate = setTimeout(() => !this.listed && this.update(), FIRST_UPDATE_MS);
    this.firstUpdate.unref?.();
  }

  /** Lists the runs and sets the keys that changed. */
  update(): void {
    this.listed = true;
    const studies = this.studies.list().map((study) => ({ live: this.studies.live(study.name) }));
    this.apply(decideContextKeys({ runs: this.runs.list(), activeRunId: this.state.activeRunId, mode: this.state.mode, panelVisible: this.state.panelVisible, studies }));
  }

  dispose(): void {
    clearTimeout(this.firstUpdate);
    this.disposables.dispose();
  }

  private apply(next: ContextKeys): void {
    for (const key of changedKeys(this.current, next)) void vscode.commands.executeCommand('setContext', key, next[key]);
    this.current = next;
  }
}
