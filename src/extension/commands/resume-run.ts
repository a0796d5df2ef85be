// WAS: Resume Run: continue a stopped, failed or killed run from its last checkpoint.

import * as vscode from 'vscode';
import { errorMessage } from '../../shared/errors';
import { lockRefusal, type LabRunStatus } from '../lab/lab-runs';
import { resumeJob } from '../runs/job-specs';
import { readRunEvents } from '../runs/run-store';
import { isActive } from '../runs/supervisor';
import { launchJob } from '../workbench/launch-job';
import { showError, type Lab } from '../workbench/lab';
import { resolveRun } from '../workbench/run-picker';
import { allowedInWorkspace } from '../workbench/trust';

const RESUMABLE: readonly LabRunStatus[] = ['stopped', 'failed', 'incomplete'];

export async function resumeRun(lab: Lab, arg: unknown): Promise<void> {
  if (!allowedInWorkspace(lab, 'Resume Run')) return;
  const run = await resolveRun(lab, arg, 'Resume Run', (r) => RESUMABLE.includes(r.status));
  if (!run) return;
  if (run.status === 'completed') {
    void vscode.window.showInformationMessage(`WAS: ${run.runId} completed all its epochs: nothing to resume`);
    return;
  }
  if (isActive(run.status) && !run.lockedBy) {
    void vscode.window.showInformationMessage(`WAS: ${run.runId} is ${run.status}`);
    return;
  }
  // A second writer would interleave its lines with the first's (the trainer refuses it too).
  const locked = lockRefusal(run, 'resume');
  if (locked !== null) {
    void vscode.window.showWarningMessage(locked);
    return;
  }
  const record = run.record;
  const spec = resumeJob(
    { runId: run.runId, dir: run.dir, model: record?.model ?? null, dataset: record?.dataset ?? null, transform: record?.transform ?? null },
    readRunEvents(run.dir).events,
    lab.launchContext(),
  );
  try {
    launchJob(lab, spec);
  } catch (error) {
    await showError(lab, `WAS: cannot resume ${run.runId}: ${errorMessage(error)}`);
  }
}
