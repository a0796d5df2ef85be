// WAS: Open Metrics Panel: follow the run named (or the default one) in the metrics panel.

import { runIdOf } from '../lab/command-args';
import type { Lab } from '../workbench/lab';

export async function openMetricsPanel(lab: Lab, arg: unknown): Promise<void> {
  const id = runIdOf(arg);
  if (id !== undefined) lab.state.setActiveRun(id);
  else if (lab.state.activeRunId === null) lab.state.setActiveRun(lab.runs.defaultRunId());
  lab.panel.createOrShow();
}
