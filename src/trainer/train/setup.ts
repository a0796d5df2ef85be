// Set up a session, or restore one: backend, seeded streams, data, model and optimizer, then the
// run-start event. A resumed session rebuilds everything the seed determines (data split,
// streams, model) exactly as the first session did, then overwrites what training changed with
// the checkpoint: every variable, the optimizer slots and step count, and the states of the
// order, augmentation and shadow-weight streams.

import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../../shared/config';
import type { RunStartEvent } from '../../shared/protocol';
import { selectBackend, type BackendChoice } from '../backend/select';
import { BatchMaker, DEFAULT_CROP_PADDING, resolveAugment, splitTrainValidation } from '../data/batches';
import { loadDataset } from '../data/index';
import type { ImageDataset, ImageSplit } from '../data/types';
import type { EvalSetup } from '../eval/evaluate';
import { buildModel, selectShadowLayers } from '../models/index';
import type { ForwardContext } from '../nn/context';
import { countFlops } from '../nn/flops';
import type { Model } from '../nn/model';
import type { RunFolder } from '../output/run-folder';
import { Rng } from '../rng';
import { packageVersion } from '../version';
import { CheckpointError, restoreInto, type LoadedCheckpoint, type TrainingProgress } from './checkpoint';
import type { RunOutput, RunPart, TrainingIo } from './io';
import { Optimizer } from './optimizer';
import { randomTransforms, transformParams } from './sampler';
import { readFloats } from '../nn/read';

/** One session of a run: a first one, or one that resumes from a checkpoint. */
export interface Session {
  folder: RunFolder;
  /** Seed and learning rate resolved. */
  config: TrainConfig;
  resume: { checkpoint: LoadedCheckpoint; originalBackend: string | null; notes: string[] } | null;
  part: RunPart;
  /** Already loaded by the WAS part, handed to its baseline. */
  shared: { backend?: BackendChoice; dataset?: ImageDataset };
  /** Folders to look for the TensorFlow backends in: the process's (--backend-path), never the config's. */
  backendPaths?: readonly string[];
}

/** The training streams, independent so that e.g. changing the augmentation does not change the init. */
export interface Streams {
  init: Rng;
  split: Rng;
  order: Rng;
  augment: Rng;
  shadow: Rng;
  /** The root of every evaluation draw (seeded per epoch, see epochEvalSeed). */
  evalSeed: number;
}

/** Everything a session trains and evaluates with. */
export interface Run {
  folder: RunFolder;
  config: TrainConfig;
  seed: number;
  part: RunPart;
  backend: BackendChoice;
  dataset: ImageDataset;
  train: ImageSplit;
  /** The split the best epoch is selected on (validation, or test with selectOn 'test'). */
  selection: ImageSplit;
  augment: boolean;
  model: Model;
  optimizer: Optimizer;
  trainable: tf.Variable[];
  shadowLayers: string[];
  hasShadow: boolean;
  streams: Streams;
  trainBatches: BatchMaker;
  trainCtx: ForwardContext;
  imageShape: [number, number, number];
  /** Full batches only when there is at least one. */
  dropLast: boolean;
  stepsPerEpoch: number;
  totalSteps: number;
  /** An evaluation whose DOM transforms draw from their own stream, seeded with drawSeed. */
  evalSetup(drawSeed: number): EvalSetup;
}

type Versions = RunStartEvent['versions'];
type Data = { dataset: ImageDataset; train: ImageSplit; validation: ImageSplit | null; selection: ImageSplit };
type Trainee = { model: Model; optimizer: Optimizer; trainable: tf.Variable[]; shadowLayers: string[] };

export async function setUp(session: Session, io: TrainingIo, out: RunOutput, startedAt: number): Promise<Run> {
  const { config, resume } = session;
  for (const note of resume?.notes ?? []) out.log(note);
  if (config.baseline && config.was.transform === 'none') out.log('--baseline with transform none trains the same plain model twice', 'warn');
  const backend = session.shared.backend ?? (await selectBackend(config.backend, { searchPaths: session.backendPaths ?? [], log: out.log }));
  const versions: Versions = {
    'was-lab': packageVersion(),
    tfjs: tf.version_core,
    node: process.version,
    ...(backend.packagePath ? { backendPackage: backend.packagePath } : {}),
  };
  recordStart(session, backend, versions, startedAt, out);
  const streams = seedStreams(config.seed!, resume?.checkpoint.manifest.training ?? null);
  const data = await loadData(session, streams.split, out);
  out.emit({ type: 'phase', time: Date.now(), phase: 'building-model', epoch: null });
  const trainee = buildTrainee(config, data.dataset, streams.init);
  try {
    if (io.trace && !resume) io.trace({ kind: 'initialized', part: session.part, weights: await readWeights(trainee.model) });
    if (resume) restoreTrainee(trainee, resume.checkpoint);
    const run = assembleRun(session, backend, streams, data, trainee);
    out.emit(runStartEvent(run, data, versions, resume?.checkpoint.manifest ?? null));
    return run;
  } catch (error) {
    disposeTrainee(trainee);
    throw error;
  }
}

/** Free the model and optimizer (the rest is plain memory). */
export function disposeRun(run: Run): void {
  disposeTrainee(run);
}

/** config.json in a new run; in a resumed one, a warning when the backend changed. */
function recordStart(session: Session, backend: BackendChoice, versions: Versions, startedAt: number, out: RunOutput): void {
  const { folder, config, resume } = session;
  if (!resume) {
    const createdAt = new Date(startedAt).toISOString();
    folder.writeJson('config.json', { runId: folder.id, createdAt, seed: config.seed, config, backend: backendInfo(backend), versions });
  } else if (resume.originalBackend !== null && resume.originalBackend !== backend.name) {
    out.log(`the run started on ${resume.originalBackend} and resumes on ${backend.name}: its numbers will not match an uninterrupted run bit for bit`, 'warn');
  }
}

/**
 * The WAS run and its baseline derive the streams alike: same split, init, order and
 * augmentation. A resumed session continues the training streams from the checkpoint.
 */
function seedStreams(seed: number, prior: TrainingProgress | null): Streams {
  const root = new Rng(seed);
  const init = root.fork();
  const split = root.fork();
  const order = root.fork();
  const augment = root.fork();
  const shadow = root.fork();
  const evalSeed = root.nextUint32();
  if (!prior) return { init, split, order, augment, shadow, evalSeed };
  return {
    init,
    split,
    order: Rng.fromState(prior.rng.order),
    augment: Rng.fromState(prior.rng.augment),
    shadow: Rng.fromState(prior.rng.shadow),
    evalSeed,
  };
}

async function loadData(session: Session, splitRng: Rng, out: RunOutput): Promise<Data> {
  const { config } = session;
  out.emit({ type: 'phase', time: Date.now(), phase: 'loading-data', epoch: null });
  const dataset = session.shared.dataset ?? (await loadDataset(config.data, { seed: config.seed!, onProgress: (m) => out.log(m) }));
  const { train, validation } = splitTrainValidation(dataset.train, config.data.validationSize, splitRng);
  const selection = config.selectOn === 'test' ? dataset.test : validation;
  if (!selection)
    throw new Error('selectOn is "validation" but data.validationSize is 0: hold out validation images or select on the test set');
  if (train.count < 1) throw new Error('the training split is empty');
  return { dataset, train, validation, selection };
}

function buildTrainee(config: TrainConfig, dataset: ImageDataset, initRng: Rng): Trainee {
  const spec = { height: dataset.height, width: dataset.width, channels: dataset.channels, numClasses: dataset.numClasses };
  const model = buildModel(config.model, spec, { rng: initRng, bnEpsilon: config.bn.epsilon });
  try {
    // Alphas are created last, so every other parameter's init is the same with or without WAS.
    const shadowLayers = selectShadowLayers(model.store.convs, config.was.transform, config.was.layers);
    const trainable = [...model.store.trainable.values()];
    const optimizer = new Optimizer(config.optimizer, new Map(trainable.map((v) => [v.name, v])));
    return { model, optimizer, trainable, shadowLayers };
  } catch (error) {
    model.store.dispose();
    throw error;
  }
}

/** Every variable and the optimizer's state from the checkpoint, into the freshly built trainee. */
function restoreTrainee(trainee: Trainee, checkpoint: LoadedCheckpoint): void {
  const saved = checkpoint.manifest.model;
  if (saved.shadowLayers.join(',') !== trainee.shadowLayers.join(','))
    throw new CheckpointError(`${checkpoint.dir} has shadow layers [${saved.shadowLayers}], the run's config gives [${trainee.shadowLayers}]`, 'mismatch');
  restoreInto(trainee.model, trainee.optimizer, checkpoint);
}

function disposeTrainee(trainee: Pick<Trainee, 'model' | 'optimizer'>): void {
  trainee.optimizer.dispose();
  trainee.model.store.dispose();
}

function assembleRun(session: Session, backend: BackendChoice, streams: Streams, data: Data, trainee: Trainee): Run {
  const { config } = session;
  const { dataset, train } = data;
  const family = config.was.transform === 'none' ? 'shift' : config.was.transform;
  const params = transformParams(config);
  const dropLast = train.count >= config.batchSize;
  const fullSteps = dropLast ? Math.floor(train.count / config.batchSize) : 1;
  const stepsPerEpoch = Math.min(fullSteps, config.maxStepsPerEpoch ?? Infinity);
  const trainBatches = new BatchMaker(dataset, config.batchSize, { padding: DEFAULT_CROP_PADDING, flip: true });
  const evalBatches = new BatchMaker(dataset, config.evalBatchSize);
  return {
    folder: session.folder,
    config,
    seed: config.seed!,
    part: session.part,
    backend,
    dataset,
    train,
    selection: data.selection,
    augment: resolveAugment(config.data.name, config.data.augment),
    ...trainee,
    hasShadow: trainee.shadowLayers.length > 0,
    streams,
    trainBatches,
    trainCtx: {
      weights: 'shadow',
      bn: 'batch',
      statSet: 'train',
      statMomentum: config.bn.momentum,
      transformFor: randomTransforms(family, params, streams.shadow),
    },
    imageShape: [dataset.height, dataset.width, dataset.channels],
    dropLast,
    stepsPerEpoch,
    totalSteps: stepsPerEpoch * config.epochs,
    evalSetup: (drawSeed) => ({
      model: trainee.model,
      bn: config.bn,
      batches: evalBatches,
      calibration: train,
      calibrationBatches: trainBatches,
      domTransforms: randomTransforms(family, params, new Rng(drawSeed)),
    }),
  };
}

function runStartEvent(run: Run, data: Data, versions: Versions, resumedFrom: LoadedCheckpoint['manifest'] | null): RunStartEvent {
  const { config, model, dataset } = run;
  return {
    type: 'run-start',
    time: Date.now(),
    runId: run.folder.id,
    runDir: run.folder.dir,
    config,
    seed: run.seed,
    backend: backendInfo(run.backend),
    versions,
    model: { name: model.name, parameters: model.store.countTrainable(), shadowLayers: run.shadowLayers, flops: countFlops(model).total },
    dataset: {
      name: dataset.name,
      source: dataset.source,
      train: run.train.count,
      validation: data.validation?.count ?? 0,
      test: dataset.test.count,
      classes: dataset.numClasses,
    },
    stepsPerEpoch: run.stepsPerEpoch,
    epochs: config.epochs,
    ...(resumedFrom ? { resumedFrom: { epoch: resumedFrom.epoch, step: resumedFrom.training.step } } : {}),
  };
}

/** Copies of every variable by store name (for TrainingIo.trace). */
async function readWeights(model: Model): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, v] of [...model.store.trainable, ...model.store.state]) out.set(name, await readFloats(v));
  return out;
}

export function backendInfo(choice: BackendChoice): RunStartEvent['backend'] {
  return { name: choice.name, reason: choice.reason, skipped: choice.skipped, ...(choice.adapter ? { adapter: choice.adapter } : {}) };
}
