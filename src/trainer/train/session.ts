// One training run, top to bottom: set up (or restore from the last checkpoint), train the
// epochs with AOM/DOM evaluation and a checkpoint after each, test the best epoch, count FLOPs
// and search the DOM for a FLOPs target, and (with --baseline) train the plain model beside it.
// Everything the run measures leaves through `emit` (the run folder, IPC, the terminal all hang
// off it).
//
// A session either starts a run or resumes one (train/setup.ts says how a resumed session ends
// up exactly where the interrupted one stopped; train/epoch.ts why its numbers match bit for bit).

import { randomInt } from 'node:crypto';
import * as path from 'node:path';
import { learningRateFor, type TrainConfig } from '../../shared/config';
import { RunFolder } from '../output/run-folder';
import { BASELINE_DIR, compareWithBaseline, trainBaseline } from './baseline';
import { startTally, trainEpochs } from './epoch';
import { endRun, finalFlops, testBestEpoch, type Findings } from './finish';
import { runOutput, type RunResult, type TrainingIo } from './io';
import { checkRunFolder, planResume } from './resume';
import { backendInfo, disposeRun, setUp, type Run, type Session } from './setup';
import { errorMessage } from '../../shared/errors';
import { acquireRunLock, blockingLock } from '../../shared/node/run-lock';

export { BASELINE_DIR, baselineConfig } from './baseline';
export { DivergedError, epochEvalSeed } from './epoch';
export type { RunPart, RunResult, TracePoint, TrainingIo } from './io';

/** Where the process may load backend code from (its --backend-path folders); never part of a config. */
export interface ProcessOptions {
  backendPaths?: readonly string[];
}

/** Start a new run in a new run folder. */
export async function runTraining(requested: TrainConfig, io: TrainingIo, options: ProcessOptions = {}): Promise<RunResult> {
  const seed = requested.seed ?? randomInt(0, 2 ** 32);
  // Record what the run really uses: the seed and the learning rate are never left open.
  const config: TrainConfig = { ...requested, seed, optimizer: { ...requested.optimizer, lr: learningRateFor(requested) } };
  const folder = RunFolder.create(config.runsDir, config.runName, config.model, config.data.name);
  // One writer per run folder (shared/node/run-lock.ts), held to the end, the baseline part included.
  const lock = acquireRunLock(folder.dir, 'was-train train');
  try {
    return await runSession({ folder, config, resume: null, part: 'was', shared: {}, backendPaths: options.backendPaths }, io);
  } finally {
    lock.release();
  }
}

/**
 * Continue a stopped, failed or killed run from its last checkpoint, appending to its
 * metrics.jsonl. Throws NothingToResumeError for a completed run, ResumeError or
 * CheckpointError when the folder cannot be resumed, RunLockedError when another process is
 * writing it (nothing is written then).
 */
export async function resumeTraining(runDir: string, io: TrainingIo, options: ProcessOptions = {}): Promise<RunResult> {
  checkRunFolder(runDir);
  // A baseline folder is written by its parent run's trainer too.
  const parentLock = path.basename(runDir) === BASELINE_DIR ? blockingLock(path.dirname(runDir)) : null;
  if (parentLock !== null) throw parentLock;
  // Before anything is read or repaired: a live writer's torn last line is not torn.
  const tookOver: string[] = [];
  const lock = acquireRunLock(runDir, 'was-train resume', (line) => tookOver.push(line));
  try {
    const plan = await planResume(runDir);
    const resume = { checkpoint: plan.checkpoint, originalBackend: plan.originalBackend, notes: [...tookOver, ...plan.notes] };
    return await runSession({ folder: plan.folder, config: plan.config, resume, part: 'was', shared: {}, backendPaths: options.backendPaths }, io);
  } finally {
    lock.release();
  }
}

async function runSession(session: Session, io: TrainingIo): Promise<RunResult> {
  const { folder, config } = session;
  const out = runOutput(folder, io);
  const tally = startTally(session.resume?.checkpoint.manifest ?? null);
  const findings: Findings = { test: null, flops: null, baseline: null, backend: null };
  const end = (status: RunResult['end']['status'], reason: string | null): RunResult => endRun(folder, tally, findings, status, reason, out);
  let run: Run | null = null;
  try {
    // Set up: backend, data, model and optimizer; a resumed session restores its checkpoint.
    run = await setUp(session, io, out, tally.sessionStart);
    findings.backend = backendInfo(run.backend);
    // Train: every epoch left, each evaluated and checkpointed.
    const stopReason = await trainEpochs(run, tally, io, out);
    // Finish: the best epoch on the test split.
    if (tally.best !== null) {
      findings.test = await testBestEpoch(run, tally.best.epoch, out);
      // FLOPs, and the deterministic DOM for a FLOPs target (not after a stop: a resume does it).
      if (stopReason === null) findings.flops = await finalFlops(run, tally.best.epoch, out);
    }
    if (stopReason !== null) return end('stopped', stopReason);
    if (!config.baseline) return end('completed', null);

    // The WAS model's memory is not needed while the baseline trains.
    const shared = { backend: run.backend, dataset: run.dataset };
    disposeRun(run);
    run = null;
    const plain = await trainBaseline({ parent: folder, config, shared, emit: out.emit, io, runSession });
    findings.baseline = compareWithBaseline(findings.test, plain, path.join(folder.dir, BASELINE_DIR));
    if (plain.status !== 'completed') return end(plain.status, `baseline: ${plain.reason ?? plain.status}`);
    return end('completed', null);
  } catch (error) {
    const message = errorMessage(error);
    out.log(message, 'error');
    return end('failed', message);
  } finally {
    if (run) disposeRun(run);
  }
}
