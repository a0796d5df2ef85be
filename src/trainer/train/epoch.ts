// The epochs: train on every batch of the epoch's order, evaluate AOM and DOM on the selection
// split, checkpoint; inside an epoch, a checkpoint every checkpointMinutes of training too.
// Evaluation draws are seeded per epoch, so an epoch's numbers do not depend on earlier sessions
// and a resumed run ends with the same numbers, bit for bit, as the same run never interrupted
// (same backend). A session resumed inside an epoch draws that epoch's order again from the saved
// order stream, skips the batches done, and goes on with the saved sums, augmentation and
// shadow-weight streams, optimizer state and weights.

import * as tf from '@tensorflow/tfjs';
import type { InferenceMode } from '../../shared/protocol';
import { epochOrder, orderBatches } from '../data/batches';
import type { ImageSplit } from '../data/types';
import { evaluate, recalibrate, type EvalSetup, type Evaluation } from '../eval/evaluate';
import type { Model } from '../nn/model';
import type { RngState } from '../rng';
import { saveCheckpoint, type CheckpointManifest, type EpochPosition, type TrainingProgress } from './checkpoint';
import type { RunOutput, TrainingIo } from './io';
import { kernelReportDue } from '../was/kernel-samples';
import { kernelReport } from './kernel-report';
import { learningRate } from './schedule';
import type { Run } from './setup';
import { trainStep } from './step';
import { readScalar } from '../nn/read';

/** A non-finite loss: the run stops instead of training on garbage. */
export class DivergedError extends Error {}

/** What the run has done so far, over all its sessions (saved with every checkpoint). */
export interface Tally {
  epochsCompleted: number;
  /** Optimizer steps so far. */
  step: number;
  best: TrainingProgress['best'];
  /** Training samples and seconds of the completed epochs. */
  trainSamples: number;
  trainSeconds: number;
  /** Where the epoch in progress stood at the mid-epoch checkpoint this session resumed from; taken by its first epoch. */
  inEpoch: EpochPosition | null;
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
    inEpoch: prior?.inEpoch ?? null,
    sessionStart: Date.now(),
    priorDurationSec: prior?.durationSec ?? 0,
  };
}

/** Durations add up over sessions: the time lost to a kill after the last checkpoint is not counted. */
export function durationSec(tally: Tally): number {
  return tally.priorDurationSec + (Date.now() - tally.sessionStart) / 1000;
}

/** When the next mid-epoch checkpoint is due: checkpointMinutes of training after the last checkpoint (never with 0). */
interface CheckpointClock {
  due(): boolean;
  /** A checkpoint was just written. */
  reset(): void;
}

function checkpointClock(minutes: number): CheckpointClock {
  let last = Date.now();
  return {
    due: () => minutes > 0 && Date.now() - last >= minutes * 60_000,
    reset: () => (last = Date.now()),
  };
}

/** Train the epochs left; returns why a stop was requested, or null when every epoch ran. */
export async function trainEpochs(run: Run, tally: Tally, io: TrainingIo, out: RunOutput): Promise<string | null> {
  const clock = checkpointClock(run.config.checkpointMinutes);
  for (let epoch = tally.epochsCompleted + 1; epoch <= run.config.epochs; epoch++) {
    out.emit({ type: 'phase', time: Date.now(), phase: 'training', epoch });
    const trained = await trainEpoch(run, tally, epoch, { io, out, clock });
    tally.trainSamples += trained.seen;
    tally.trainSeconds += trained.seconds;
    if (trained.stopReason !== null) {
      out.log(`stop requested (${trained.stopReason}) at epoch ${epoch}, step ${trained.steps}; checkpointed there, the partial epoch is not evaluated (a resume continues from this step)`);
      return trained.stopReason;
    }
    await evaluateEpoch(run, tally, epoch, trained, out);
    const kernels = kernelReportDue(epoch, run.config.epochs) ? await kernelReport(run, epoch, epochEvalSeed(run.streams.evalSeed, epoch)) : null;
    if (kernels) out.emit(kernels);
    // After the epoch event: a kill between the two makes the resumed session redo this
    // epoch, and its run-start's resumedFrom tells readers the earlier event is superseded.
    await saveProgress(run, tally, null);
    clock.reset();
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
  /** Training seconds of the epoch, over sessions. */
  seconds: number;
  stopReason: string | null;
}

/** An epoch in progress: its position and sums (what a mid-epoch checkpoint saves), the step window's start, the last lr. */
type EpochState = EpochPosition & { windowStart: number; lr: number };

/** The epoch from its first batch, or from where the checkpoint this session resumed from left it. */
function startEpoch(tally: Tally, lr: number): EpochState {
  const at = tally.inEpoch;
  tally.inEpoch = null;
  const window = at ? { ...at.window } : { loss: 0, correct: 0, seen: 0 };
  return { steps: 0, loss: 0, correct: 0, seen: 0, seconds: 0, ...at, window, windowStart: Date.now(), lr };
}

async function trainEpoch(run: Run, tally: Tally, epoch: number, loop: { io: TrainingIo; out: RunOutput; clock: CheckpointClock }): Promise<EpochTraining> {
  const { config, streams } = run;
  const { io, out, clock } = loop;
  const baseLr = config.optimizer.lr!;
  const startedAt = Date.now();
  // A mid-epoch checkpoint saves the order stream as it was before this draw: a resumed session
  // draws the same order again and skips the batches already trained.
  const orderState = streams.order.state();
  const order = epochOrder(run.train.count, streams.order);
  const state = startEpoch(tally, baseLr);
  const priorSeconds = state.seconds;
  const elapsed = () => priorSeconds + (Date.now() - startedAt) / 1000;
  let batchIndex = 0;
  let stopReason: string | null = null;
  for (const indices of orderBatches(order, config.batchSize, run.dropLast)) {
    if (batchIndex++ < state.steps) continue;
    if (state.steps >= run.stepsPerEpoch) break;
    const lr = learningRate(baseLr, config.schedule, epoch - 1, tally.step / run.totalSteps);
    io.trace?.({ kind: 'batch', part: run.part, epoch, step: tally.step + 1, indices: indices.slice() });
    const batch = run.trainBatches.make(run.train, indices, run.augment ? streams.augment : null);
    const { model, optimizer, trainCtx: ctx, trainable, imageShape } = run;
    const { loss, correct } = await trainStep({ model, optimizer, ctx, trainable, pixels: batch.pixels, labels: batch.labels, imageShape, lr });
    tally.step++;
    state.steps++;
    state.lr = lr;
    if (!Number.isFinite(loss))
      throw new DivergedError(`the training loss became ${loss} at epoch ${epoch}, step ${state.steps} (lr ${lr}); lower the learning rate`);
    for (const sum of [state, state.window]) {
      sum.loss += loss * batch.size;
      sum.correct += correct;
      sum.seen += batch.size;
    }
    if (state.steps % config.logEverySteps === 0 || state.steps === run.stepsPerEpoch) reportSteps(run, tally, epoch, state, out);
    // Let signal handlers and IPC messages run: the step itself never yields.
    await new Promise((resolve) => setImmediate(resolve));
    stopReason = io.stopRequested();
    // Inside the epoch only (its last step is followed by its evaluation and checkpoint): a
    // checkpoint when one is due, and at a stop, so that a resume loses none of the steps done.
    if ((clock.due() || stopReason !== null) && state.steps < run.stepsPerEpoch) {
      await saveProgress(run, tally, { position: { ...positionOf(state), seconds: elapsed() }, orderState });
      clock.reset();
    }
    if (stopReason !== null) break;
  }
  return { loss: state.loss, correct: state.correct, seen: state.seen, lr: state.lr, steps: state.steps, startedAt, seconds: elapsed(), stopReason };
}

/** The step event: the means over the steps since the previous one. */
function reportSteps(run: Run, tally: Tally, epoch: number, state: EpochState, out: RunOutput): void {
  const { window } = state;
  const seconds = (Date.now() - state.windowStart) / 1000;
  out.emit({
    type: 'step',
    time: Date.now(),
    epoch,
    step: tally.step,
    stepInEpoch: state.steps,
    stepsPerEpoch: run.stepsPerEpoch,
    loss: window.loss / window.seen,
    accuracy: window.correct / window.seen,
    lr: state.lr,
    samplesPerSec: seconds > 0 ? window.seen / seconds : 0,
  });
  state.window = { loss: 0, correct: 0, seen: 0 };
  state.windowStart = Date.now();
}

function positionOf(state: EpochState): EpochPosition {
  const { steps, loss, correct, seen, seconds, window } = state;
  return { steps, loss, correct, seen, seconds, window: { ...window } };
}

/** AOM and DOM accuracy on the selection split, the best epoch so far, the epoch event. */
async function evaluateEpoch(run: Run, tally: Tally, epoch: number, trained: EpochTraining, out: RunOutput): Promise<void> {
  out.emit({ type: 'phase', time: Date.now(), phase: 'evaluating', epoch });
  // DOM draws seeded per epoch: an epoch's numbers do not depend on earlier sessions.
  const setup = run.evalSetup(epochEvalSeed(run.streams.evalSeed, epoch));
  const aomScore = await evaluateModeScore('aom', run.selection, setup);
  const domScore = run.hasShadow ? await evaluateModeScore('dom', run.selection, setup) : aomScore;
  const aom = aomScore.accuracy;
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
    domAccuracy: domScore.accuracy,
    aomLoss: aomScore.loss,
    domLoss: domScore.loss,
    selectionSplit: run.config.selectOn,
    lr: trained.lr,
    samplesPerSec: trained.seen / trained.seconds,
    durationSec: (Date.now() - trained.startedAt) / 1000,
    alphas: await readAlphas(run.model),
    best: isBest,
    numTensors: tf.memory().numTensors,
  });
}

/**
 * A checkpoint of the tally: at the end of epoch tally.epochsCompleted, or inside the next one
 * (`inEpoch`: its position, and the order stream's state before the epoch drew its order).
 */
async function saveProgress(run: Run, tally: Tally, inEpoch: { position: EpochPosition; orderState: RngState } | null): Promise<void> {
  const { folder, streams } = run;
  await saveCheckpoint(folder.dir, {
    runId: folder.id,
    epoch: tally.epochsCompleted,
    seed: run.seed,
    config: run.config,
    model: run.model,
    shadowLayers: run.shadowLayers,
    optimizer: run.optimizer,
    training: {
      step: tally.step,
      rng: { order: inEpoch?.orderState ?? streams.order.state(), augment: streams.augment.state(), shadow: streams.shadow.state() },
      best: tally.best,
      trainSamples: tally.trainSamples,
      trainSeconds: tally.trainSeconds,
      durationSec: durationSec(tally),
      inEpoch: inEpoch?.position ?? null,
    },
  });
}

/** The seed of an epoch's evaluation draws (recalibration and DOM), independent of history. */
export function epochEvalSeed(evalSeed: number, epoch: number): number {
  return (evalSeed + Math.imul(epoch, 0x9e3779b9)) >>> 0;
}

/** Accuracy in one mode, with that mode's BatchNorm statistics recalibrated first. */
export async function evaluateMode(mode: InferenceMode, split: ImageSplit, setup: EvalSetup): Promise<number> {
  return (await evaluateModeScore(mode, split, setup)).accuracy;
}

/** Accuracy, mean loss and the confusion matrix in one mode, its BatchNorm statistics recalibrated first. */
export function evaluateModeScore(mode: InferenceMode, split: ImageSplit, setup: EvalSetup): Promise<Evaluation> {
  recalibrate(mode, setup);
  return evaluate(mode, split, setup);
}

async function readAlphas(model: Model): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const conv of model.store.convs) if (conv.alpha) out[conv.name] = await readScalar(conv.alpha);
  return out;
}
