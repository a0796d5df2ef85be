// WAS: Run Study: `was-train study <file> --json --studies-dir <workspace>/.was/studies`, forked from
// the workspace root, for the study file named (the CodeLens, the explorer) or picked among the
// workspace's *.study.json. The file is checked first (the message names the field); the study's
// progress is its study.json, which the Runs tree and the Study panel follow. Off in Restricted
// Mode, as training from experiment files is: the file chooses options and paths.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { STUDY_FILE_SUFFIX } from '../../shared/study';
import { filePathOf } from '../lab/command-args';
import { trainerLaunch } from '../runs/job-specs';
import { studyArgs } from '../runs/study-jobs';
import { readStudyFile, studyNameOf } from '../runs/study-store';
import { showError, type Lab } from '../workbench/lab';
import { allowedInWorkspace } from '../workbench/trust';

export async function runStudy(lab: Lab, arg: unknown): Promise<void> {
  if (!allowedInWorkspace(lab, 'Run Study')) return;
  const file = filePathOf(arg) ?? (await pickStudyFile());
  if (file === undefined) return;
  if (!file.endsWith(STUDY_FILE_SUFFIX)) throw new Error(`${path.basename(file)} is not a study file (*${STUDY_FILE_SUFFIX})`);
  const name = studyNameOf(file, readStudyFile(file));
  const studiesDir = lab.studies.studiesDir();
  const ctx = lab.launchContext();
  const job = lab.studies.jobs.start({ name, file, process: trainerLaunch(studyArgs(file, studiesDir), ctx) });
  lab.studyPanel.show(name);
  lab.tree.refresh();
  // How it ended, said once: a refused or failed study with its reason (and Show Log).
  const ended = lab.studies.jobs.onDidChange((changed) => {
    if (changed !== job || job.state === 'running' || job.state === 'stopping') return;
    ended.dispose();
    if (job.state === 'failed') void showError(lab, `WAS: study ${name} failed: ${job.reason ?? 'no reason given'}`);
    else void vscode.window.showInformationMessage(`WAS: study ${name} ${job.state}`);
  });
}

async function pickStudyFile(): Promise<string | undefined> {
  const files = await vscode.workspace.findFiles(`**/*${STUDY_FILE_SUFFIX}`, '**/node_modules/**', 200);
  if (files.length === 0) {
    void vscode.window.showInformationMessage(`WAS: Run Study: no *${STUDY_FILE_SUFFIX} file in the workspace`);
    return undefined;
  }
  const items = files
    .map((uri) => ({ label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(uri), uri }))
    .sort((a, b) => a.description.localeCompare(b.description));
  const picked = await vscode.window.showQuickPick(items, { title: 'WAS: Run Study', placeHolder: 'A study file' });
  return picked?.uri.fsPath;
}
