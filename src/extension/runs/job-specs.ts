// Turns "train this" and "resume that" into the supervisor's job specs: the trainer bundle, its
// arguments, where it runs, and what to show for the run before its first event arrives.

import * as path from 'node:path';
import type { TrainerEvent } from '../../shared/protocol';
import type { WasSettings } from './settings';
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

export function trainingJob(source: QuickChoices | ExperimentFile, ctx: LaunchContext): JobSpec {
  const { model, dataset, transform } =
    'file' in source ? { model: source.config.model, dataset: source.config.data.name, transform: source.config.was.transform } : source;
  // An experiment file may name its run; otherwise the trainer's own naming, chosen here so the run has its key while queued.
  const runName = ('file' in source ? source.config.runName : null) ?? newRunName(model, dataset, ctx.taken, ctx.now);
  const args = trainArgs(source, { settings: ctx.settings, runsDir: ctx.runsDir, runName, backendPaths: ctx.backendPaths });
  return {
    runId: runName,
    runDir: path.join(ctx.runsDir, runName),
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
