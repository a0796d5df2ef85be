// The baseline (--baseline): the same run with no weight augmentation, trained after the WAS run
// in <run>/baseline, and how the two compare on the test split.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TrainConfig } from '../../shared/config';
import type { BaselineComparison, RunEndEvent, TrainerEvent } from '../../shared/protocol';
import { RunFolder } from '../output/run-folder';
import { CheckpointError } from './checkpoint';
import type { RunResult, TracePoint, TrainingIo } from './io';
import { NothingToResumeError, planResume, readSummary } from './resume';
import type { Session } from './setup';

/** The baseline's run folder inside the WAS run's folder. */
export const BASELINE_DIR = 'baseline';

/** The baseline of a WAS config: the same run with no weight augmentation, in <run>/baseline. */
export function baselineConfig(config: TrainConfig, runDir: string): TrainConfig {
  // A plain model has no DOM to search; its AOM FLOPs are still counted.
  return { ...config, was: { ...config.was, transform: 'none' }, dom: { ...config.dom, flopsTarget: null }, baseline: false, runsDir: runDir, runName: BASELINE_DIR };
}

export interface BaselineInput {
  /** The WAS run's folder and config. */
  parent: RunFolder;
  config: TrainConfig;
  shared: Session['shared'];
  /** The WAS run's output: the baseline's events reach it inside 'baseline' envelopes. */
  emit(event: TrainerEvent): void;
  io: TrainingIo;
  /** How a session runs (train/session.ts), handed in so that this file needs no import of it. */
  runSession(session: Session, io: TrainingIo): Promise<RunResult>;
}

/**
 * Train (or resume, or reuse) the baseline in <run>/baseline. Its events reach the parent's
 * stream inside 'baseline' envelopes; its own folder gets them plain.
 */
export async function trainBaseline(input: BaselineInput): Promise<RunEndEvent> {
  const { parent, config, shared, emit, io, runSession } = input;
  const dir = path.join(parent.dir, BASELINE_DIR);
  const inner: TrainingIo = {
    emit: (event) => emit({ type: 'baseline', time: event.time, event }),
    stopRequested: () => io.stopRequested(),
    ...(io.trace ? { trace: (point: TracePoint) => io.trace!({ ...point, part: 'baseline' }) } : {}),
  };
  const log = (message: string): void => emit({ type: 'log', time: Date.now(), level: 'info', message });
  if (fs.existsSync(dir)) {
    const done = readSummary(dir);
    if (done?.status === 'completed') {
      log(`the baseline in ${dir} already completed; reusing its result`);
      return done;
    }
    try {
      const plan = await planResume(dir);
      const session: Session = {
        folder: plan.folder,
        config: plan.config,
        resume: { checkpoint: plan.checkpoint, originalBackend: plan.originalBackend, notes: plan.notes },
        part: 'baseline',
        shared,
      };
      return (await runSession(session, inner)).end;
    } catch (error) {
      if (error instanceof NothingToResumeError) return error.summary;
      if (!(error instanceof CheckpointError && error.code === 'missing')) throw error;
      // Killed before its first checkpoint: start it again.
      log(`the baseline in ${dir} has no checkpoint; starting it again`);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const plainConfig = baselineConfig(config, parent.dir);
  const folder = RunFolder.create(plainConfig.runsDir, plainConfig.runName, plainConfig.model, plainConfig.data.name);
  return (await runSession({ folder, config: plainConfig, resume: null, part: 'baseline', shared }, inner)).end;
}

export function compareWithBaseline(was: RunEndEvent['test'], plain: RunEndEvent, runDir: string): BaselineComparison {
  const plainTest = plain.test ? { accuracy: plain.test.aom, epoch: plain.test.epoch } : null;
  return {
    runDir,
    status: plain.status,
    test: plainTest,
    gain: was && plainTest ? { aom: 100 * (was.aom - plainTest.accuracy), dom: 100 * (was.dom - plainTest.accuracy) } : null,
  };
}
