// WAS: Delete Run: after a modal confirmation, delete a run's folder (never a live run's).

import * as vscode from 'vscode';
import { errorMessage } from '../../shared/errors';
import { isActive } from '../runs/supervisor';
import { showError, type Lab } from '../workbench/lab';
import { resolveRun } from '../workbench/run-picker';
import { allowedInWorkspace } from '../workbench/trust';

export async function deleteRun(lab: Lab, arg: unknown): Promise<void> {
  if (!allowedInWorkspace(lab, 'Delete Run')) return;
  const run = await resolveRun(lab, arg, 'Delete Run', (r) => !isActive(r.status));
  if (!run) return;
  if (isActive(run.status)) {
    void vscode.window.showWarningMessage(`WAS: ${run.runId} is ${run.status}; stop it before deleting it`);
    return;
  }
  const answer = await vscode.window.showWarningMessage(
    `Delete run ${run.runId}?`,
    { modal: true, detail: `Its folder ${run.dir} (metrics, checkpoints, exports inside it) is deleted permanently.` },
    'Delete',
  );
  if (answer !== 'Delete') return;
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
