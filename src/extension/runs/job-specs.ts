// Turns "train this" and "resume that" into the supervisor's job specs: the trainer bundle, its
// arguments, where it runs, and what to show for the run before its first event arrives.

import * as path from 'node:path';
import type { TrainerEvent } from '../../shared/protocol';
import type { WasSettings } from './settings';
import { RunPathError, runFolderPath } from './run-paths';
import type { JobSpec } from './supervisor';
import type { TrainerLaunch } from './trainer-process';
import { newRunName, resumeArgs, trainArgs, type ExperimentFile, type QuickChoices } from './trainer-args';

export interface LaunchContext {
  /** dist/trainer.js of the installed extension. */
  trainerPath: string;
  /** The workspace folder: relative paths in experiment files and settings resolve from here. */
  cwd: string;
  /** Absolute. */
  runsDir: string;
  settings: WasSettings;
  /** Folders holding an installed TensorFlow backend. */
  backendPaths: readonly string[];
  /** A run folder name already used (on disk or by a queued run). */
  taken: (name: string) => boolean;
  now?: Date;
}

/**
 * A new run. Its name is checked before anything is written: by the shared run-name rule, inside
 * the runs folder (run-paths.ts), and not taken: a name an experiment file gives that is used
 * already (a folder on disk, a queued run) is refused, never reused (the trainer refuses it too).
 */
export function trainingJob(source: QuickChoices | ExperimentFile, ctx: LaunchContext): JobSpec {
  const { model, dataset, transform } =
    'file' in source ? { model: source.config.model, dataset: source.config.data.name, transform: source.config.was.transform } : source;
  // An experiment file may name its run; otherwise the trainer's own naming, chosen here so the run has its key while queued.
  const named = 'file' in source ? source.config.runName : null;
  const runName = named ?? newRunName(model, dataset, ctx.taken, ctx.now);
  const runDir = runFolderPath(ctx.runsDir, runName);
  if ('file' in source && named !== null && ctx.taken(named))
    throw new RunPathError(`a run named "${named}" exists already in ${ctx.runsDir}: give runName another name in ${path.basename(source.file)}, or remove it to have one made`);
  const args = trainArgs(source, { settings: ctx.settings, runsDir: ctx.runsDir, runName, backendPaths: ctx.backendPaths });
  return {
    runId: runName,
    runDir,
    runsDir: ctx.runsDir,
    title: 'file' in source ? `train ${path.basename(source.file)}` : `train ${model} on ${dataset} (${transform})`,
    model,
    dataset,
    transform,
    launch: trainerLaunch(args, ctx),
  };
}

export function resumeJob(run: { runId: string; dir: string; model: string | null; dataset: string | null; transform: string | null }, priorEvents: readonly TrainerEvent[], ctx: LaunchContext): JobSpec {
  return {
    runId: run.runId,
    runDir: run.dir,
    runsDir: ctx.runsDir,
    title: `resume ${run.runId}`,
    model: run.model,
    dataset: run.dataset,
    transform: run.transform,
    launch: trainerLaunch(resumeArgs(run.dir), ctx),
    priorEvents,
  };
}

/** A trainer process for `args` (any was-train command) in the context's folder and runtime. */
export function trainerLaunch(args: string[], ctx: LaunchContext): TrainerLaunch {
  return {
    trainerPath: ctx.trainerPath,
    args,
    cwd: ctx.cwd,
    execPath: ctx.settings.nodePath || undefined,
    env: {
      ...process.env,
      // VS Code's runtime is Electron: this makes a forked script run as plain Node.
      ELECTRON_RUN_AS_NODE: '1',
      // The installed TensorFlow backend for every command, also those without --backend-path
      // (resume keeps its run's config; export and dom load a backend too).
      ...(ctx.backendPaths.length > 0 ? { WAS_LAB_BACKEND_PATH: [...ctx.backendPaths, process.env.WAS_LAB_BACKEND_PATH].filter(Boolean).join(path.delimiter) } : {}),
    },
  };
}
