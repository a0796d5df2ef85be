// The context keys WAS Lab sets for package.json's `when` clauses, decided from the lab's state as
// plain data (the workbench layer only hands them to VS Code's `setContext`), and the Runs tree's
// per-item context value. A command is offered where it can act: Stop with a trainer of this window
// live, Resume for a run that stopped or did not finish, Delete and Export for a run no one is
// writing, Open Metrics Panel while the panel is not on screen, Stop Study with a study process of
// this window running, Open Study Panel with a study listed.

import { isActive } from '../runs/supervisor';
import type { LabRun, LabRunStatus } from './lab-runs';

export interface ContextKeys {
  /** How many runs the Runs tree lists (Compare Runs wants two). */
  'was.runCount': number;
  /** A trainer this window started is queued, starting or running (Stop Training can act). */
  'was.hasLiveRun': boolean;
  /** The panel follows a run that is listed. */
  'was.hasActiveRun': boolean;
  /** The followed run is one of this window's live trainers. */
  'was.runIsLive': boolean;
  /** A run that stopped, failed or has no summary, and that no process is writing (Resume Run). */
  'was.hasResumableRun': boolean;
  /** A run that is over and that no process is writing (Delete Run, Export Weights). */
  'was.hasFinishedRun': boolean;
  /** The metrics panel is open and visible (Open Metrics Panel would only reveal what is shown). */
  'was.panelOpen': boolean;
  /** The inference mode. */
  'was.mode': 'aom' | 'dom';
  /** How many studies the Runs tree lists (Open Study Panel). */
  'was.studyCount': number;
  /** A study process this window started is running (Stop Study can act). */
  'was.hasLiveStudy': boolean;
}

/** Every key's value before the runs were first listed. */
export const CONTEXT_KEY_DEFAULTS: Readonly<ContextKeys> = {
  'was.runCount': 0,
  'was.hasLiveRun': false,
  'was.hasActiveRun': false,
  'was.runIsLive': false,
  'was.hasResumableRun': false,
  'was.hasFinishedRun': false,
  'was.panelOpen': false,
  'was.mode': 'aom',
  'was.studyCount': 0,
  'was.hasLiveStudy': false,
};

/** What the keys are read from: the listed runs and what the user is looking at. */
export interface ContextKeyInputs {
  runs: readonly LabRun[];
  activeRunId: string | null;
  mode: 'aom' | 'dom';
  panelVisible: boolean;
  /** The listed studies, each with whether this window's study process runs it. */
  studies: readonly { live: boolean }[];
}

const RESUMABLE: readonly LabRunStatus[] = ['stopped', 'failed', 'incomplete'];
const FINISHED: readonly LabRunStatus[] = ['completed', 'stopped', 'failed', 'incomplete'];

/** A trainer of this window works on it (stoppable here). */
export function isLiveHere(run: LabRun): boolean {
  return run.job !== null && isActive(run.job.state) && run.lockedBy === undefined;
}

/** No process of this window or another is writing its folder, and it is over. */
export function isFinished(run: LabRun): boolean {
  return FINISHED.includes(run.status) && run.lockedBy === undefined && !(run.job !== null && isActive(run.job.state));
}

export function isResumable(run: LabRun): boolean {
  return isFinished(run) && RESUMABLE.includes(run.status);
}

export function decideContextKeys(inputs: ContextKeyInputs): ContextKeys {
  const active = inputs.activeRunId === null ? undefined : inputs.runs.find((r) => r.runId === inputs.activeRunId);
  return {
    'was.runCount': inputs.runs.length,
    'was.hasLiveRun': inputs.runs.some(isLiveHere),
    'was.hasActiveRun': active !== undefined,
    'was.runIsLive': active !== undefined && isLiveHere(active),
    'was.hasResumableRun': inputs.runs.some(isResumable),
    'was.hasFinishedRun': inputs.runs.some(isFinished),
    'was.panelOpen': inputs.panelVisible,
    'was.mode': inputs.mode,
    'was.studyCount': inputs.studies.length,
    'was.hasLiveStudy': inputs.studies.some((s) => s.live),
  };
}

/** The keys whose value differs from `before` (all of them when there is no before). */
export function changedKeys(before: ContextKeys | null, after: ContextKeys): (keyof ContextKeys)[] {
  return (Object.keys(after) as (keyof ContextKeys)[]).filter((key) => before === null || before[key] !== after[key]);
}

/**
 * The Runs tree item's context value, which package.json's `view/item/context` menus match:
 * `wasRun.<status>` for a run of this window or a finished one, `wasRun.elsewhere` for one another
 * process (window, terminal) is writing (nothing here can stop, resume or delete it), and a
 * `.shown` suffix on the run the visible panel follows (no inline Open button for it).
 */
export function runContextValue(run: LabRun, shownRunId: string | null): string {
  const base = run.lockedBy !== undefined ? 'wasRun.elsewhere' : `wasRun.${run.status}`;
  return run.runId === shownRunId ? `${base}.shown` : base;
}
