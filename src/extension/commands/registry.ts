// Every command the extension contributes, id to handler. package.json's contributes.commands
// lists the same ids (a test checks that the two agree).

import * as vscode from 'vscode';
import { errorMessage } from '../../shared/errors';
import { pngDataUrlToBase64, type SaveFileKind } from '../../shared/panel-protocol';
import { exportWeights } from './export-weights';
import { installBackendCommand } from './install-backend';
import type { Lab } from '../workbench/lab';
import { showError } from '../workbench/lab';
import type { DisposableStore } from '../base/lifecycle';
import type { PanelActions } from '../lab/panel-connection';
import { compareRuns } from './compare-runs';
import { deleteRun } from './delete-run';
import { newExperimentFile } from './new-experiment-file';
import { openMetricsPanel } from './open-metrics-panel';
import { resumeRun } from './resume-run';
import { revealRunFolder } from './reveal-run-folder';
import { stopTraining } from './stop-training';
import { switchMode } from './switch-mode';
import { startTraining } from './start-training';
import { openStudyPanel } from './open-study-panel';
import { runStudy } from './run-study';
import { stopStudy } from './stop-study';
import { cancelStudy } from './cancel-study';
import { refreshStudy } from './refresh-study';

export const COMMAND_HANDLERS: Record<string, (lab: Lab, ...args: unknown[]) => unknown> = {
  'was.startTraining': (lab, arg) => startTraining(lab, arg),
  'was.stopTraining': (lab, arg) => stopTraining(lab, arg),
  'was.switchMode': (lab, mode, run) => switchMode(lab, mode, run),
  'was.exportWeights': (lab, run, mode) => exportWeights(lab, run, mode),
  'was.openMetricsPanel': (lab, arg) => openMetricsPanel(lab, arg),
  'was.compareRuns': (lab, clicked, selected) => compareRuns(lab, clicked, selected),
  'was.resumeRun': (lab, arg) => resumeRun(lab, arg),
  'was.deleteRun': (lab, arg) => deleteRun(lab, arg),
  'was.installTensorflowBackend': (lab) => installBackendCommand(lab),
  'was.revealRunFolder': (lab, arg) => revealRunFolder(lab, arg),
  'was.refreshRuns': (lab) => lab.tree.refresh(),
  'was.showLog': (lab) => lab.output.show(),
  'was.newExperimentFile': (lab, arg) => newExperimentFile(lab, arg),
  'was.runStudy': (lab, arg) => runStudy(lab, arg),
  'was.stopStudy': (lab, arg) => stopStudy(lab, arg),
  'was.openStudyPanel': (lab, arg) => openStudyPanel(lab, arg),
  'was.cancelStudy': (lab, arg) => cancelStudy(lab, arg),
  'was.refreshStudy': (lab, arg) => refreshStudy(lab, arg),
};

export function registerCommands(lab: Lab, store: DisposableStore): void {
  for (const [id, handler] of Object.entries(COMMAND_HANDLERS)) {
    store.add(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          return await handler(lab, ...args);
        } catch (error) {
          // A command never fails silently, and never takes the extension down.
          await showError(lab, `WAS: ${id} failed: ${errorMessage(error)}`);
          return undefined;
        }
      }),
    );
  }
}

/** The metrics page's buttons, as the same commands the palette runs. */
export function panelActions(lab: () => Lab): PanelActions {
  return {
    stop: (runId) => void vscode.commands.executeCommand('was.stopTraining', runId),
    switchMode: (mode, runId) => void vscode.commands.executeCommand('was.switchMode', mode, runId ?? undefined),
    exportWeights: (runId, mode) => void vscode.commands.executeCommand('was.exportWeights', runId, mode),
    saveFile: (kind, name, content) => void saveFile(lab(), kind, name, content),
  };
}

/** The page cannot write files: the host asks where, then writes CSV text or PNG bytes. */
async function saveFile(lab: Lab, kind: SaveFileKind, suggestedName: string, content: string): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(lab.runsDir());
  const target = await vscode.window.showSaveDialog({
    defaultUri: vscode.Uri.joinPath(folder, suggestedName),
    filters: kind === 'csv' ? { 'CSV': ['csv'] } : { 'PNG image': ['png'] },
  });
  if (!target) return;
  const bytes = kind === 'csv' ? Buffer.from(content, 'utf8') : Buffer.from(pngDataUrlToBase64(content), 'base64');
  try {
    await vscode.workspace.fs.writeFile(target, bytes);
    lab.output.info(`saved ${target.fsPath} (${bytes.length} bytes)`);
  } catch (error) {
    await showError(lab, `WAS: could not save ${target.fsPath}: ${errorMessage(error)}`);
  }
}
