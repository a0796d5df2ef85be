// The commands that act on runs: open the panel, compare, stop, resume, switch mode, delete,
// reveal. Each takes what its caller passes (nothing, a tree element, a run id) and asks with a
// quick pick when it needs a run and got none.

import * as vscode from 'vscode';
import { parseTrainerEvent, type InferenceMode, type TrainerEvent } from '../shared/protocol';
import { WEBVIEW_LIMITS } from '../shared/panel-protocol';
import { modeOf, runIdOf, runIdsOf } from './command-args';
import { resumeJob } from './job-specs';
import { showError, type Lab } from './lab';
import type { LabRun, LabRunStatus } from './lab-runs';
import { testGap } from './mode-evaluation';
import { formatPercent } from './run-progress';
import { readRunEvents } from './run-store';
import { launchJob } from './start-training';
import { isActive } from './supervisor';
import { domSearchArgs } from './trainer-args';
import { runTrainerTask } from './trainer-task';
import { runTreeItem } from './tree-items';

const RESUMABLE: readonly LabRunStatus[] = ['stopped', 'failed', 'incomplete'];

/** The run named by `arg`, or one the user picks among those `filter` admits (taken without asking when alone and `takeSingle`). */
export async function resolveRun(lab: Lab, arg: unknown, title: string, filter: (run: LabRun) => boolean = () => true, takeSingle = false): Promise<LabRun | undefined> {
  const id = runIdOf(arg);
  if (id !== undefined) {
    const run = lab.runs.get(id);
    if (!run) void vscode.window.showWarningMessage(`WAS: no run ${id} in ${lab.runsDir()}`);
    return run;
  }
  const candidates = lab.runs.list().filter(filter);
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage(`WAS: ${title}: no run to choose from`);
    return undefined;
  }
  if (candidates.length === 1 && takeSingle) return candidates[0];
  const picked = await vscode.window.showQuickPick(candidates.map((run) => runPickItem(lab, run)), { title: `WAS: ${title}`, matchOnDescription: true });
  return picked?.run;
}

export function runPickItem(lab: Lab, run: LabRun): vscode.QuickPickItem & { run: LabRun } {
  const data = runTreeItem(run, lab.state.mode);
  return { label: data.label, description: data.description, detail: `${run.runId} (${run.status})`, run };
}

export async function openMetricsPanel(lab: Lab, arg: unknown): Promise<void> {
  const id = runIdOf(arg);
  if (id !== undefined) lab.state.setActiveRun(id);
  else if (lab.state.activeRunId === null) lab.state.setActiveRun(lab.runs.defaultRunId());
  lab.panel.createOrShow();
}

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

export async function stopTraining(lab: Lab, arg: unknown): Promise<void> {
  const run = await resolveRun(lab, arg, 'Stop Training', (r) => isActive(r.status), true);
  if (!run) return;
  if (!run.job || !isActive(run.job.state)) {
    void vscode.window.showInformationMessage(`WAS: ${run.runId} is not running in this window`);
    return;
  }
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `WAS: stopping ${run.runId}` }, () => lab.supervisor.stop(run.runId));
}

export async function resumeRun(lab: Lab, arg: unknown): Promise<void> {
  const run = await resolveRun(lab, arg, 'Resume Run', (r) => RESUMABLE.includes(r.status));
  if (!run) return;
  if (run.status === 'completed') {
    void vscode.window.showInformationMessage(`WAS: ${run.runId} completed all its epochs: nothing to resume`);
    return;
  }
  if (isActive(run.status)) {
    void vscode.window.showInformationMessage(`WAS: ${run.runId} is ${run.status}`);
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
    await showError(lab, `WAS: cannot resume ${run.runId}: ${(error as Error).message}`);
  }
}

/**
 * The mode decides which accuracy leads (panel, tree, status bar) and which weights Export writes.
 * `modeArg` may name the target mode (the page sends the target, not a toggle); else it toggles.
 * For a finished run (the one named, else the followed one) whose test set has not seen that mode,
 * it is evaluated now (a deterministic DOM search) or, when the run ended early, Resume is offered.
 */
export function switchMode(lab: Lab, modeArg: unknown, runArg?: unknown): InferenceMode {
  const mode = modeOf(modeArg) ?? (lab.state.mode === 'aom' ? 'dom' : 'aom');
  lab.state.setMode(mode);
  lab.output.info(`inference mode: ${mode.toUpperCase()}`);
  const runId = runIdOf(runArg) ?? runIdOf(modeArg) ?? lab.state.activeRunId;
  const run = runId !== null && runId !== undefined ? lab.runs.get(runId) : undefined;
  if (run?.record && !(run.job && isActive(run.job.state))) void completeTestNumbers(lab, run, mode);
  return mode;
}

/** Runs whose missing test numbers are being measured, so a second switch does not start another. */
const measuring = new Set<string>();

async function completeTestNumbers(lab: Lab, run: LabRun, mode: InferenceMode): Promise<void> {
  const gap = testGap(run.record!, mode);
  if (gap.kind === 'none' || measuring.has(run.runId)) return;
  if (gap.kind === 'resume') {
    const choice = await vscode.window.showInformationMessage(`WAS: ${gap.why}. Resume it to finish training and measure it on the test set?`, 'Resume Run');
    if (choice === 'Resume Run') await resumeRun(lab, run.runId);
    return;
  }
  measuring.add(run.runId);
  try {
    const percent = `${Math.round(gap.flopsTarget * 100)}%`;
    const { ok, exit, stdout } = await runTrainerTask(
      lab,
      `WAS: measuring ${run.runId}'s DOM (at most ${percent} of the AOM FLOPs) on the test set`,
      `dom ${run.runId}`,
      domSearchArgs(run.dir, gap.flopsTarget),
    );
    if (!ok) {
      await showError(lab, `WAS: the DOM search of ${run.runId} failed: ${exit.reason ?? `exit status ${exit.code}`}`);
      return;
    }
    const event = parseLastEvent(stdout);
    if (event?.type === 'dom-search' && event.test)
      void vscode.window.showInformationMessage(
        `WAS: ${run.runId} DOM at ${percent} FLOPs: test ${formatPercent(event.test.dom)} (AOM ${formatPercent(event.test.aom)}), ${formatPercent(event.flops.dom / event.flops.aom)} of the AOM FLOPs`,
      );
    lab.state.runUpdated(run.runId);
    lab.tree.refresh();
  } finally {
    measuring.delete(run.runId);
  }
}

/** The event a `--json` command printed last, parsed; null when there is none. */
function parseLastEvent(lines: readonly string[]): TrainerEvent | null {
  const last = [...lines].reverse().find((l) => l.startsWith('{'));
  if (last === undefined) return null;
  try {
    return parseTrainerEvent(JSON.parse(last));
  } catch {
    return null;
  }
}

export async function deleteRun(lab: Lab, arg: unknown): Promise<void> {
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
    await showError(lab, `WAS: could not delete ${run.dir}: ${(error as Error).message}`);
    return;
  }
  lab.supervisor.forget(run.runId);
  lab.state.runRemoved(run.runId);
  lab.output.info(`deleted run ${run.runId} (${run.dir})`);
  lab.tree.refresh();
}

export async function revealRunFolder(lab: Lab, arg: unknown): Promise<void> {
  const run = await resolveRun(lab, arg, 'Reveal Run Folder', (r) => r.record !== null);
  if (run) await revealPath(run.dir);
}

/** Inside the workspace the explorer shows it (also in a browser); outside, the OS file manager. */
export async function revealPath(fsPath: string): Promise<void> {
  const uri = vscode.Uri.file(fsPath);
  const inWorkspace = vscode.workspace.getWorkspaceFolder(uri) !== undefined;
  await vscode.commands.executeCommand(inWorkspace ? 'revealInExplorer' : 'revealFileInOS', uri);
}
