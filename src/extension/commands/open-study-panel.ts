// WAS: Open Study Panel: the study named (a tree node, a name) or picked, in the Study panel.

import { resolveStudy } from '../workbench/study-picker';
import type { Lab } from '../workbench/lab';

export async function openStudyPanel(lab: Lab, arg: unknown): Promise<void> {
  const study = await resolveStudy(lab, arg, 'Open Study Panel', () => true, true);
  if (study) lab.studyPanel.show(study.name);
}
