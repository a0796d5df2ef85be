// WAS: Stop Training: ask a trainer of this window to stop at its next step (killed after the timeout).

import * as vscode from 'vscode';
import { isActive } from '../runs/supervisor';
import type { Lab } from '../workbench/lab';
import { resolveRun } from '../workbench/run-picker';

export async function stopTraining(lab: Lab, arg: unknown): Promise<void> {
  const run = await resolveRun(lab, arg, 'Stop Training', (r) => isActive(r.status), true);
  if (!run) return;
  if (!run.job || !isActive(run.job.state)) {
    void vscode.window.showInformationMessage(`WAS: ${run.runId} is not running in this window`);
    return;
  }
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `WAS: stopping ${run.runId}` }, () => lab.supervisor.stop(run.runId));
}
