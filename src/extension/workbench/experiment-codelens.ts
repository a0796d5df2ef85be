// "Train" above every experiment file (*.was.json): runs WAS: Start Training with that file; "Run
// Study" above every study file (*.study.json): runs WAS: Run Study with it.

import * as vscode from 'vscode';

/** Files named `*<suffix>` on disk, as JSON or JSON with comments. */
function filesEndingIn(suffix: string): vscode.DocumentSelector {
  return ['json', 'jsonc'].map((language) => ({ scheme: 'file', language, pattern: `**/*${suffix}` }));
}

export const EXPERIMENT_SELECTOR = filesEndingIn('.was.json');
export const STUDY_SELECTOR = filesEndingIn('.study.json');

/** One lens on a file's first line that runs `command` with the file. */
export class FileCodeLensProvider implements vscode.CodeLensProvider {
  constructor(private readonly lens: { title: string; tooltip: string; command: string }) {}

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    return [new vscode.CodeLens(new vscode.Range(0, 0, 0, 0), { ...this.lens, arguments: [document.uri] })];
  }
}

export const TRAIN_LENS = { title: '$(play) Train', tooltip: 'WAS: Start Training with this experiment file', command: 'was.startTraining' };
export const RUN_STUDY_LENS = { title: '$(beaker) Run Study', tooltip: 'WAS: Run Study with this study file', command: 'was.runStudy' };
