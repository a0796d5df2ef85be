// What the Runs tree shows for studies, as plain data (workbench/runs-tree.ts makes TreeItems):
// a "Studies" group, a node per study (name, state, runs done of all) and one per run of it (its
// cell's settings, state, accuracies and gain), with the icons runs have. Context values for the
// menus in package.json: `wasStudy.<state>[.slurm][.live]`, `wasStudyRun.<state>[.slurm]` (a
// study run by the Slurm executor: its runs show their Slurm task's state, and Cancel Study applies).

import { percent, points, settingsText } from '../../shared/format';
import { STUDY_RESULTS_FILE, type StudyCell, type StudyResults, type StudyRun, type StudyRunState, type StudySlurmTask } from '../../shared/study';
import { studyRunId } from '../../shared/study-panel-protocol';
import type { StudyEntry } from '../runs/study-store';
import { RUN_ICONS, type RunTreeItemData } from './tree-items';

/** A run's icons, and one of its own for a run not started yet. */
const STUDY_RUN_ICONS: Record<StudyRunState, { id: string; color: string }> = {
  pending: { id: 'circle-outline', color: 'disabledForeground' },
  queued: RUN_ICONS.queued,
  running: RUN_ICONS.running,
  completed: RUN_ICONS.completed,
  stopped: RUN_ICONS.stopped,
  failed: RUN_ICONS.failed,
};

const STUDY_ICONS = {
  running: { id: 'sync~spin', color: 'charts.blue' },
  completed: { id: 'beaker', color: 'testing.iconPassed' },
  stopped: { id: 'debug-pause', color: 'charts.yellow' },
  failed: { id: 'error', color: 'testing.iconFailed' },
  unreadable: { id: 'warning', color: 'charts.orange' },
} as const;

export const STUDIES_GROUP_ID = 'was-studies';

export function studiesGroupItem(studies: readonly StudyEntry[]): RunTreeItemData {
  const running = studies.filter((s) => s.results?.state === 'running').length;
  return {
    id: STUDIES_GROUP_ID,
    label: 'Studies',
    description: `${studies.length}${running > 0 ? ` · ${running} running` : ''}`,
    tooltip: 'Studies: a grid of settings times seeds (`*.study.json`, WAS: Run Study), each in `.was/studies/<name>`.',
    icon: { id: 'beaker', color: 'foreground' },
    contextValue: 'wasStudies',
  };
}

/** Runs that ended (completed, stopped, failed) of all runs. */
export function studyProgress(runs: readonly StudyRun[]): { done: number; total: number } {
  return { done: runs.filter((r) => r.state === 'completed' || r.state === 'stopped' || r.state === 'failed').length, total: runs.length };
}

/** `live`: this window's study process runs it (Stop Study applies). */
export function studyTreeItem(study: StudyEntry, live: boolean): RunTreeItemData {
  const results = study.results;
  if (results === null) {
    return {
      id: `study:${study.name}`,
      label: study.name,
      description: live ? 'starting' : 'unreadable',
      tooltip: `**${study.name}**\n\n${live ? 'Starting: ' : ''}⚠ ${study.problem ?? `no ${STUDY_RESULTS_FILE}`}\n\nFolder: \`${study.dir}\``,
      icon: live ? STUDY_ICONS.running : STUDY_ICONS.unreadable,
      contextValue: `wasStudy.unreadable${live ? '.live' : ''}`,
    };
  }
  const { done, total } = studyProgress(results.runs);
  const failed = results.runs.filter((r) => r.state === 'failed').length;
  // study.json says running, but no process of this window runs it: another process does, or it was killed.
  const state = results.state;
  const description = [state === 'completed' ? '' : state, `${done}/${total} runs`, failed > 0 ? `${failed} failed` : '', results.executor.kind === 'slurm' ? 'Slurm' : ''].filter((s) => s !== '').join(' · ');
  const slurm = results.executor.kind === 'slurm';
  const lines = [
    `**${results.name}**`,
    results.study.description !== undefined ? String(results.study.description) : '',
    `State: ${state}${live ? ' (in this window)' : ''} · ${done} of ${total} runs ended${failed > 0 ? `, ${failed} failed` : ''}`,
    slurm ? slurmStudyLine(results, live) : '',
    `Cells: ${results.cells.length} · wall time ${Math.round(results.wallSec)} s`,
    `Study file: \`${results.file}\``,
    `Folder: \`${study.dir}\``,
  ];
  return {
    id: `study:${study.name}`,
    label: study.name,
    description,
    tooltip: lines.filter((l) => l !== '').join('\n\n'),
    icon: STUDY_ICONS[state],
    contextValue: `wasStudy.${state}${slurm ? '.slurm' : ''}${live ? '.live' : ''}`,
  };
}

/** The study's Slurm arrays, and what following them means here. */
function slurmStudyLine(results: StudyResults, live: boolean): string {
  const arrays = [...new Set(results.runs.flatMap((r) => (r.slurm ? [r.slurm.arrayJobId] : [])))];
  const following = live ? 'followed by this window' : results.state === 'running' ? 'not followed here: `was-train study status` reads the cluster and updates this' : '';
  return `On Slurm${arrays.length > 0 ? `: job array ${arrays.join(', ')}` : ''}${following ? ` (${following})` : ''} · WAS: Cancel Study cancels its jobs`;
}

/** A run's Slurm task in a few words: `RUNNING`, `PENDING (Resources)` is the reason's, `FAILED 1:0`. */
export function slurmTaskText(task: StudySlurmTask): string {
  const ended = !['PENDING', 'RUNNING', 'COMPLETING', 'CONFIGURING', 'SUSPENDED'].includes(task.state);
  return `Slurm ${task.state}${ended && task.state !== 'COMPLETED' ? ` ${task.exitCode}:${task.signal}` : ''}`;
}

/** "model=lenet, was.transform=shift": a cell's grid values. */

export function studyRunTreeItem(study: string, run: StudyRun, cell: StudyCell | undefined): RunTreeItemData {
  const result = run.result;
  const status = run.state === 'running' ? `epoch ${run.epochsCompleted}/${run.epochs}` : run.state === 'completed' ? '' : run.state;
  const accuracy = result ? `AOM ${percent(result.aom)} · DOM ${percent(result.dom)}${result.gain ? ` · gain ${points(result.gain.aom)} / ${points(result.gain.dom)}` : ''}` : '';
  const lines = [
    `**${run.name}**`,
    `Cell ${run.cell}${cell ? `: ${settingsText(cell.settings)}` : ''} · seed ${run.seed}`,
    `State: ${run.state}${run.reason ? ` (${run.reason})` : ''}`,
    run.slurm ? `Slurm: task ${run.slurm.arrayJobId}_${run.slurm.taskId} (job ${run.slurm.jobId}), ${run.slurm.state}, exit code ${run.slurm.exitCode}:${run.slurm.signal}` : '',
    result ? `Test: ${accuracy}${result.baseline !== null ? ` · baseline ${percent(result.baseline)}` : ''}` : '',
  ];
  return {
    id: `study:${studyRunId(study, run.name)}`,
    label: `${run.cell} · s${run.seed}${cell ? ` · ${settingsText(cell.settings)}` : ''}`,
    description: [status, run.slurm && run.state !== 'completed' ? slurmTaskText(run.slurm) : '', accuracy].filter((s) => s !== '').join(' · '),
    tooltip: lines.filter((l) => l !== '').join('\n\n'),
    icon: STUDY_RUN_ICONS[run.state],
    contextValue: `wasStudyRun.${run.state}${run.slurm ? '.slurm' : ''}`,
  };
}
