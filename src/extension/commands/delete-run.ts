// WAS: Delete Run: after a modal confirmation, delete a run's folder: never a live run's, nor one
// another window or a terminal holds the lock of, and only a folder that is a WAS run inside the
// runs folder (runs/run-paths.ts). A workspace may set the runs folder, so the confirmation then
// says which folder that is and that the workspace chose it.

import * as vscode from 'vscode';
import { errorMessage } from '../../shared/errors';
import { lockRefusal } from '../lab/lab-runs';
import { deletableRunProblem, deleteRunFolder } from '../runs/run-paths';
import { isActive } from '../runs/supervisor';
import { showError, type Lab } from '../workbench/lab';
import { resolveRun } from '../workbench/run-picker';
import { allowedInWorkspace } from '../workbench/trust';

export async function deleteRun(lab: Lab, arg: unknown): Promise<void> {
  if (!allowedInWorkspace(lab, 'Delete Run')) return;
  const run = await resolveRun(lab, arg, 'Delete Run', (r) => !isActive(r.status));
  if (!run) return;
  if (isActive(run.status) && !run.lockedBy) {
    void vscode.window.showWarningMessage(`WAS: ${run.runId} is ${run.status}; stop it before deleting it`);
    return;
  }
  // Not while another window or a terminal trains it (read now, and again after the confirmation).
  const locked = lockRefusal(run, 'delete');
  if (locked !== null) {
    void vscode.window.showWarningMessage(locked);
    return;
  }
  const runsDir = lab.runsDir();
  const problem = run.record !== null ? deletableRunProblem(runsDir, run.dir) : null;
  if (problem !== null) {
    await showError(lab, `WAS: not deleting ${run.runId}: ${problem}`);
    return;
  }
  const answer = await vscode.window.showWarningMessage(
    `Delete run ${run.runId}?`,
    { modal: true, detail: `Its folder ${run.dir} (metrics, checkpoints, exports inside it) is deleted permanently.${workspaceRunsFolderNote(runsDir)}` },
    'Delete',
  );
  if (answer !== 'Delete') return;
  const lockedSince = lockRefusal(run, 'delete');
  if (lockedSince !== null) {
    void vscode.window.showWarningMessage(lockedSince);
    return;
  }
  try {
    if (run.record !== null) deleteRunFolder(runsDir, run.dir);
  } catch (error) {
    await showError(lab, `WAS: could not delete ${run.dir}: ${errorMessage(error)}`);
    return;
  }
  lab.supervisor.forget(run.runId);
  lab.state.runRemoved(run.runId);
  lab.output.info(`deleted run ${run.runId} (${run.dir})`);
  lab.tree.refresh();
}

/** When the runs folder comes from this workspace's settings (not the user's own), a line that says so. */
function workspaceRunsFolderNote(runsDir: string): string {
  const setting = vscode.workspace.getConfiguration('was').inspect<string>('runsFolder');
  const fromWorkspace = setting?.workspaceFolderValue !== undefined || setting?.workspaceValue !== undefined;
  return fromWorkspace ? `\n\nThe runs folder ${runsDir} is set by this workspace's settings (was.runsFolder).` : '';
}
