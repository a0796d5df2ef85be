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
import { EXPERIMENT_SELECTOR, FileCodeLensProvider, RUN_STUDY_LENS, STUDY_SELECTOR, TRAIN_LENS } from './workbench/experiment-codelens';
import { ExperimentSchemaProvider } from './workbench/experiment-schema';
import { SCHEMA_SCHEME } from './lab/experiment-template';
import type { Lab } from './workbench/lab';
import type { LaunchContext } from './runs/job-specs';
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
import { ContextKeysController } from './workbench/context-keys';
import { TrainerSupervisor } from './runs/supervisor';
import { STUDIES_DIR } from '../shared/study';
import { studyRunId } from '../shared/study-panel-protocol';
import { LabStudies } from './lab/lab-studies';
import { StudyRunFollower } from './lab/study-run-follower';
import { StudyJobs } from './runs/study-jobs';
import { STUDY_PANEL_VIEW_TYPE, StudyPanelHost } from './panel/study-panel';

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
  const settings = new LiveSettings(context, output);
  const lab = createLab(context, root, output, settings);
  registerCommands(lab, root);
  root.add(announceRunEnds(lab));
  root.add(watchSettings(settings, lab.tree));

  const activationMs = performance.now() - started;
  output.info(`WAS Lab activated in ${activationMs.toFixed(1)} ms (runs folder ${settings.runsDir()})`);
  return {
    activationMs,
    runsDir: () => settings.runsDir(),
    runs: () => lab.runs.list().map((r) => ({ runId: r.runId, status: r.status })),
    mode: () => lab.state.mode,
  };
}

/** The settings as last read, and the folders they and the workspace decide. */
class LiveSettings {
  current: WasSettings;
  /** Fired after the settings were read again (the pages re-read their panel settings). */
  readonly changed = new Emitter<void>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly output: vscode.LogOutputChannel,
  ) {
    this.current = this.load();
  }

  /** Reads the `was.*` settings again; a bad value is logged and its default used. */
  reload(): void {
    this.current = this.load();
  }

  workspaceRoot(): string | null {
    return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? null;
  }

  runsDir(): string {
    return resolveRunsDir(this.current.runsFolder, this.workspaceRoot(), this.context.globalStorageUri.fsPath);
  }

  /** <workspace>/.was/studies, where `was-train study` (Run Study) writes; without a workspace, under global storage. */
  studiesDir(): string {
    return path.join(this.workspaceRoot() ?? this.context.globalStorageUri.fsPath, STUDIES_DIR);
  }

  backendsFolder(): string {
    return path.join(this.context.globalStorageUri.fsPath, 'backends');
  }

  private load(): WasSettings {
    return readSettings((key) => vscode.workspace.getConfiguration('was').get(key), (problem) => this.output.warn(problem));
  }
}

/** The supervisor, the run list and state, and every view; registers the views' providers. */
function createLab(context: vscode.ExtensionContext, root: DisposableStore, output: vscode.LogOutputChannel, settings: LiveSettings): Lab {
  const runsDir = (): string => settings.runsDir();
  const supervisor = root.add(
    new TrainerSupervisor({
      maxConcurrent: () => settings.current.maxConcurrentRuns,
      stopTimeoutMs: () => settings.current.stopTimeoutSeconds * 1000,
      log: (line) => output.info(line),
    }),
  );
  const { studies, studyPanel } = createStudies(context, root, output, settings);
  const store = new RunStore();
  const runs = new LabRuns(store, supervisor, runsDir, store.metrics, (runId) => studies.runDir(runId));
  const state = root.add(new LabState(context.workspaceState));
  root.add(new StudyRunFollower(state, (runId) => studies.runDir(runId), studies.onDidChange));
  root.add(settings.changed);
  const pageDeps = {
    extensionUri: context.extensionUri,
    runs,
    state,
    supervisor,
    actions: panelActions(() => lab),
    settings: () => settings.current.panel,
    onDidChangeSettings: settings.changed.event,
    log: (line: string) => output.info(line),
  };
  const panel = root.add(new MetricsPanelHost(pageDeps));
  root.add(vscode.window.registerWebviewPanelSerializer(METRICS_PANEL_VIEW_TYPE, panel));
  root.add(vscode.window.registerWebviewViewProvider(METRICS_VIEW_ID, root.add(new MetricsViewProvider(pageDeps))));
  const tree = root.add(new RunsTree(runs, state, supervisor, studies));
  tree.watch(runsDir());
  root.add(new StatusBar(runs, state, supervisor));
  root.add(new ContextKeysController(runs, state, tree, supervisor, studies));
  root.add(vscode.languages.registerCodeLensProvider(EXPERIMENT_SELECTOR, new FileCodeLensProvider(TRAIN_LENS)));
  root.add(vscode.workspace.registerTextDocumentContentProvider(SCHEMA_SCHEME, new ExperimentSchemaProvider(context.extensionUri)));

  const lab: Lab = {
    context,
    output,
    supervisor,
    runs,
    state,
    panel,
    tree,
    studies,
    studyPanel,
    settings: () => settings.current,
    runsDir,
    backendsFolder: () => settings.backendsFolder(),
    launchContext: () => launchContext(context, settings, supervisor),
  };
  return lab;
}

/** The studies (folders under .was/studies, this window's study processes), the Study panel and the study files' code lens. */
function createStudies(context: vscode.ExtensionContext, root: DisposableStore, output: vscode.LogOutputChannel, settings: LiveSettings): { studies: LabStudies; studyPanel: StudyPanelHost } {
  const studyJobs = root.add(new StudyJobs((line) => output.info(line), () => settings.current.stopTimeoutSeconds * 1000));
  const studies = root.add(new LabStudies(studyJobs, () => settings.studiesDir()));
  const studyPanel = root.add(
    new StudyPanelHost({
      extensionUri: context.extensionUri,
      read: (name) => studies.get(name),
      live: (name) => studies.live(name),
      onDidChange: studies.onDidChange,
      openRun: (study, run) => void vscode.commands.executeCommand('was.openMetricsPanel', studyRunId(study, run)),
      log: (line) => output.info(line),
    }),
  );
  root.add(vscode.window.registerWebviewPanelSerializer(STUDY_PANEL_VIEW_TYPE, studyPanel));
  root.add(vscode.languages.registerCodeLensProvider(STUDY_SELECTOR, new FileCodeLensProvider(RUN_STUDY_LENS)));
  return { studies, studyPanel };
}

/** Where a new trainer starts and with what: read when a run is launched. */
function launchContext(context: vscode.ExtensionContext, settings: LiveSettings, supervisor: TrainerSupervisor): LaunchContext {
  const dir = settings.runsDir();
  const backends = settings.backendsFolder();
  return {
    trainerPath: vscode.Uri.joinPath(context.extensionUri, 'dist', 'trainer.js').fsPath,
    cwd: settings.workspaceRoot() ?? path.dirname(dir),
    runsDir: dir,
    settings: settings.current,
    backendPaths: installedBackends(backends).length > 0 ? [backends] : [],
    taken: (name) => supervisor.get(name) !== undefined || fs.existsSync(path.join(dir, name)),
  };
}

/** A `was.*` change: read the settings again, watch a new runs folder or refresh, tell the pages. */
function watchSettings(settings: LiveSettings, tree: RunsTree): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((e) => {
    if (!e.affectsConfiguration('was')) return;
    const before = settings.runsDir();
    settings.reload();
    if (settings.runsDir() !== before) tree.watch(settings.runsDir());
    else tree.refresh();
    settings.changed.fire();
  });
}

// No deactivate(): disposing the supervisor (with the subscriptions) lets running trainers go,
// and each ends its run itself, cleanly, when it loses its parent (src/trainer/commands/drive.ts).
