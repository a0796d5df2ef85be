// WAS Lab's entry point. activate() only wires things up: no disk reads, no processes, no
// TensorFlow.js (training runs in forked dist/trainer.js processes); views read the runs folder
// when shown. Everything created here is owned by one root store in context.subscriptions.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { InferenceMode } from '../shared/protocol';
import { installedBackends } from './runs/backend-install';
import { panelActions, registerCommands } from './commands/registry';
import { Emitter } from './base/emitter';
import { EXPERIMENT_SELECTOR, ExperimentCodeLensProvider } from './workbench/experiment-codelens';
import type { Lab } from './workbench/lab';
import { LabRuns } from './lab/lab-runs';
import { LabState } from './lab/lab-state';
import { DisposableStore } from './base/lifecycle';
import { METRICS_PANEL_VIEW_TYPE, MetricsPanelHost } from './panel/metrics-panel';
import { METRICS_VIEW_ID, MetricsViewProvider } from './panel/metrics-view';
import { announceRunEnds } from './workbench/run-notifications';
import { RunStore } from './runs/run-store';
import { RunsTree } from './workbench/runs-tree';
import { readSettings, resolveRunsDir, type WasSettings } from './runs/settings';
import { StatusBar } from './workbench/status-bar';
import { TrainerSupervisor } from './runs/supervisor';

/** What activate() returns (the extension's `exports`): enough for an end-to-end test to check state. */
export interface WasLabApi {
  /** activate() start to return, in milliseconds. */
  activationMs: number;
  runsDir(): string;
  runs(): { runId: string; status: string }[];
  mode(): InferenceMode;
}

export function activate(context: vscode.ExtensionContext): WasLabApi {
  const started = performance.now();
  const root = new DisposableStore();
  context.subscriptions.push(root);
  const output = root.add(vscode.window.createOutputChannel('WAS Lab', { log: true }));

  const loadSettings = (): WasSettings => readSettings((key) => vscode.workspace.getConfiguration('was').get(key), (problem) => output.warn(problem));
  let settings = loadSettings();
  const workspaceRoot = (): string | null => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? null;
  const runsDir = (): string => resolveRunsDir(settings.runsFolder, workspaceRoot(), context.globalStorageUri.fsPath);
  const backendsFolder = (): string => path.join(context.globalStorageUri.fsPath, 'backends');

  const supervisor = root.add(
    new TrainerSupervisor({
      maxConcurrent: () => settings.maxConcurrentRuns,
      stopTimeoutMs: () => settings.stopTimeoutSeconds * 1000,
      log: (line) => output.info(line),
    }),
  );
  const runs = new LabRuns(new RunStore(), supervisor, runsDir);
  const state = root.add(new LabState(context.workspaceState));
  const settingsChanged = root.add(new Emitter<void>());
  const pageDeps = {
    extensionUri: context.extensionUri,
    runs,
    state,
    supervisor,
    actions: panelActions(() => lab),
    settings: () => settings.panel,
    onDidChangeSettings: settingsChanged.event,
    log: (line: string) => output.info(line),
  };
  const panel = root.add(new MetricsPanelHost(pageDeps));
  root.add(vscode.window.registerWebviewPanelSerializer(METRICS_PANEL_VIEW_TYPE, panel));
  root.add(vscode.window.registerWebviewViewProvider(METRICS_VIEW_ID, root.add(new MetricsViewProvider(pageDeps))));
  const tree = root.add(new RunsTree(runs, state, supervisor));
  tree.watch(runsDir());
  root.add(new StatusBar(runs, state, supervisor));
  root.add(vscode.languages.registerCodeLensProvider(EXPERIMENT_SELECTOR, new ExperimentCodeLensProvider()));

  const lab: Lab = {
    context,
    output,
    supervisor,
    runs,
    state,
    panel,
    tree,
    settings: () => settings,
    runsDir,
    backendsFolder,
    launchContext: () => {
      const dir = runsDir();
      return {
        trainerPath: vscode.Uri.joinPath(context.extensionUri, 'dist', 'trainer.js').fsPath,
        cwd: workspaceRoot() ?? path.dirname(dir),
        runsDir: dir,
        settings,
        backendPaths: installedBackends(backendsFolder()).length > 0 ? [backendsFolder()] : [],
        taken: (name) => supervisor.get(name) !== undefined || fs.existsSync(path.join(dir, name)),
      };
    },
  };
  registerCommands(lab, root);
  root.add(announceRunEnds(lab));
  root.add(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('was')) return;
      const before = runsDir();
      settings = loadSettings();
      if (runsDir() !== before) tree.watch(runsDir());
      else tree.refresh();
      settingsChanged.fire();
    }),
  );

  const activationMs = performance.now() - started;
  output.info(`WAS Lab activated in ${activationMs.toFixed(1)} ms (runs folder ${runsDir()})`);
  return {
    activationMs,
    runsDir,
    runs: () => runs.list().map((r) => ({ runId: r.runId, status: r.status })),
    mode: () => state.mode,
  };
}

// No deactivate(): disposing the supervisor (with the subscriptions) lets running trainers go,
// and each ends its run itself, cleanly, when it loses its parent (src/trainer/commands/drive.ts).
