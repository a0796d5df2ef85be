// WAS: Stop Study: ask a study process of this window to stop (SIGINT, as Ctrl-C in a terminal):
// it stops its runs, keeping them, and exits; `was-train study` on the same file resumes it.

import * as vscode from 'vscode';
import { resolveStudy } from '../workbench/study-picker';
import type { Lab } from '../workbench/lab';

export async function stopStudy(lab: Lab, arg: unknown): Promise<void> {
  const study = await resolveStudy(lab, arg, 'Stop Study', (s) => lab.studies.live(s.name), true);
  if (!study) return;
  if (!lab.studies.jobs.stop(study.name)) void vscode.window.showInformationMessage(`WAS: study ${study.name} is not running in this window`);
}
