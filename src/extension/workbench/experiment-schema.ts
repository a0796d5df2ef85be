// Serves the experiment schema at `was-lab:/was-experiment.schema.json`, the `$schema` that New
// Experiment File and the snippets write (lab/experiment-template.ts): VS Code's JSON support
// opens a `$schema` of a scheme it does not fetch itself as a document, which this provides from
// the extension's own dist/was-experiment.schema.json (read when asked, not at activation).
// Opening such a document activates the extension first (`onFileSystem:was-lab` in package.json).

import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { SCHEMA_PATH } from '../lab/experiment-template';

export class ExperimentSchemaProvider implements vscode.TextDocumentContentProvider {
  constructor(private readonly extensionUri: vscode.Uri) {}

  provideTextDocumentContent(uri: vscode.Uri): string | undefined {
    if (uri.path !== SCHEMA_PATH) return undefined;
    return fs.readFileSync(vscode.Uri.joinPath(this.extensionUri, 'dist', 'was-experiment.schema.json').fsPath, 'utf8');
  }
}
