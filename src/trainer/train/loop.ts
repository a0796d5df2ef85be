// One training run, top to bottom: backend, data, model, the epoch loop with AOM/DOM evaluation
// after every epoch, and the test numbers at the selected epoch. Everything the run measures
// leaves through `emit` (the run folder, IPC, the terminal all hang off it).

import { randomInt } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { learningRateFor, type TrainConfig } from '../../shared/config';
import type { RunEndEvent, RunStartEvent, TrainerEvent } from '../../shared/protocol';
import { selectBackend, type BackendChoice } from '../backend/select';
import { BatchMaker, DEFAULT_CROP_PADDING, epochOrder, orderBatches, resolveAugment, splitTrainValidation } from '../data/batches';
import { loadDataset } from '../data/index';
import type { ImageSplit } from '../data/types';
import { buildModel, selectShadowLayers } from '../models/index';
import type { ForwardContext } from '../nn/context';
import type { Model } from '../nn/model';
import { RunFolder } from '../output/run-folder';
import { Rng } from '../rng';
import { packageVersion } from '../version';
import { randomTransforms, transformParams } from '../was/sampler';
import { evaluate, recalibrate, type EvalSetup } from './evaluate';
import { Optimizer } from './optimizer';
import { learningRate } from './schedule';

export interface TrainingIo {
  emit(event: TrainerEvent): void;
  /** Why a stop was requested, or null; checked at every step boundary. */
  stopRequested(): string | null;
}

export interface RunResult {
  end: RunEndEvent;
  runDir: string;
}

/** A non-finite loss: the run stops instead of training on garbage. */
export class DivergedError extends Error {}

export async function runTraining(requested: TrainConfig, io: TrainingIo): Promise<RunResult> {
  const startTime = Date.now();
  const seed = requested.seed ?? randomInt(0, 2 ** 32);
  // Record what the run really uses: the seed and the learning rate are never left open.
  const config: TrainConfig = { ...requested, seed, optimizer: { ...requested.optimizer, lr: learningRateFor(requested) } };
  const baseLr = config.optimizer.lr!;
  const folder = RunFolder.create(config.runsDir, config.runName, config.model, config.data.name);
  const emit = (event: TrainerEvent): void => {
    folder.append(event);
    io.emit(event);
  };
  const log = (message: string, level: 'info' | 'warn' | 'error' = 'info'): void =>
    emit({ type: 'log', time: Date.now(), level, message });

  let epochsCompleted = 0;
  let best: { epoch: number; accuracy: number } | null = null;
  let test: RunEndEvent['test'] = null;
  let trainSamples = 0;
  let trainSeconds = 0;
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
      durationSec: (Date.now() - startTime) / 1000,
      samplesPerSec: trainSeconds > 0 ? trainSamples / trainSeconds : 0,
    };
    emit(end);
    folder.writeJson('summary.json', end);
    return { end, runDir: folder.dir };
  };

  let model: Model | null = null;
  let optimizer: Optimizer | null = null;
  let snapshot: Map<tf.Variable, tf.Tensor> | null = null;
  try {
    const backend = await selectBackend(config.backend, { searchPaths: config.backendPaths, log });
    const versions = {
      'was-lab': packageVersion(),
      tfjs: tf.version_core,
      node: process.version,
      ...(backend.packagePath ? { backendPackage: backend.packagePath } : {}),
    };
    folder.writeJson('config.json', { runId: folder.id, createdAt: new Date(startTime).toISOString(), seed, config, backend: backendInfo(backend), versions });

    // Independent streams, so that e.g. changing the augmentation does not change the init.
    const root = new Rng(seed);
    const initRng = root.fork();
    const splitRng = root.fork();
    const orderRng = root.fork();
    const augmentRng = root.fork();
    const shadowRng = root.fork();
    const evalSeed = root.nextUint32();

    emit({ type: 'phase', time: Date.now(), phase: 'loading-data', epoch: null });
    const dataset = await loadDataset(config.data, { seed, onProgress: (m) => log(m) });
    const { train, validation } = splitTrainValidation(dataset.train, config.data.validationSize, splitRng);
    const selection = config.selectOn === 'test' ? dataset.test : validation;
    if (!selection)
      throw new Error('selectOn is "validation" but data.validationSize is 0: hold out validation images or select on the test set');
    const augment = resolveAugment(config.data.name, config.data.augment);
    if (train.count < 1) throw new Error('the training split is empty');

    emit({ type: 'phase', time: Date.now(), phase: 'building-model', epoch: null });
    const spec = { height: dataset.height, width: dataset.width, channels: dataset.channels, numClasses: dataset.numClasses };
    model = buildModel(config.model, spec, { rng: initRng, bnEpsilon: config.bn.epsilon });
    const shadowLayers = selectShadowLayers(model.store.convs, config.was.transform, config.was.layers);
    const trainable = [...model.store.trainable.values()];
    optimizer = new Optimizer(config.optimizer, new Map(trainable.map((v) => [v.name, v])));
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
      model: { name: model.name, parameters: model.store.countTrainable(), shadowLayers },
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
    };
    emit(start);

    const trainBatches = new BatchMaker(dataset, config.batchSize, { padding: DEFAULT_CROP_PADDING, flip: true });
    const evalSetup: EvalSetup = {
      model,
      bn: config.bn,
      batches: new BatchMaker(dataset, config.evalBatchSize),
      calibration: train,
      calibrationBatches: trainBatches,
      domTransforms: randomTransforms(family, params, new Rng(evalSeed)),
    };
    const trainCtx: ForwardContext = {
      weights: 'shadow',
      bn: 'batch',
      statSet: 'train',
      statMomentum: config.bn.momentum,
      transformFor: randomTransforms(family, params, shadowRng),
    };
    const imageShape: [number, number, number] = [dataset.height, dataset.width, dataset.channels];
    const hasShadow = shadowLayers.length > 0;

    let step = 0;
    let stopReason: string | null = null;
    for (let epoch = 1; epoch <= config.epochs && stopReason === null; epoch++) {
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
        log(`stop requested (${stopReason}) at epoch ${epoch}, step ${stepInEpoch}; the partial epoch is not evaluated`);
        break;
      }

      emit({ type: 'phase', time: Date.now(), phase: 'evaluating', epoch });
      const aom = evaluateMode('aom', selection, evalSetup);
      const dom = hasShadow ? evaluateMode('dom', selection, evalSetup) : aom;
      const isBest = best === null || aom > best.accuracy;
      if (isBest) {
        best = { epoch, accuracy: aom };
        snapshot = takeSnapshot(model, snapshot);
      }
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
    }

    if (best !== null && snapshot !== null) {
      emit({ type: 'phase', time: Date.now(), phase: 'testing', epoch: best.epoch });
      restoreSnapshot(snapshot);
      // DOM test draws are seeded on their own so the test number does not depend on history.
      const testSetup = { ...evalSetup, domTransforms: randomTransforms(family, params, new Rng(evalSeed ^ 0x5bd1e995)) };
      const aom = evaluateMode('aom', dataset.test, testSetup);
      const dom = hasShadow ? evaluateMode('dom', dataset.test, testSetup) : aom;
      test = { aom, dom, epoch: best.epoch };
    }
    return stopReason !== null ? finish('stopped', stopReason) : finish('completed', null);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(message, 'error');
    return finish('failed', message);
  } finally {
    if (snapshot) for (const t of snapshot.values()) t.dispose();
    optimizer?.dispose();
    model?.store.dispose();
  }
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

/** Copies of every variable (weights and BN statistics) at the best epoch. */
function takeSnapshot(model: Model, previous: Map<tf.Variable, tf.Tensor> | null): Map<tf.Variable, tf.Tensor> {
  if (previous) for (const t of previous.values()) t.dispose();
  const snap = new Map<tf.Variable, tf.Tensor>();
  for (const v of [...model.store.trainable.values(), ...model.store.state.values()]) snap.set(v, tf.clone(v));
  return snap;
}

function restoreSnapshot(snapshot: Map<tf.Variable, tf.Tensor>): void {
  for (const [v, t] of snapshot) v.assign(t);
}

function backendInfo(choice: BackendChoice): RunStartEvent['backend'] {
  return { name: choice.name, reason: choice.reason, skipped: choice.skipped };
}
