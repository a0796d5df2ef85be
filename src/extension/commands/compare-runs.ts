// WAS: Compare Runs: overlay up to WEBVIEW_LIMITS.compareRuns other runs on the panel's charts.

import * as vscode from 'vscode';
import { WEBVIEW_LIMITS } from '../../shared/panel-protocol';
import { runIdsOf } from '../lab/command-args';
import type { Lab } from '../workbench/lab';
import { runPickItem } from '../workbench/run-picker';

export async function compareRuns(lab: Lab, clicked: unknown, selected: unknown): Promise<void> {
  let ids = runIdsOf(clicked, selected);
  if (ids.length < 2) {
    const runs = lab.runs.list().filter((r) => r.record !== null);
    const current = new Set([lab.state.activeRunId, ...lab.state.compare, ...ids]);
    const picked = await vscode.window.showQuickPick(
      runs.map((run) => ({ ...runPickItem(lab, run), picked: current.has(run.runId) })),
      { title: 'WAS: Compare Runs', placeHolder: 'Runs to overlay on the same charts', canPickMany: true, matchOnDescription: true },
    );
    if (!picked || picked.length === 0) return;
    ids = picked.map((p) => p.run.runId);
  }
  ids = ids.slice(0, WEBVIEW_LIMITS.compareRuns + 1);
  // Keep following the active run when it is among them.
  const active = lab.state.activeRunId !== null && ids.includes(lab.state.activeRunId) ? lab.state.activeRunId : ids[0];
  lab.state.setActiveRun(active);
  lab.state.setCompare(ids.filter((id) => id !== active));
  lab.panel.createOrShow();
}
