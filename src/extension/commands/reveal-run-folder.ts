// WAS: Reveal Run Folder.

import type { Lab } from '../workbench/lab';
import { resolveRun, revealPath } from '../workbench/run-picker';

export async function revealRunFolder(lab: Lab, arg: unknown): Promise<void> {
  const run = await resolveRun(lab, arg, 'Reveal Run Folder', (r) => r.record !== null);
  if (run) await revealPath(run.dir);
}
