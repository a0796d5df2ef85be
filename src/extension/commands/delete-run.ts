// WAS: Delete Run: after a modal confirmation, delete a run's folder (never a live run's, nor one
// another window or a terminal holds the lock of).

import * as vscode from 'vscode';
import { errorMessage } from '../../shared/errors';
import { lockRefusal } from '../lab/lab-runs';
import { isActive } from '../runs/supervisor';
import { showError, type Lab } from '../workbench/lab';
import { resolveRun } from '../workbench/run-picker';

export async function deleteRun(lab: Lab, arg: unknown): Promise<void> {
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
  const answer = await vscode.window.showWarningMessage(
    `Delete run ${run.runId}?`,
    { modal: true, detail: `Its folder ${run.dir} (metrics, checkpoints, exports inside it) is deleted permanently.` },
    'Delete',
  );
  if (answer !== 'Delete') return;
  const lockedSince = lockRefusal(run, 'delete');
  if (lockedSince !== null) {
    void vscode.window.showWarningMessage(lockedSince);
    return;
  }
  try {
    if (run.record !== null) await vscode.workspace.fs.delete(vscode.Uri.file(run.dir), { recursive: true, useTrash: false });
  } catch (error) {
    await showError(lab, `WAS: could not delete ${run.dir}: ${errorMessage(error)}`);
    return;
  }
  lab.supervisor.forget(run.runId);
  lab.state.runRemoved(run.runId);
  lab.output.info(`deleted run ${run.runId} (${run.dir})`);
  lab.tree.refresh();
}
