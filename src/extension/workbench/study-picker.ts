// Which study a command acts on: the one its caller named (a study name, a tree node), else one the
// user picks among the studies `filter` admits (taken without asking when alone and `takeSingle`).

import * as vscode from 'vscode';
import { isObject } from '../../shared/validate';
import { studyTreeItem } from '../lab/study-tree-items';
import type { StudyEntry } from '../runs/study-store';
import type { Lab } from './lab';

/** A study name from a string or a tree node (`{ kind: 'study', study }`). */
export function studyNameOf(arg: unknown): string | undefined {
  if (typeof arg === 'string' && arg !== '') return arg;
  if (isObject(arg) && arg.kind === 'study' && isObject(arg.study) && typeof arg.study.name === 'string') return arg.study.name;
  return undefined;
}

export async function resolveStudy(lab: Lab, arg: unknown, title: string, filter: (study: StudyEntry) => boolean = () => true, takeSingle = false): Promise<StudyEntry | undefined> {
  const name = studyNameOf(arg);
  if (name !== undefined) {
    const study = lab.studies.get(name);
    if (!study) void vscode.window.showWarningMessage(`WAS: no study ${name} in ${lab.studies.studiesDir()}`);
    return study;
  }
  const candidates = lab.studies.list().filter(filter);
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage(`WAS: ${title}: no study to choose from in ${lab.studies.studiesDir()}`);
    return undefined;
  }
  if (candidates.length === 1 && takeSingle) return candidates[0];
  const items = candidates.map((study) => {
    const data = studyTreeItem(study, lab.studies.live(study.name));
    return { label: data.label, description: data.description, detail: study.dir, study };
  });
  const picked = await vscode.window.showQuickPick(items, { title: `WAS: ${title}`, matchOnDescription: true });
  return picked?.study;
}
