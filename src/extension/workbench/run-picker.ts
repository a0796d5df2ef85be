// Which run a command acts on: the one its caller named (a tree element, a run id), else one the
// user picks in a quick pick; and how a folder is shown to the user.

import * as vscode from 'vscode';
import { runIdOf } from '../lab/command-args';
import type { LabRun } from '../lab/lab-runs';
import { runTreeItem } from '../lab/tree-items';
import type { Lab } from './lab';

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

/** Inside the workspace the explorer shows it (also in a browser); outside, the OS file manager. */
export async function revealPath(fsPath: string): Promise<void> {
  const uri = vscode.Uri.file(fsPath);
  const inWorkspace = vscode.workspace.getWorkspaceFolder(uri) !== undefined;
  await vscode.commands.executeCommand(inWorkspace ? 'revealInExplorer' : 'revealFileInOS', uri);
}
