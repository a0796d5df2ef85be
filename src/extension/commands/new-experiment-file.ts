// WAS: New Experiment File: opens a new, unsaved `*.was.json` with a starting config, named in the
// folder the explorer was clicked on (else the first workspace folder; with no folder, an untitled
// JSON document). Nothing is written until the user saves it, so it works in Restricted Mode too.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { filePathOf } from '../lab/command-args';
import { EXPERIMENT_SUFFIX, experimentNameProblem, newExperimentText, suggestExperimentName } from '../lab/experiment-template';
import type { Lab } from '../workbench/lab';

export async function newExperimentFile(_lab: Lab, arg: unknown): Promise<vscode.TextEditor | undefined> {
  const folder = folderOf(arg) ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (folder === undefined) {
    const document = await vscode.workspace.openTextDocument({ language: 'json', content: newExperimentText() });
    return vscode.window.showTextDocument(document);
  }
  const taken = (name: string): boolean => fs.existsSync(path.join(folder, name)) || vscode.workspace.textDocuments.some((d) => d.uri.scheme === 'untitled' && d.uri.fsPath === path.join(folder, name));
  const suggested = suggestExperimentName(taken);
  const name = await vscode.window.showInputBox({
    title: 'WAS: New Experiment File',
    prompt: `In ${vscode.workspace.asRelativePath(folder)}; it opens unsaved: save it to keep it`,
    value: suggested,
    valueSelection: [0, suggested.length - EXPERIMENT_SUFFIX.length],
    validateInput: (text) => experimentNameProblem(text, taken) ?? undefined,
  });
  if (name === undefined) return undefined;
  const document = await vscode.workspace.openTextDocument(vscode.Uri.file(path.join(folder, name.trim())).with({ scheme: 'untitled' }));
  const editor = await vscode.window.showTextDocument(document);
  await editor.edit((edit) => edit.insert(new vscode.Position(0, 0), newExperimentText()));
  return editor;
}

/** The folder of an explorer click: the folder itself, or a file's folder. */
function folderOf(arg: unknown): string | undefined {
  const file = filePathOf(arg);
  if (file === undefined) return undefined;
  return fs.statSync(file, { throwIfNoEntry: false })?.isDirectory() ? file : path.dirname(file);
}
