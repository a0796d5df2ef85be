// "Train" above every experiment file (*.was.json): runs WAS: Start Training with that file; "Run
// Study" above every study file (*.study.json): runs WAS: Run Study with it.

import * as vscode from 'vscode';

export const EXPERIMENT_SELECTOR: vscode.DocumentSelector = [
  { scheme: 'file', language: 'json', pattern: '**/*.was.json' },
  { scheme: 'file', language: 'jsonc', pattern: '**/*.was.json' },
];

export class ExperimentCodeLensProvider implements vscode.CodeLensProvider {
  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const top = new vscode.Range(0, 0, 0, 0);
    return [
      new vscode.CodeLens(top, { title: '$(play) Train', tooltip: 'WAS: Start Training with this experiment file', command: 'was.startTraining', arguments: [document.uri] }),
    ];
  }
}

export const STUDY_SELECTOR: vscode.DocumentSelector = [
  { scheme: 'file', language: 'json', pattern: '**/*.study.json' },
  { scheme: 'file', language: 'jsonc', pattern: '**/*.study.json' },
];

export class StudyCodeLensProvider implements vscode.CodeLensProvider {
  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const top = new vscode.Range(0, 0, 0, 0);
    return [new vscode.CodeLens(top, { title: '$(beaker) Run Study', tooltip: 'WAS: Run Study with this study file', command: 'was.runStudy', arguments: [document.uri] })];
  }
}
