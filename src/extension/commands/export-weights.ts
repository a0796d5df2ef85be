// WAS: Export Weights: `was-train export <run> --mode aom|dom --out <folder>` writes the chosen
// mode's weights as a TensorFlow.js LayersModel folder. The mode is the current one unless the
// caller names it (the page's button sends the mode it shows).

import * as path from 'node:path';
import * as vscode from 'vscode';
import { flopsTargetProblem } from '../../shared/config';
import type { InferenceMode } from '../../shared/protocol';
import { modeOf } from '../lab/command-args';
import { showError, type Lab } from '../workbench/lab';
import { resolveRun, revealPath } from '../workbench/run-picker';
import { isActive } from '../runs/supervisor';
import { exportArgs } from '../runs/trainer-args';
import { runTrainerTask } from '../workbench/trainer-task';
import { allowedInWorkspace } from '../workbench/trust';

export async function exportWeights(lab: Lab, runArg: unknown, modeArg: unknown): Promise<string | undefined> {
  if (!allowedInWorkspace(lab, 'Export Weights')) return undefined;
  const run = await resolveRun(lab, runArg, 'Export Weights', (r) => r.record !== null && !(r.job && isActive(r.job.state)));
  if (!run) return undefined;
  if (run.job && isActive(run.job.state)) {
    void vscode.window.showInformationMessage(`WAS: ${run.runId} is still ${run.job.state}; export it when it has ended`);
    return undefined;
  }
  const mode: InferenceMode = modeOf(modeArg) ?? lab.state.mode;
  const MODE = mode.toUpperCase();
  const out = await vscode.window.showInputBox({
    title: `WAS: Export ${MODE} weights of ${run.runId}`,
    prompt: 'Folder for model.json, the weight files and was-export.json (it must not exist yet)',
    value: path.join(path.dirname(lab.runsDir()), 'exports', `${run.runId}-${mode}`),
    validateInput: (text) => (text.trim() === '' ? 'a folder path' : undefined),
  });
  if (out === undefined) return undefined;
  const outDir = path.resolve(lab.launchContext().cwd, out.trim());
  let flopsTarget: number | undefined;
  if (mode === 'dom' && run.record?.domFlopsTarget === null) {
    // The run was trained without a FLOPs target: the deterministic DOM needs one.
    flopsTarget = await askFlopsTarget(`WAS: Export DOM weights of ${run.runId}`);
    if (flopsTarget === undefined) return undefined;
  }
  const { ok, exit } = await runTrainerTask(lab, `WAS: exporting ${MODE} weights of ${run.runId}`, `export ${run.runId}`, exportArgs(run.dir, mode, outDir, flopsTarget));
  if (!ok) {
    await showError(lab, `WAS: export of ${run.runId} (${MODE}) failed: ${exit.reason ?? `exit status ${exit.code}`}`);
    return undefined;
  }
  lab.output.info(`exported ${MODE} weights of ${run.runId} to ${outDir}`);
  void vscode.window.showInformationMessage(`WAS: exported ${MODE} weights of ${run.runId} to ${outDir}`, 'Reveal').then((choice) => {
    if (choice === 'Reveal') void revealPath(outDir);
  });
  return outDir;
}

/** A FLOPs target for the deterministic DOM, as a fraction of the AOM FLOPs. */
export async function askFlopsTarget(title: string): Promise<number | undefined> {
  const text = await vscode.window.showInputBox({
    title,
    prompt: 'FLOPs target for the deterministic DOM: at most this fraction of the AOM FLOPs (e.g. 0.7 for 70%)',
    value: '0.7',
    validateInput: (t) => (t.trim() !== '' && flopsTargetProblem(Number(t)) === null ? undefined : 'a number above 0, at most 1'),
  });
  return text === undefined ? undefined : Number(text);
}
