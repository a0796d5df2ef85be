// WAS: Switch Mode (AOM/DOM), and measuring the mode's missing test numbers for a finished run.

import * as vscode from 'vscode';
import { parseTrainerEvent, type InferenceMode, type TrainerEvent } from '../../shared/protocol';
import { modeOf, runIdOf } from '../lab/command-args';
import type { LabRun } from '../lab/lab-runs';
import { percent as formatPercent } from '../../shared/format';
import { testGap } from '../runs/mode-evaluation';
import { isActive } from '../runs/supervisor';
import { domSearchArgs } from '../runs/trainer-args';
import { showError, type Lab } from '../workbench/lab';
import { runTrainerTask } from '../workbench/trainer-task';
import { allowedInWorkspace } from '../workbench/trust';

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
  // The mode itself switches in any workspace; measuring it starts a trainer on the run folder.
  if (!allowedInWorkspace(lab, `measuring ${run.runId}'s ${mode.toUpperCase()} on the test set`)) return;
  if (gap.kind === 'resume') {
    const choice = await vscode.window.showInformationMessage(`WAS: ${gap.why}. Resume it to finish training and measure it on the test set?`, 'Resume Run');
    if (choice === 'Resume Run') await vscode.commands.executeCommand('was.resumeRun', run.runId);
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
