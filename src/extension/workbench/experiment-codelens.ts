// "Train" above every experiment file (*.was.json): runs WAS: Start Training with that file.

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
