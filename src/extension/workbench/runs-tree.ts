// The Runs tree in the WAS Lab activity-bar container: one item per run (runTreeItem says what it
// shows), refreshed, debounced, when run folders change on disk (a FileSystemWatcher), when a
// trainer of this window changes state or finishes an epoch, and when the mode switches.

import * as vscode from 'vscode';
import type { LabRun, LabRuns } from '../lab/lab-runs';
import type { LabState } from '../lab/lab-state';
import { DisposableStore, MutableDisposable, type Disposable } from '../base/lifecycle';
import type { TrainerSupervisor } from '../runs/supervisor';
import { runTreeItem } from '../lab/tree-items';

export const RUNS_VIEW_ID = 'wasLab.runs';
const REFRESH_DELAY_MS = 300;

export class RunsTree implements vscode.TreeDataProvider<LabRun>, Disposable {
  private readonly disposables = new DisposableStore();
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly watcher = new MutableDisposable<vscode.FileSystemWatcher>();
  private refreshTimer: NodeJS.Timeout | undefined;
  readonly onDidChangeTreeData = this.changed.event;
  readonly view: vscode.TreeView<LabRun>;

  constructor(
    private readonly runs: LabRuns,
    private readonly state: LabState,
    supervisor: TrainerSupervisor,
  ) {
    this.disposables.add(this.changed);
    this.disposables.add(this.watcher);
    this.view = this.disposables.add(vscode.window.createTreeView(RUNS_VIEW_ID, { treeDataProvider: this, canSelectMany: true }));
    this.disposables.add(supervisor.onDidChangeJob(() => this.refresh()));
    this.disposables.add(supervisor.onDidReceiveEvent(({ event }) => event.type === 'epoch' && this.refresh()));
    this.disposables.add(state.onDidChangeMode(() => this.refresh()));
    // The followed run's item loses its inline Open button while the panel shows it.
    this.disposables.add(state.onDidChangeActiveRun(() => this.refresh()));
    this.disposables.add(state.onDidChangePanelVisible(() => this.refresh()));
    this.disposables.add(runs.onDidReadMetrics(() => this.refresh()));
  }

  /** (Re)watch the runs folder; called at start and when the setting changes. */
  watch(runsDir: string): void {
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(runsDir), '**/{config.json,summary.json,metrics.jsonl}'));
    const refresh = (): void => this.refresh();
    watcher.onDidCreate(refresh);
    watcher.onDidChange(refresh);
    watcher.onDidDelete(refresh);
    this.watcher.value = watcher;
    this.refresh();
  }

  refresh(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.changed.fire(), REFRESH_DELAY_MS);
  }

  getChildren(element?: LabRun): LabRun[] {
    return element ? [] : this.runs.list();
  }

  getTreeItem(run: LabRun): vscode.TreeItem {
    const data = runTreeItem(run, this.state.mode, Date.now(), this.state.panelVisible ? this.state.activeRunId : null);
    const item = new vscode.TreeItem(data.label, vscode.TreeItemCollapsibleState.None);
    item.id = data.id;
    item.description = data.description;
    item.tooltip = new vscode.MarkdownString(data.tooltip);
    item.iconPath = new vscode.ThemeIcon(data.icon.id, new vscode.ThemeColor(data.icon.color));
    item.contextValue = data.contextValue;
    item.command = { command: 'was.openMetricsPanel', title: 'Open Metrics Panel', arguments: [run.runId] };
    return item;
  }

  dispose(): void {
    clearTimeout(this.refreshTimer);
    this.disposables.dispose();
  }
}
