// One training run, top to bottom: backend, data, model, the epoch loop with AOM/DOM evaluation
// and a checkpoint after every epoch, the test numbers at the selected epoch, and (with
// --baseline) the plain model trained beside it. Everything the run measures leaves through
// `emit` (the run folder, IPC, the terminal all hang off it).
//
// A session either starts a run or resumes one from its last checkpoint. A resumed session
// rebuilds everything the seed determines (data split, streams, model) exactly as the first
// session did, then overwrites what training changed with the checkpoint: every variable, the
// optimizer slots and step count, and the states of the order, augmentation and shadow-weight
// streams. Evaluation draws are seeded per epoch. So a resumed run ends with the same numbers,
// bit for bit, as the same run never interrupted (same backend).

import { randomInt } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { learningRateFor, type TrainConfig } from '../../shared/config';
import type { BaselineComparison, FlopsSummary, RunEndEvent, RunStartEvent, TrainerEvent } from '../../shared/protocol';
import { selectBackend, type BackendChoice } from '../backend/select';
import { BatchMaker, DEFAULT_CROP_PADDING, epochOrder, orderBatches, resolveAugment, splitTrainValidation } from '../data/batches';
import { loadDataset } from '../data/index';
import type { ImageDataset, ImageSplit } from '../data/types';
import { searchDomAfterTraining } from '../dom/after-training';
import { buildModel, selectShadowLayers } from '../models/index';
import type { ForwardContext } from '../nn/context';
import type { Model } from '../nn/model';
import { RunFolder } from '../output/run-folder';
import { Rng } from '../rng';
import { packageVersion } from '../version';
import { countFlops } from '../nn/flops';
import { randomTransforms, transformParams } from './sampler';
import { CheckpointError, loadCheckpoint, restoreInto, restoreModel, saveCheckpoint, type LoadedCheckpoint } from './checkpoint';
import { evaluate, recalibrate, type EvalSetup } from '../eval/evaluate';
import { Optimizer } from './optimizer';
import { NothingToResumeError, planResume, readSummary } from './resume';
import { learningRate } from './schedule';

export interface TrainingIo {
  emit(event: TrainerEvent): void;
  /** Why a stop was requested, or null; checked at every step boundary. */
  stopRequested(): string | null;
  /** Optional observer (tests): the initial weights and every training batch, per part of the run. */
  trace?(point: TracePoint): void;
}

/** 'was': the run itself; 'baseline': the plain model trained beside it (--baseline). */
export type RunPart = 'was' | 'baseline';

export type TracePoint =
  | { kind: 'initialized'; part: RunPart; weights: Map<string, Float32Array> }
  | { kind: 'batch'; part: RunPart; epoch: number; step: number; indices: Int32Array };

export interface RunResult {
  end: RunEndEvent;
  runDir: string;
}

/** A non-finite loss: the run stops instead of training on garbage. */
export class DivergedError extends Error {}

/** The baseline's run folder inside the WAS run's folder. */
export const BASELINE_DIR = 'baseline';

/** Start a new run in a new run folder. */
export async function runTraining(requested: TrainConfig, io: TrainingIo): Promise<RunResult> {
  const seed = requested.seed ?? randomInt(0, 2 ** 32);
  // Record what the run really uses: the seed and the learning rate are never left open.
  const config: TrainConfig = { ...requested, seed, optimizer: { ...requested.optimizer, lr: learningRateFor(requested) } };
  const folder = RunFolder.create(config.runsDir, config.runName, config.model, config.data.name);
  return runSession({ folder, config, resume: null, part: 'was', shared: {} }, io);
}

/**
 * Continue a stopped, failed or killed run from its last checkpoint, appending to its
 * metrics.jsonl. Throws NothingToResumeError for a completed run, ResumeError or
 * CheckpointError when the folder cannot be resumed (nothing is written then).
 */
export async function resumeTraining(runDir: string, io: TrainingIo): Promise<RunResult> {
  const plan = await planResume(runDir);
  return runSession(
    { folder: plan.folder, config: plan.config, resume: { checkpoint: plan.checkpoint, originalBackend: plan.originalBackend, notes: plan.notes }, part: 'was', shared: {} },
    io,
  );
}

/** The baseline of a WAS config: the same run with no weight augmentation, in <run>/baseline. */
export function baselineConfig(config: TrainConfig, runDir: string): TrainConfig {
  // A plain model has no DOM to search; its AOM FLOPs are still counted.
  return { ...config, was: { ...config.was, transform: 'none' }, dom: { ...config.dom, flopsTarget: null }, baseline: false, runsDir: runDir, runName: BASELINE_DIR };
}

interface Session {
  folder: RunFolder;
  /** Seed and learning rate resolved. */
  config: TrainConfig;
  resume: { checkpoint: LoadedCheckpoint; originalBackend: string | null; notes: string[] } | null;
  part: RunPart;
  /** Already loaded by the WAS part, handed to its baseline. */
  shared: { backend?: BackendChoice; dataset?: ImageDataset };
}

async function runSession(session: Session, io: TrainingIo): Promise<RunResult> {
  const { folder, config, resume, part } = session;
  const seed = config.seed!;
  const baseLr = config.optimizer.lr!;
  const sessionStart = Date.now();
  const emit = (event: TrainerEvent): void => {
    folder.append(event);
    io.emit(event);
  };
  const log = (message: string, level: 'info' | 'warn' | 'error' = 'info'): void =>
    emit({ type: 'log', time: Date.now(), level, message });

  const prior = resume?.checkpoint.manifest.training ?? null;
  let epochsCompleted = resume?.checkpoint.manifest.epoch ?? 0;
  let best = prior?.best ?? null;
  let test: RunEndEvent['test'] = null;
  let trainSamples = prior?.trainSamples ?? 0;
  let trainSeconds = prior?.trainSeconds ?? 0;
  let baseline: BaselineComparison | null = null;
  let flops: FlopsSummary | null = null;
  // Durations add up over sessions: the time lost to a kill after the last checkpoint is not counted.
  const durationSec = (): number => (prior?.durationSec ?? 0) + (Date.now() - sessionStart) / 1000;
  const finish = (status: RunEndEvent['status'], reason: string | null): RunResult => {
    const end: RunEndEvent = {
      type: 'run-end',
      time: Date.now(),
      status,
      reason,
      epochsCompleted,
      bestEpoch: best?.epoch ?? null,
      bestAomAccuracy: best?.accuracy ?? null,
      test,
      durationSec: durationSec(),
      samplesPerSec: trainSeconds > 0 ? trainSamples / trainSeconds : 0,
      ...(flops ? { flops } : {}),
      ...(baseline ? { baseline } : {}),
    };
    emit(end);
    folder.writeJson('summary.json', end);
    return { end, runDir: folder.dir };
  };

  let model: Model | null = null;
  let optimizer: Optimizer | null = null;
  try {
    for (const note of resume?.notes ?? []) log(note);
    if (config.baseline && config.was.transform === 'none') log('--baseline with transform none trains the same plain model twice', 'warn');
    const backend = session.shared.backend ?? (await selectBackend(config.backend, { searchPaths: config.backendPaths, log }));
    const versions = {
      'was-lab': packageVersion(),
      tfjs: tf.version_core,
      node: process.version,
      ...(backend.packagePath ? { backendPackage: backend.packagePath } : {}),
    };
    if (!resume) {
      folder.writeJson('config.json', { runId: folder.id, createdAt: new Date(sessionStart).toISOString(), seed, config, backend: backendInfo(backend), versions });
    } else if (resume.originalBackend !== null && resume.originalBackend !== backend.name) {
      log(`the run started on ${resume.originalBackend} and resumes on ${backend.name}: its numbers will not match an uninterrupted run bit for bit`, 'warn');
    }

    // Independent streams, so that e.g. changing the augmentation does not change the init.
    // The WAS run and its baseline derive them alike: same split, init, order and augmentation.
    const root = new Rng(seed);
    const initRng = root.fork();
    const splitRng = root.fork();
    let orderRng = root.fork();
    let augmentRng = root.fork();
    let shadowRng = root.fork();
    const evalSeed = root.nextUint32();
    if (prior) {
      orderRng = Rng.fromState(prior.rng.order);
      augmentRng = Rng.fromState(prior.rng.augment);
      shadowRng = Rng.fromState(prior.rng.shadow);
    }

    emit({ type: 'phase', time: Date.now(), phase: 'loading-data', epoch: null });
    const dataset = session.shared.dataset ?? (await loadDataset(config.data, { seed, onProgress: (m) => log(m) }));
    const { train, validation } = splitTrainValidation(dataset.train, config.data.validationSize, splitRng);
    const selection = config.selectOn === 'test' ? dataset.test : validation;
    if (!selection)
      throw new Error('selectOn is "validation" but data.validationSize is 0: hold out validation images or select on the test set');
    const augment = resolveAugment(config.data.name, config.data.augment);
    if (train.count < 1) throw new Error('the training split is empty');

    emit({ type: 'phase', time: Date.now(), phase: 'building-model', epoch: null });
    const spec = { height: dataset.height, width: dataset.width, channels: dataset.channels, numClasses: dataset.numClasses };
    model = buildModel(config.model, spec, { rng: initRng, bnEpsilon: config.bn.epsilon });
    // Alphas are created last, so every other parameter's init is the same with or without WAS.
    const shadowLayers = selectShadowLayers(model.store.convs, config.was.transform, config.was.layers);
    const trainable = [...model.store.trainable.values()];
    optimizer = new Optimizer(config.optimizer, new Map(trainable.map((v) => [v.name, v])));
    if (io.trace && !resume) io.trace({ kind: 'initialized', part, weights: readWeights(model) });
    if (resume) {
      const saved = resume.checkpoint.manifest.model;
      if (saved.shadowLayers.join(',') !== shadowLayers.join(','))
        throw new CheckpointError(`${resume.checkpoint.dir} has shadow layers [${saved.shadowLayers}], the run's config gives [${shadowLayers}]`, 'mismatch');
      restoreInto(model, optimizer, resume.checkpoint);
    }
    const family = config.was.transform === 'none' ? 'shift' : config.was.transform;
    const params = transformParams(config);

    const dropLast = train.count >= config.batchSize;
    const fullSteps = dropLast ? Math.floor(train.count / config.batchSize) : 1;
    const stepsPerEpoch = Math.min(fullSteps, config.maxStepsPerEpoch ?? Infinity);
    const totalSteps = stepsPerEpoch * config.epochs;
    const start: RunStartEvent = {
      type: 'run-start',
      time: Date.now(),
      runId: folder.id,
      runDir: folder.dir,
      config,
      seed,
      backend: backendInfo(backend),
      versions,
      model: { name: model.name, parameters: model.store.countTrainable(), shadowLayers, flops: countFlops(model).total },
      dataset: {
        name: dataset.name,
        source: dataset.source,
        train: train.count,
        validation: validation?.count ?? 0,
        test: dataset.test.count,
        classes: dataset.numClasses,
      },
      stepsPerEpoch,
      epochs: config.epochs,
      ...(resume ? { resumedFrom: { epoch: epochsCompleted, step: prior!.step } } : {}),
    };
    emit(start);

    const trainBatches = new BatchMaker(dataset, config.batchSize, { padding: DEFAULT_CROP_PADDING, flip: true });
    const evalBatches = new BatchMaker(dataset, config.evalBatchSize);
    // Each evaluation draws its DOM transforms from its own seeded stream (see epochEvalSeed).
    const evalSetup = (drawSeed: number): EvalSetup => ({
      model: model!,
      bn: config.bn,
      batches: evalBatches,
      calibration: train,
      calibrationBatches: trainBatches,
      domTransforms: randomTransforms(family, params, new Rng(drawSeed)),
    });
    const trainCtx: ForwardContext = {
      weights: 'shadow',
      bn: 'batch',
      statSet: 'train',
      statMomentum: config.bn.momentum,
      transformFor: randomTransforms(family, params, shadowRng),
    };
    const imageShape: [number, number, number] = [dataset.height, dataset.width, dataset.channels];
    const hasShadow = shadowLayers.length > 0;

    let step = prior?.step ?? 0;
    let stopReason: string | null = null;
    for (let epoch = epochsCompleted + 1; epoch <= config.epochs && stopReason === null; epoch++) {
      emit({ type: 'phase', time: Date.now(), phase: 'training', epoch });
      const epochStart = Date.now();
      const order = epochOrder(train.count, orderRng);
      let epochLoss = 0;
      let epochCorrect = 0;
      let epochSeen = 0;
      let window = { loss: 0, correct: 0, seen: 0, start: Date.now() };
      let lr = baseLr;
      let stepInEpoch = 0;
      for (const indices of orderBatches(order, config.batchSize, dropLast)) {
        if (stepInEpoch >= stepsPerEpoch) break;
        lr = learningRate(baseLr, config.schedule, epoch - 1, step / totalSteps);
        io.trace?.({ kind: 'batch', part, epoch, step: step + 1, indices: indices.slice() });
        const batch = trainBatches.make(train, indices, augment ? augmentRng : null);
        const { loss, correct } = trainStep(model, optimizer, trainCtx, trainable, batch.pixels, batch.labels, imageShape, lr);
        step++;
        stepInEpoch++;
        if (!Number.isFinite(loss))
          throw new DivergedError(`the training loss became ${loss} at epoch ${epoch}, step ${stepInEpoch} (lr ${lr}); lower the learning rate`);
        epochLoss += loss * batch.size;
        epochCorrect += correct;
        epochSeen += batch.size;
        window.loss += loss * batch.size;
        window.correct += correct;
        window.seen += batch.size;
        if (stepInEpoch % config.logEverySteps === 0 || stepInEpoch === stepsPerEpoch) {
          const seconds = (Date.now() - window.start) / 1000;
          emit({
            type: 'step',
            time: Date.now(),
            epoch,
            step,
            stepInEpoch,
            stepsPerEpoch,
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
      const epochTrainSeconds = (Date.now() - epochStart) / 1000;
      trainSamples += epochSeen;
      trainSeconds += epochTrainSeconds;
      if (stopReason !== null) {
        log(`stop requested (${stopReason}) at epoch ${epoch}, step ${stepInEpoch}; the partial epoch is not evaluated (a resume redoes it)`);
        break;
      }

      emit({ type: 'phase', time: Date.now(), phase: 'evaluating', epoch });
      // DOM draws seeded per epoch: an epoch's numbers do not depend on earlier sessions.
      const epochSetup = evalSetup(epochEvalSeed(evalSeed, epoch));
      const aom = evaluateMode('aom', selection, epochSetup);
      const dom = hasShadow ? evaluateMode('dom', selection, epochSetup) : aom;
      const isBest = best === null || aom > best.accuracy;
      if (isBest) best = { epoch, accuracy: aom };
      epochsCompleted = epoch;
      emit({
        type: 'epoch',
        time: Date.now(),
        epoch,
        trainLoss: epochLoss / epochSeen,
        trainAccuracy: epochCorrect / epochSeen,
        aomAccuracy: aom,
        domAccuracy: dom,
        selectionSplit: config.selectOn,
        lr,
        samplesPerSec: epochSeen / epochTrainSeconds,
        durationSec: (Date.now() - epochStart) / 1000,
        alphas: readAlphas(model),
        best: isBest,
        numTensors: tf.memory().numTensors,
      });
      // After the epoch event: a kill between the two makes the resumed session redo this
      // epoch, and its run-start's resumedFrom tells readers the earlier event is superseded.
      await saveCheckpoint(folder.dir, {
        runId: folder.id,
        epoch,
        seed,
        config,
        model,
        shadowLayers,
        optimizer,
        training: {
          step,
          rng: { order: orderRng.state(), augment: augmentRng.state(), shadow: shadowRng.state() },
          best,
          trainSamples,
          trainSeconds,
          durationSec: durationSec(),
        },
      });
    }

    if (best !== null) {
      emit({ type: 'phase', time: Date.now(), phase: 'testing', epoch: best.epoch });
      // The best weights come back from the best checkpoint, in a resumed session as in the first.
      restoreModel(model, await loadCheckpoint(folder.dir, 'best'));
      // DOM test draws are seeded on their own so the test number does not depend on history.
      const testSetup = evalSetup(evalSeed ^ 0x5bd1e995);
      const aom = evaluateMode('aom', dataset.test, testSetup);
      const dom = hasShadow ? evaluateMode('dom', dataset.test, testSetup) : aom;
      test = { aom, dom, epoch: best.epoch };
      // FLOPs, and the deterministic DOM for a FLOPs target (not after a stop: a resume does it).
      if (stopReason === null) {
        flops = searchDomAfterTraining({
          model,
          config,
          // The stochastic reference DOM from the stream `was-train dom` uses (export/run-source.ts).
          setup: evalSetup((seed ^ 0x27d4eb2f) >>> 0),
          selection,
          test: dataset.test,
          bestEpoch: best.epoch,
          runDir: folder.dir,
          emit,
          log,
        });
      }
    }
    if (stopReason !== null) return finish('stopped', stopReason);
    if (!config.baseline) return finish('completed', null);

    // The WAS model's memory is not needed while the baseline trains.
    optimizer.dispose();
    optimizer = null;
    model.store.dispose();
    model = null;
    const plain = await runBaseline(folder, config, { backend, dataset }, emit, io);
    baseline = compareWithBaseline(test, plain, path.join(folder.dir, BASELINE_DIR));
    if (plain.status !== 'completed') return finish(plain.status, `baseline: ${plain.reason ?? plain.status}`);
    return finish('completed', null);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(message, 'error');
    return finish('failed', message);
  } finally {
    optimizer?.dispose();
    model?.store.dispose();
  }
}

/**
 * Train (or resume, or reuse) the baseline in <run>/baseline. Its events reach the parent's
 * stream inside 'baseline' envelopes; its own folder gets them plain.
 */
async function runBaseline(
  parent: RunFolder,
  config: TrainConfig,
  shared: Session['shared'],
  emit: (event: TrainerEvent) => void,
  io: TrainingIo,
): Promise<RunEndEvent> {
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

function compareWithBaseline(was: RunEndEvent['test'], plain: RunEndEvent, runDir: string): BaselineComparison {
  const plainTest = plain.test ? { accuracy: plain.test.aom, epoch: plain.test.epoch } : null;
  return {
    runDir,
    status: plain.status,
    test: plainTest,
    gain: was && plainTest ? { aom: 100 * (was.aom - plainTest.accuracy), dom: 100 * (was.dom - plainTest.accuracy) } : null,
  };
}

/** The seed of an epoch's evaluation draws (recalibration and DOM), independent of history. */
export function epochEvalSeed(evalSeed: number, epoch: number): number {
  return (evalSeed + Math.imul(epoch, 0x9e3779b9)) >>> 0;
}

/** One optimizer step; returns the batch's mean loss and number of correct predictions. */
export function trainStep(
  model: Model,
  optimizer: Optimizer,
  ctx: ForwardContext,
  trainable: tf.Variable[],
  pixels: Float32Array,
  labels: Int32Array,
  imageShape: [number, number, number],
  lr: number,
): { loss: number; correct: number } {
  const kept: { correct?: tf.Tensor } = {};
  const { value, grads } = tf.variableGrads(() => {
    const x = tf.tensor4d(pixels, [labels.length, ...imageShape]);
    const y = tf.tensor1d(labels, 'int32');
    const logits = model.forward(x, ctx);
    kept.correct = tf.keep(tf.equal(tf.argMax(logits, 1), y).sum());
    return tf.losses.softmaxCrossEntropy(tf.oneHot(y, logits.shape[1]), logits) as tf.Scalar;
  }, trainable);
  const loss = value.dataSync()[0];
  const correct = kept.correct!.dataSync()[0];
  tf.dispose([value, kept.correct!]);
  // Step only on a finite loss: the caller stops the run without corrupting the weights.
  if (Number.isFinite(loss)) optimizer.apply(grads, lr);
  tf.dispose(grads);
  return { loss, correct };
}

function evaluateMode(mode: 'aom' | 'dom', split: ImageSplit, setup: EvalSetup): number {
  recalibrate(mode, setup);
  return evaluate(mode, split, setup).accuracy;
}

function readAlphas(model: Model): Record<string, number> {
  const out: Record<string, number> = {};
  for (const conv of model.store.convs) if (conv.alpha) out[conv.name] = conv.alpha.dataSync()[0];
  return out;
}

/** Copies of every variable by store name (for TrainingIo.trace). */
function readWeights(model: Model): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, v] of [...model.store.trainable, ...model.store.state]) out.set(name, Float32Array.from(v.dataSync() as Float32Array));
  return out;
}

function backendInfo(choice: BackendChoice): RunStartEvent['backend'] {
  return { name: choice.name, reason: choice.reason, skipped: choice.skipped };
}
