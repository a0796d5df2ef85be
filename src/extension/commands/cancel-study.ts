// WAS: Cancel Study (Slurm): `was-train study cancel <study folder> [--run <name>]`, the study's
// live Slurm job array (a study node) or one run's task (a run node), after a confirmation. A
// cancelled run stops at its next step, keeping a checkpoint; Run Study again resumes it once the
// array has ended. A study this window follows sees the cancel through its follower; the tree
// shows it from study.json. Local studies are stopped with Stop Study instead.

import * as vscode from 'vscode';
import { isObject } from '../../shared/validate';
import { cancelStudyArgs } from '../runs/study-jobs';
import type { StudyEntry } from '../runs/study-store';
import { showError, type Lab } from '../workbench/lab';
import { resolveStudy } from '../workbench/study-picker';
import { runTrainerTask } from '../workbench/trainer-task';

const isSlurm = (study: StudyEntry): boolean => study.results?.executor.kind === 'slurm';

/** A run node of the tree (`{ kind: 'study-run', study, run }`): its study's name and the run's. */
function studyRunOf(arg: unknown): { study: string; run: string } | undefined {
  if (!isObject(arg) || arg.kind !== 'study-run' || !isObject(arg.study) || !isObject(arg.run)) return undefined;
  return typeof arg.study.name === 'string' && typeof arg.run.name === 'string' ? { study: arg.study.name, run: arg.run.name } : undefined;
}

export async function cancelStudy(lab: Lab, arg: unknown): Promise<void> {
  const target = studyRunOf(arg);
  const study = target ? lab.studies.get(target.study) : await resolveStudy(lab, arg, 'Cancel Study', (s) => isSlurm(s) && s.results?.state === 'running', true);
  if (!study) return;
  if (!isSlurm(study)) {
    void vscode.window.showInformationMessage(`WAS: study ${study.name} does not run on Slurm; Stop Study stops a study on this machine`);
    return;
  }
  const what = target ? `run ${target.run} of study ${study.name}` : `every pending and running job of study ${study.name}`;
  const answer = await vscode.window.showWarningMessage(
    `Cancel ${what} on the Slurm cluster (scancel)?`,
    { modal: true, detail: 'A running run stops at its next step and keeps a checkpoint; Run Study again resumes it once the array has ended.' },
    'Cancel Jobs',
  );
  if (answer !== 'Cancel Jobs') return;
  const { ok, exit, stdout } = await runTrainerTask(lab, `WAS: cancelling ${study.name}'s Slurm jobs`, `study cancel ${study.name}`, cancelStudyArgs(study.dir, target?.run));
  if (ok) void vscode.window.showInformationMessage(`WAS: ${stdout.join('; ') || `cancelled ${what}`}`);
  else await showError(lab, `WAS: could not cancel ${what}: ${exit.reason ?? `exit status ${exit.code}`}`);
}
