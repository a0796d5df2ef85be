// The Runs tree in the WAS Lab activity-bar container: one item per run (runTreeItem says what it
// shows), refreshed, debounced, when run folders change on disk (a FileSystemWatcher), when a
// trainer of this window changes state or finishes an epoch, and when the mode switches. Above the
// runs, when there are any, a "Studies" group: a node per study with its runs as children
// (study-tree-items.ts), refreshed when a study.json changes (the StudyWatcher) or a study
// process of this window starts or ends.

import * as vscode from 'vscode';
import type { LabRun, LabRuns } from '../lab/lab-runs';
import type { LabState } from '../lab/lab-state';
import { DisposableStore, MutableDisposable, type Disposable } from '../base/lifecycle';
import type { TrainerSupervisor } from '../runs/supervisor';
import { runTreeItem, type RunTreeItemData } from '../lab/tree-items';
import { studiesGroupItem, studyRunTreeItem, studyTreeItem } from '../lab/study-tree-items';
import type { Event } from '../base/emitter';
import type { StudyEntry } from '../runs/study-store';
import type { StudyRun } from '../../shared/study';
import { studyRunId } from '../../shared/study-panel-protocol';

/** What the tree holds: a run (the LabRun itself, as the run commands expect), the studies group, a study, a study's run. */
export type RunsTreeNode =
  | LabRun
  | { kind: 'studies' }
  | { kind: 'study'; study: StudyEntry }
  /** `runId` (`<study>/<run>`) is what Open Metrics Panel and Compare Runs read off a node. */
  | { kind: 'study-run'; runId: string; study: StudyEntry; run: StudyRun };

/** What the tree reads of the studies. */
export interface TreeStudies {
  list(): StudyEntry[];
  /** Whether this window's study process runs it. */
  live(name: string): boolean;
  onDidChange: Event<void>;
}

export const RUNS_VIEW_ID = 'wasLab.runs';
const REFRESH_DELAY_MS = 300;

export class RunsTree implements vscode.TreeDataProvider<RunsTreeNode>, Disposable {
  private readonly disposables = new DisposableStore();
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly watcher = new MutableDisposable<vscode.FileSystemWatcher>();
  private refreshTimer: NodeJS.Timeout | undefined;
  readonly onDidChangeTreeData = this.changed.event;
  readonly view: vscode.TreeView<RunsTreeNode>;

  constructor(
    private readonly runs: LabRuns,
    private readonly state: LabState,
    supervisor: TrainerSupervisor,
    private readonly studies: TreeStudies,
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
    this.disposables.add(studies.onDidChange(() => this.refresh()));
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

  getChildren(element?: RunsTreeNode): RunsTreeNode[] {
    if (element === undefined) {
      const group: RunsTreeNode[] = this.studies.list().length > 0 ? [{ kind: 'studies' }] : [];
      return [...group, ...this.runs.list()];
    }
    if (!('kind' in element)) return [];
    if (element.kind === 'studies') return this.studies.list().map((study) => ({ kind: 'study', study }));
    if (element.kind === 'study') {
      const study = element.study;
      return (study.results?.runs ?? []).map((run) => ({ kind: 'study-run', runId: studyRunId(study.name, run.name), study, run }));
    }
    return [];
  }

  getTreeItem(node: RunsTreeNode): vscode.TreeItem {
    if (!('kind' in node)) return this.runItem(node);
    const collapsed = vscode.TreeItemCollapsibleState.Collapsed;
    switch (node.kind) {
      case 'studies':
        return treeItem(studiesGroupItem(this.studies.list()), vscode.TreeItemCollapsibleState.Expanded);
      case 'study': {
        const item = treeItem(studyTreeItem(node.study, this.studies.live(node.study.name)), node.study.results?.state === 'running' ? vscode.TreeItemCollapsibleState.Expanded : collapsed);
        item.command = { command: 'was.openStudyPanel', title: 'Open Study Panel', arguments: [node.study.name] };
        return item;
      }
      case 'study-run': {
        const cell = node.study.results?.cells.find((c) => c.id === node.run.cell);
        const item = treeItem(studyRunTreeItem(node.study.name, node.run, cell), vscode.TreeItemCollapsibleState.None);
        if (node.run.state !== 'pending' && node.run.state !== 'queued') item.command = { command: 'was.openMetricsPanel', title: 'Open Metrics Panel', arguments: [node.runId] };
        return item;
      }
    }
  }

  private runItem(run: LabRun): vscode.TreeItem {
    const shown = this.state.panelVisible ? this.state.activeRunId : null;
    const item = treeItem(runTreeItem(run, this.state.mode, Date.now(), shown), vscode.TreeItemCollapsibleState.None);
    item.command = { command: 'was.openMetricsPanel', title: 'Open Metrics Panel', arguments: [run.runId] };
    return item;
  }

  dispose(): void {
    clearTimeout(this.refreshTimer);
    this.disposables.dispose();
  }
}

function treeItem(data: RunTreeItemData, collapsible: vscode.TreeItemCollapsibleState): vscode.TreeItem {
  const item = new vscode.TreeItem(data.label, collapsible);
  item.id = data.id;
  item.description = data.description;
  item.tooltip = new vscode.MarkdownString(data.tooltip);
  item.iconPath = new vscode.ThemeIcon(data.icon.id, new vscode.ThemeColor(data.icon.color));
  item.contextValue = data.contextValue;
  return item;
}
