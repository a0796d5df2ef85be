// The parts of the running extension that commands, views and pages share. Built once in
// activate(); everything in it is owned (and disposed) by the extension's root store.

import * as vscode from 'vscode';
import type { LaunchContext } from '../runs/job-specs';
import type { LabRuns } from '../lab/lab-runs';
import type { LabState } from '../lab/lab-state';
import type { MetricsPanelHost } from '../panel/metrics-panel';
import type { RunsTree } from './runs-tree';
import type { LabStudies } from '../lab/lab-studies';
import type { StudyPanelHost } from '../panel/study-panel';
import type { WasSettings } from '../runs/settings';
import type { TrainerSupervisor } from '../runs/supervisor';

export interface Lab {
  context: vscode.ExtensionContext;
  output: vscode.LogOutputChannel;
  supervisor: TrainerSupervisor;
  runs: LabRuns;
  state: LabState;
  panel: MetricsPanelHost;
  tree: RunsTree;
  /** The studies under <workspace>/.was/studies and this window's study processes. */
  studies: LabStudies;
  studyPanel: StudyPanelHost;
  settings(): WasSettings;
  /** Absolute runs folder (the `was.runsFolder` setting resolved against the workspace). */
  runsDir(): string;
  /** Where new trainers start and with what (settings, installed backends, names in use). */
  launchContext(): LaunchContext;
  /** Folder Install TensorFlow Backend installs into. */
  backendsFolder(): string;
}

/** An error message with "Show Log", which opens the output channel. */
export async function showError(lab: Lab, message: string): Promise<void> {
  lab.output.error(message);
  const choice = await vscode.window.showErrorMessage(message, 'Show Log');
  if (choice === 'Show Log') lab.output.show(true);
}
