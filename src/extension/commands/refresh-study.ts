// WAS: Refresh Study from Slurm: `was-train study status <study folder>` for a study on Slurm that
// no process of this window follows (Stop Study, a closed window, another machine submitted it):
// it reads the cluster and the run folders and, with no study process holding the study, rewrites
// study.json, which the Runs tree and the Study panel follow. A followed study needs none.

import * as vscode from 'vscode';
import { studyStatusArgs } from '../runs/study-jobs';
import type { StudyEntry } from '../runs/study-store';
import { showError, type Lab } from '../workbench/lab';
import { resolveStudy } from '../workbench/study-picker';
import { runTrainerTask } from '../workbench/trainer-task';

const onSlurm = (study: StudyEntry): boolean => study.results?.executor.kind === 'slurm';

export async function refreshStudy(lab: Lab, arg: unknown): Promise<void> {
  const study = await resolveStudy(lab, arg, 'Refresh Study from Slurm', (s) => onSlurm(s) && !lab.studies.live(s.name), true);
  if (!study) return;
  if (!onSlurm(study)) {
    void vscode.window.showInformationMessage(`WAS: study ${study.name} does not run on Slurm; its study.json is kept current by its own process`);
    return;
  }
  const { ok, exit, stdout } = await runTrainerTask(lab, `WAS: reading ${study.name} from Slurm`, `study status ${study.name}`, studyStatusArgs(study.dir));
  if (!ok) await showError(lab, `WAS: could not read study ${study.name} from Slurm: ${exit.reason ?? `exit status ${exit.code}`}`);
  else void vscode.window.showInformationMessage(`WAS: ${stdout[0] ?? `study ${study.name} read from Slurm`}`);
  lab.tree.refresh();
}
