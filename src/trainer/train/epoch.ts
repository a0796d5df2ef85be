// The epochs: train on every batch of the epoch's order, evaluate AOM and DOM on the selection
// split, checkpoint. Evaluation draws are seeded per epoch, so an epoch's numbers do not depend
// on earlier sessions and a resumed run ends with the same numbers, bit for bit, as the same run
// never interrupted (same backend).

import * as tf from '@tensorflow/tfjs';
import type { InferenceMode } from '../../shared/protocol';
import { epochOrder, orderBatches } from '../data/batches';
import type { ImageSplit } from '../data/types';
import { evaluate, recalibrate, type EvalSetup } from '../eval/evaluate';
import type { Model } from '../nn/model';
import { saveCheckpoint, type CheckpointManifest, type TrainingProgress } from './checkpoint';
import type { RunOutput, TrainingIo } from './io';
import { learningRate } from './schedule';
import type { Run } from './setup';
import { trainStep } from './step';

/** A non-finite loss: the run stops instead of training on garbage. */
export class DivergedError extends Error {}

/** What the run has done so far, over all its sessions (saved with every checkpoint). */
export interface Tally {
  epochsCompleted: number;
  /** Optimizer steps so far. */
  step: number;
  best: TrainingProgress['best'];
  trainSamples: number;
  trainSeconds: number;
  /** When this session started (ms). */
  readonly sessionStart: number;
  /** Wall seconds of the earlier sessions, up to their last checkpoint. */
  readonly priorDurationSec: number;
}

/** A first session's tally is empty; a resumed one continues the checkpoint's. */
export function startTally(resumed: CheckpointManifest | null): Tally {
  const prior = resumed?.training ?? null;
  return {
    epochsCompleted: resumed?.epoch ?? 0,
    step: prior?.step ?? 0,
    best: prior?.best ?? null,
    trainSamples: prior?.trainSamples ?? 0,
    trainSeconds: prior?.trainSeconds ?? 0,
    sessionStart: Date.now(),
    priorDurationSec: prior?.durationSec ?? 0,
  };
}

/** Durations add up over sessions: the time lost to a kill after the last checkpoint is not counted. */
export function durationSec(tally: Tally): number {
  return tally.priorDurationSec + (Date.now() - tally.sessionStart) / 1000;
}

/** Train the epochs left; returns why a stop was requested, or null when every epoch ran. */
export async function trainEpochs(run: Run, tally: Tally, io: TrainingIo, out: RunOutput): Promise<string | null> {
  for (let epoch = tally.epochsCompleted + 1; epoch <= run.config.epochs; epoch++) {
    out.emit({ type: 'phase', time: Date.now(), phase: 'training', epoch });
    const trained = await trainEpoch(run, tally, epoch, io, out);
    tally.trainSamples += trained.seen;
    tally.trainSeconds += trained.seconds;
    if (trained.stopReason !== null) {
      out.log(`stop requested (${trained.stopReason}) at epoch ${epoch}, step ${trained.steps}; the partial epoch is not evaluated (a resume redoes it)`);
      return trained.stopReason;
    }
    evaluateEpoch(run, tally, epoch, trained, out);
    // After the epoch event: a kill between the two makes the resumed session redo this
    // epoch, and its run-start's resumedFrom tells readers the earlier event is superseded.
    await checkpointEpoch(run, tally, epoch);
  }
  return null;
}

interface EpochTraining {
  /** Sums over the epoch's batches. */
  loss: number;
  correct: number;
  seen: number;
  /** The last step's learning rate. */
  lr: number;
  steps: number;
  startedAt: number;
  seconds: number;
  stopReason: string | null;
}

async function trainEpoch(run: Run, tally: Tally, epoch: number, io: TrainingIo, out: RunOutput): Promise<EpochTraining> {
  const { config, streams } = run;
  const baseLr = config.optimizer.lr!;
  const startedAt = Date.now();
  const order = epochOrder(run.train.count, streams.order);
  const sums = { loss: 0, correct: 0, seen: 0 };
  let window = { loss: 0, correct: 0, seen: 0, start: Date.now() };
  let lr = baseLr;
  let steps = 0;
  let stopReason: string | null = null;
  for (const indices of orderBatches(order, config.batchSize, run.dropLast)) {
    if (steps >= run.stepsPerEpoch) break;
    lr = learningRate(baseLr, config.schedule, epoch - 1, tally.step / run.totalSteps);
    io.trace?.({ kind: 'batch', part: run.part, epoch, step: tally.step + 1, indices: indices.slice() });
    const batch = run.trainBatches.make(run.train, indices, run.augment ? streams.augment : null);
    const { model, optimizer, trainCtx: ctx, trainable, imageShape } = run;
    const { loss, correct } = trainStep({ model, optimizer, ctx, trainable, pixels: batch.pixels, labels: batch.labels, imageShape, lr });
    tally.step++;
    steps++;
    if (!Number.isFinite(loss))
      throw new DivergedError(`the training loss became ${loss} at epoch ${epoch}, step ${steps} (lr ${lr}); lower the learning rate`);
    for (const sum of [sums, window]) {
      sum.loss += loss * batch.size;
      sum.correct += correct;
      sum.seen += batch.size;
    }
    if (steps % config.logEverySteps === 0 || steps === run.stepsPerEpoch) {
      const seconds = (Date.now() - window.start) / 1000;
      out.emit({
        type: 'step',
        time: Date.now(),
        epoch,
        step: tally.step,
        stepInEpoch: steps,
        stepsPerEpoch: run.stepsPerEpoch,
        loss: window.loss / window.seen,
        accuracy: window.correct / window.seen,
        lr,
        samplesPerSec: seconds > 0 ? window.seen / seconds : 0,
      });
      window = { loss: 0, correct: 0, seen: 0, start: Date.now() };
    }
    // Let signal handlers and IPC messages run: the step itself never yields.
    await new Promise((resolve) => setImmediate(resolve));
    stopReason = io.stopRequested();
    if (stopReason !== null) break;
  }
  return { ...sums, lr, steps, startedAt, seconds: (Date.now() - startedAt) / 1000, stopReason };
}

/** AOM and DOM accuracy on the selection split, the best epoch so far, the epoch event. */
function evaluateEpoch(run: Run, tally: Tally, epoch: number, trained: EpochTraining, out: RunOutput): void {
  out.emit({ type: 'phase', time: Date.now(), phase: 'evaluating', epoch });
  // DOM draws seeded per epoch: an epoch's numbers do not depend on earlier sessions.
  const setup = run.evalSetup(epochEvalSeed(run.streams.evalSeed, epoch));
  const aom = evaluateMode('aom', run.selection, setup);
  const dom = run.hasShadow ? evaluateMode('dom', run.selection, setup) : aom;
  const isBest = tally.best === null || aom > tally.best.accuracy;
  if (isBest) tally.best = { epoch, accuracy: aom };
  tally.epochsCompleted = epoch;
  out.emit({
    type: 'epoch',
    time: Date.now(),
    epoch,
    trainLoss: trained.loss / trained.seen,
    trainAccuracy: trained.correct / trained.seen,
    aomAccuracy: aom,
    domAccuracy: dom,
    selectionSplit: run.config.selectOn,
    lr: trained.lr,
    samplesPerSec: trained.seen / trained.seconds,
    durationSec: (Date.now() - trained.startedAt) / 1000,
    alphas: readAlphas(run.model),
    best: isBest,
    numTensors: tf.memory().numTensors,
  });
}

async function checkpointEpoch(run: Run, tally: Tally, epoch: number): Promise<void> {
  const { folder, streams } = run;
  await saveCheckpoint(folder.dir, {
    runId: folder.id,
    epoch,
    seed: run.seed,
    config: run.config,
    model: run.model,
    shadowLayers: run.shadowLayers,
    optimizer: run.optimizer,
    training: {
      step: tally.step,
      rng: { order: streams.order.state(), augment: streams.augment.state(), shadow: streams.shadow.state() },
      best: tally.best,
      trainSamples: tally.trainSamples,
      trainSeconds: tally.trainSeconds,
      durationSec: durationSec(tally),
    },
  });
}

/** The seed of an epoch's evaluation draws (recalibration and DOM), independent of history. */
export function epochEvalSeed(evalSeed: number, epoch: number): number {
  return (evalSeed + Math.imul(epoch, 0x9e3779b9)) >>> 0;
}

/** Accuracy in one mode, with that mode's BatchNorm statistics recalibrated first. */
export function evaluateMode(mode: InferenceMode, split: ImageSplit, setup: EvalSetup): number {
  recalibrate(mode, setup);
  return evaluate(mode, split, setup).accuracy;
}

function readAlphas(model: Model): Record<string, number> {
  const out: Record<string, number> = {};
  for (const conv of model.store.convs) if (conv.alpha) out[conv.name] = conv.alpha.dataSync()[0];
  return out;
}
