// Checkpoints: the whole state of a run at the end of an epoch, or inside one (every
// checkpointMinutes of training), so that it can be resumed bit for bit, evaluated or exported
// later. Layout inside a run folder:
//
//   checkpoints/last.json          the pointer: {"format": "was-lab-checkpoint-pointer", "version": 1,
//                                  "epoch": 3, "dir": "epoch-0003"}; replaced atomically (temp + rename)
//   checkpoints/epoch-0003/        one finished checkpoint, written as .tmp-epoch-0003-<pid>/ and renamed
//     checkpoint.json              the manifest (CheckpointManifest below)
//     weights.bin                  float32 little-endian, the tensors back to back (offsets in the manifest)
//   checkpoints/epoch-0002/        kept while it is the best epoch
//   checkpoints/epoch-0004-step-000037/
//                                  a mid-epoch checkpoint: 37 steps into epoch 4 (3 epochs done); the
//                                  pointer is then version 2, {"epoch": 3, "stepInEpoch": 37, "dir": ...}
//
// The pointer names the newest checkpoint, the one a resume continues from ('resume'). `last` is
// the newest end-of-epoch checkpoint: the pointer's, or beside a mid-epoch one the folder of the
// epochs it completed; `best` is the one of the best epoch by AOM accuracy on the selection split,
// named by the pointer's manifest (training.best.epoch), so one atomic pointer write switches all
// three and a kill at any moment leaves a consistent set. Folders that none names (older epochs,
// earlier mid-epoch checkpoints, a killed writer's temp folder) are removed after each save. Each
// rename into checkpoints/ is followed by an fsync of the folder, so it survives a power cut.
//
// Versions: an end-of-epoch checkpoint is written as version 1 (what earlier WAS Lab reads); a
// mid-epoch one as version 2 (its manifest adds training.inEpoch), which an earlier WAS Lab
// refuses as newer rather than misreading.
//
// weights.bin holds, by store name: every trainable variable (kernels, biases, BatchNorm gamma and
// beta, WAS alphas), every state variable (BatchNorm running statistics of every stat set:
// train, aom, dom) and every optimizer slot. The manifest adds the resolved config, the model
// spec and its shadow layers, the optimizer step count, the RNG states of the training streams,
// the global step, best-so-far bookkeeping, and a sha256 of weights.bin.
//
// API: saveCheckpoint(runDir, content) -> folder; loadCheckpoint(runDir, 'last' | 'best' |
// 'resume') -> LoadedCheckpoint {dir, manifest, variables: Map<store name, {shape, values}>,
// optimizer}; lastCheckpointEpoch(runDir) -> number | null (epochs completed at the newest);
// restoreModel(model, checkpoint) (weights and BN statistics only), restoreInto(model, optimizer,
// checkpoint) (resume);
// modelFromCheckpoint(checkpoint) builds the model with its shadow layers and loads its weights
// (the caller disposes model.store). Missing or corrupt files raise CheckpointError naming the
// file, with code 'missing' | 'corrupt' | 'mismatch'.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { DEFAULTS, MODEL_NAMES, applyPatch, withoutBackendPaths, type ModelName, type TrainConfig } from '../../shared/config';
import { ValidationError, expectArray, expectNumber, expectObject, expectOneOf, expectString, nullable } from '../../shared/validate';
import { buildModel, selectShadowLayers } from '../models/index';
import type { Model, ModelSpec } from '../nn/model';
import { readValues } from '../nn/read';
import { Rng, type RngState } from '../rng';
import type { Optimizer, OptimizerSlot, OptimizerState } from './optimizer';
import { errorMessage } from '../../shared/errors';
import { fsyncDirectoryAsync, writeFileAtomicAsync, writeFileDurablyAsync } from '../../shared/node/atomic-file';

export const CHECKPOINT_FORMAT = 'was-lab-checkpoint';
/** The newest version this tool reads and writes (mid-epoch checkpoints). */
export const CHECKPOINT_VERSION = 2;
/** End-of-epoch checkpoints hold nothing version 1 lacks, and are written as version 1. */
const EPOCH_END_VERSION = 1;
const POINTER_FORMAT = 'was-lab-checkpoint-pointer';
const CHECKPOINTS = 'checkpoints';
const POINTER = 'last.json';
const MANIFEST = 'checkpoint.json';
const WEIGHTS = 'weights.bin';

/** 'last': the newest end-of-epoch checkpoint; 'best': the best epoch's. */
export type CheckpointWhich = 'last' | 'best';

/** A checkpoint is missing, corrupt, or does not fit the model it is loaded into. */
export class CheckpointError extends Error {
  constructor(
    message: string,
    readonly code: 'missing' | 'corrupt' | 'mismatch',
  ) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/**
 * Where the training loop stands: what it needs to continue. At the end of an epoch the data-order
 * position is the first batch of epoch + 1, whose order the `order` stream draws; inside an epoch
 * (inEpoch) it is batch inEpoch.steps + 1 of the order the same stream state draws again.
 */
export interface TrainingProgress {
  /** Optimizer steps done so far; the next step is step + 1. */
  step: number;
  /**
   * The training streams: `order` as it was before the epoch in progress drew its order (at an
   * epoch's end: the next epoch's), `augment` and `shadow` after the last step; the next draws
   * continue from these states (evaluation draws are seeded per epoch).
   */
  rng: { order: RngState; augment: RngState; shadow: RngState };
  /** A mid-epoch checkpoint's place in the epoch in progress; null at the end of an epoch. */
  inEpoch: EpochPosition | null;
  /** The best epoch so far by AOM accuracy on the selection split. */
  best: { epoch: number; accuracy: number } | null;
  /** Training samples and seconds so far, and wall seconds of all sessions (run-end totals). */
  trainSamples: number;
  trainSeconds: number;
  durationSec: number;
}

/** How far the epoch in progress (the checkpoint's epoch + 1) went, and its sums so far. */
export interface EpochPosition {
  /** Steps of the epoch done: the next batch is number steps + 1 of the epoch's order. */
  steps: number;
  /** Sums over the epoch's steps (loss times batch size, correct, images) and its train seconds. */
  loss: number;
  correct: number;
  seen: number;
  seconds: number;
  /** The same sums since the last step event (the next one averages over them). */
  window: { loss: number; correct: number; seen: number };
}

export interface TensorEntry {
  /** The store name (`conv2.kernel`, `bn1.mean.aom`), or for an optimizer slot its variable's. */
  name: string;
  group: 'trainable' | 'state' | 'optimizer';
  /** Optimizer slot index (0: momentum / first moment, 1: second moment); 0 otherwise. */
  slot: number;
  shape: number[];
  /** Byte offset in weights.bin; the entry holds prod(shape) float32 values. */
  offset: number;
}

export interface CheckpointManifest {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  runId: string;
  createdAt: string;
  /** Epochs completed: the checkpoint was taken at the end of this epoch, or inside the next (training.inEpoch). */
  epoch: number;
  seed: number;
  /** The run's resolved config (seed and learning rate filled in). */
  config: TrainConfig;
  model: { name: ModelName; spec: ModelSpec; shadowLayers: string[] };
  optimizer: { name: OptimizerState['name']; steps: number };
  training: TrainingProgress;
  tensors: TensorEntry[];
  weights: { file: typeof WEIGHTS; bytes: number; sha256: string };
}

export interface SavedTensor {
  shape: number[];
  values: Float32Array;
}

export interface LoadedCheckpoint {
  /** The checkpoint's own folder (checkpoints/epoch-NNNN, or epoch-NNNN-step-SSSSSS inside an epoch). */
  dir: string;
  manifest: CheckpointManifest;
  /** Model variables (trainable and state) by store name. */
  variables: Map<string, SavedTensor>;
  /** Slots by the store names of their variables (restoreInto maps them to the optimizer's). */
  optimizer: OptimizerState;
}

export interface CheckpointContent {
  runId: string;
  epoch: number;
  seed: number;
  config: TrainConfig;
  model: Model;
  shadowLayers: string[];
  optimizer: Optimizer;
  training: TrainingProgress;
}

export function checkpointsDir(runDir: string): string {
  return path.join(runDir, CHECKPOINTS);
}

function epochDirName(epoch: number): string {
  return `epoch-${String(epoch).padStart(4, '0')}`;
}

/** The folder of a checkpoint: after `epoch` epochs, `stepInEpoch` steps into the next (0: at the epoch's end). */
function checkpointDirName(epoch: number, stepInEpoch: number): string {
  return stepInEpoch === 0 ? epochDirName(epoch) : `${epochDirName(epoch + 1)}-step-${String(stepInEpoch).padStart(6, '0')}`;
}

/**
 * Write the checkpoint of `content.epoch` (inside the next epoch with training.inEpoch) and make
 * it the newest, `last` at an epoch's end, and `best` when training.best names this epoch.
 * Returns the checkpoint's folder.
 */
export async function saveCheckpoint(runDir: string, content: CheckpointContent): Promise<string> {
  assertLittleEndian();
  const root = checkpointsDir(runDir);
  // A new checkpoints/ is an entry of the run folder, durable once the run folder is flushed.
  if ((await fs.promises.mkdir(root, { recursive: true })) !== undefined) await fsyncDirectoryAsync(runDir);
  const stepInEpoch = content.training.inEpoch?.steps ?? 0;
  const name = checkpointDirName(content.epoch, stepInEpoch);
  const pointer = await readPointer(runDir);
  if (pointer !== null && (pointer.epoch > content.epoch || (pointer.epoch === content.epoch && pointer.stepInEpoch >= stepInEpoch)))
    throw new CheckpointError(`${root} already holds a checkpoint at ${pointer.dir}; refusing to write ${name} over it`, 'mismatch');
  const { weights, manifest } = await serialize(content);

  // Write a temp folder, then rename: a finished checkpoint appears whole or not at all.
  const tmp = path.join(root, `.tmp-${name}-${process.pid}`);
  await fs.promises.rm(tmp, { recursive: true, force: true });
  await fs.promises.mkdir(tmp);
  await writeFileDurablyAsync(path.join(tmp, WEIGHTS), weights);
  await writeFileDurablyAsync(path.join(tmp, MANIFEST), JSON.stringify(manifest, null, 1) + '\n');
  await fsyncDirectoryAsync(tmp);
  const final = path.join(root, name);
  // A folder of this name is a leftover of a killed session that never pointed `last` at it.
  await fs.promises.rm(final, { recursive: true, force: true });
  await fs.promises.rename(tmp, final);
  // The folder's rename reaches the disk before the pointer that names it.
  await fsyncDirectoryAsync(root);
  const position = stepInEpoch === 0 ? {} : { stepInEpoch };
  const pointerText = JSON.stringify({ format: POINTER_FORMAT, version: manifest.version, epoch: content.epoch, ...position, dir: name }) + '\n';
  await writeFileAtomicAsync(path.join(root, POINTER), pointerText);
  await fsyncDirectoryAsync(root);

  // Keep only what the pointer, `last` and `best` name.
  const keep = new Set([name, ...(content.epoch > 0 ? [epochDirName(content.epoch)] : []), ...(content.training.best ? [epochDirName(content.training.best.epoch)] : [])]);
  for (const entry of await fs.promises.readdir(root)) {
    const stale = (entry.startsWith('epoch-') && !keep.has(entry)) || entry.startsWith('.tmp-') || (entry.startsWith(`${POINTER}.`) && entry.endsWith('.tmp'));
    if (stale) await fs.promises.rm(path.join(root, entry), { recursive: true, force: true });
  }
  return final;
}

/** weights.bin and the manifest that describes it. */
async function serialize(content: CheckpointContent): Promise<{ weights: Buffer; manifest: CheckpointManifest }> {
  // Lay out the entries first, then copy each tensor straight into the buffer (a backend's
  // data may be a view that a later read invalidates).
  const sources: { entry: TensorEntry; read: () => Promise<ArrayLike<number>> }[] = [];
  let bytes = 0;
  const add = (varName: string, group: TensorEntry['group'], slot: number, shape: number[], read: () => Promise<ArrayLike<number>>): void => {
    sources.push({ entry: { name: varName, group, slot, shape: [...shape], offset: bytes }, read });
    bytes += 4 * sizeOf(shape);
  };
  for (const [group, vars] of [['trainable', content.model.store.trainable], ['state', content.model.store.state]] as const) {
    for (const [varName, v] of vars) {
      if (v.dtype !== 'float32') throw new CheckpointError(`variable ${varName} is ${v.dtype}; checkpoints hold float32`, 'mismatch');
      add(varName, group, 0, v.shape, () => readValues(v));
    }
  }
  // The optimizer knows variables by their tfjs names (prefixed per store); save store names.
  const storeNames = new Map([...content.model.store.trainable].map(([name, v]) => [v.name, name]));
  const optimizerState = await content.optimizer.exportState();
  for (const s of optimizerState.slots) {
    const storeName = storeNames.get(s.variable);
    if (storeName === undefined) throw new CheckpointError(`the optimizer holds ${s.variable}, which is no trainable variable of the model`, 'mismatch');
    add(storeName, 'optimizer', s.index, s.shape, () => Promise.resolve(s.values));
  }
  const weights = Buffer.alloc(bytes);
  const floats = new Float32Array(weights.buffer, weights.byteOffset, bytes / 4);
  for (const { entry, read } of sources) floats.set(await read(), entry.offset / 4);

  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    version: content.training.inEpoch === null ? EPOCH_END_VERSION : CHECKPOINT_VERSION,
    runId: content.runId,
    createdAt: new Date().toISOString(),
    epoch: content.epoch,
    seed: content.seed,
    config: content.config,
    model: { name: content.model.name, spec: { ...content.model.spec }, shadowLayers: [...content.shadowLayers] },
    optimizer: { name: optimizerState.name, steps: optimizerState.steps },
    training: content.training,
    tensors: sources.map((x) => x.entry),
    weights: { file: WEIGHTS, bytes, sha256: createHash('sha256').update(weights).digest('hex') },
  };
  return { weights, manifest };
}

/** The epoch of the last checkpoint, or null when the run folder has none. */
export async function lastCheckpointEpoch(runDir: string): Promise<number | null> {
  return (await readPointer(runDir))?.epoch ?? null;
}

/**
 * Load a checkpoint: 'resume' the newest (the pointer's, possibly inside an epoch), 'last' the
 * newest end-of-epoch one, 'best' the best epoch's (named by the newest one's manifest).
 */
export async function loadCheckpoint(runDir: string, which: CheckpointWhich | 'resume'): Promise<LoadedCheckpoint> {
  assertLittleEndian();
  const pointer = await readPointer(runDir);
  if (pointer === null)
    throw new CheckpointError(`${runDir} has no checkpoint (${path.join(CHECKPOINTS, POINTER)} is missing): the run ended before its first epoch did`, 'missing');
  const newestDir = path.join(checkpointsDir(runDir), pointer.dir);
  const newest = await readManifest(newestDir);
  if (newest.epoch !== pointer.epoch || (newest.training.inEpoch?.steps ?? 0) !== pointer.stepInEpoch)
    throw new CheckpointError(`${path.join(newestDir, MANIFEST)} is not the checkpoint ${POINTER} names (${pointer.dir})`, 'corrupt');
  let dir = newestDir;
  let manifest = newest;
  // The end-of-epoch checkpoint asked for; a resume takes the newest as it is.
  const epoch = which === 'best' ? (newest.training.best?.epoch ?? null) : which === 'last' ? newest.epoch : undefined;
  if (epoch === null) throw new CheckpointError(`${newestDir} names no best epoch`, 'corrupt');
  if (epoch === 0) throw new CheckpointError(`${newestDir} is inside epoch 1: no epoch has ended yet`, 'missing');
  if (epoch !== undefined && pointer.dir !== epochDirName(epoch)) {
    dir = path.join(checkpointsDir(runDir), epochDirName(epoch));
    manifest = await readManifest(dir);
    if (manifest.epoch !== epoch || manifest.training.inEpoch !== null)
      throw new CheckpointError(`${path.join(dir, MANIFEST)} is not the end of epoch ${epoch}, which ${POINTER} names as ${which}`, 'corrupt');
  }
  const weights = await readWeights(dir, manifest);
  const variables = new Map<string, SavedTensor>();
  const slots: OptimizerSlot[] = [];
  for (const entry of manifest.tensors) {
    const values = new Float32Array(weights.buffer.slice(weights.byteOffset + entry.offset, weights.byteOffset + entry.offset + 4 * sizeOf(entry.shape)));
    if (entry.group === 'optimizer') slots.push({ variable: entry.name, index: entry.slot, shape: entry.shape, values });
    else {
      if (variables.has(entry.name)) throw new CheckpointError(`${path.join(dir, MANIFEST)} lists ${entry.name} twice`, 'corrupt');
      variables.set(entry.name, { shape: entry.shape, values });
    }
  }
  return { dir, manifest, variables, optimizer: { name: manifest.optimizer.name, steps: manifest.optimizer.steps, slots } };
}

/** Assign every variable of the model (trainable and state) from the checkpoint; names and shapes must match exactly. */
export function restoreModel(model: Model, checkpoint: LoadedCheckpoint): void {
  const where = checkpoint.dir;
  const targets = new Map([...model.store.trainable, ...model.store.state]);
  for (const name of checkpoint.variables.keys())
    if (!targets.has(name)) throw new CheckpointError(`${where} holds ${name}, which model ${model.name} does not have`, 'mismatch');
  for (const [name, v] of targets) {
    const saved = checkpoint.variables.get(name);
    if (!saved) throw new CheckpointError(`${where} has no value for ${name} of model ${model.name}`, 'mismatch');
    if (saved.shape.join(',') !== v.shape.join(','))
      throw new CheckpointError(`${where}: ${name} has shape [${saved.shape}], model ${model.name} needs [${v.shape}]`, 'mismatch');
  }
  tf.tidy(() => {
    for (const [name, v] of targets) v.assign(tf.tensor(checkpoint.variables.get(name)!.values, v.shape));
  });
}

/** Restore the model and the optimizer state (resume). */
export function restoreInto(model: Model, optimizer: Optimizer, checkpoint: LoadedCheckpoint): void {
  restoreModel(model, checkpoint);
  const slots = checkpoint.optimizer.slots.map((slot) => {
    const v = model.store.trainable.get(slot.variable);
    if (!v) throw new CheckpointError(`${checkpoint.dir} holds an optimizer slot for ${slot.variable}, which is not trainable in model ${model.name}`, 'mismatch');
    return { ...slot, variable: v.name };
  });
  try {
    optimizer.importState({ ...checkpoint.optimizer, slots });
  } catch (error) {
    throw new CheckpointError(`${checkpoint.dir}: ${errorMessage(error)}`, 'mismatch');
  }
}

/** Build the checkpoint's model (with its shadow layers) and load its weights; the caller disposes model.store. */
export function modelFromCheckpoint(checkpoint: LoadedCheckpoint): Model {
  const { manifest } = checkpoint;
  // The init draws are overwritten by the checkpoint; any seed will do.
  const model = buildModel(manifest.model.name, manifest.model.spec, { rng: new Rng(0), bnEpsilon: manifest.config.bn.epsilon });
  try {
    if (manifest.model.shadowLayers.length > 0) selectShadowLayers(model.store.convs, 'shift', manifest.model.shadowLayers);
    restoreModel(model, checkpoint);
  } catch (error) {
    model.store.dispose();
    throw error;
  }
  return model;
}

// ---- reading and checking files (untrusted input) ----

interface Pointer {
  epoch: number;
  /** Steps into epoch + 1 of a mid-epoch checkpoint; 0 at an epoch's end. */
  stepInEpoch: number;
  dir: string;
}

async function readPointer(runDir: string): Promise<Pointer | null> {
  const file = path.join(checkpointsDir(runDir), POINTER);
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return parseFile(file, text, (o) => {
    expectOneOf(o.format, 'format', [POINTER_FORMAT] as const);
    const version = checkVersion(o.version);
    const stepInEpoch = version >= 2 && o.stepInEpoch !== undefined ? expectNumber(o.stepInEpoch, 'stepInEpoch', { integer: true, min: 1 }) : 0;
    const epoch = expectNumber(o.epoch, 'epoch', { integer: true, min: stepInEpoch > 0 ? 0 : 1 });
    const dir = expectString(o.dir, 'dir');
    const expected = checkpointDirName(epoch, stepInEpoch);
    if (dir !== expected) throw new ValidationError('dir', `expected "${expected}" for epoch ${epoch}${stepInEpoch > 0 ? `, step ${stepInEpoch}` : ''}, got "${dir}"`);
    return { epoch, stepInEpoch, dir };
  });
}

async function readManifest(dir: string): Promise<CheckpointManifest> {
  const file = path.join(dir, MANIFEST);
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CheckpointError(`checkpoint file ${file} is missing`, 'missing');
    throw error;
  }
  return parseFile(file, text, parseManifest);
}

export function parseManifest(o: Record<string, unknown>): CheckpointManifest {
  expectOneOf(o.format, 'format', [CHECKPOINT_FORMAT] as const);
  const version = checkVersion(o.version);
  const model = expectObject(o.model, 'model');
  const spec = expectObject(model.spec, 'model.spec');
  const optimizer = expectObject(o.optimizer, 'optimizer');
  const training = expectObject(o.training, 'training');
  const rng = expectObject(training.rng, 'training.rng');
  const weights = expectObject(o.weights, 'weights');
  const count = (v: unknown, p: string) => expectNumber(v, p, { integer: true, min: 0 });
  const bytes = count(weights.bytes, 'weights.bytes');
  const tensors = expectArray(o.tensors, 'tensors').map((t, i): TensorEntry => {
    const e = expectObject(t, `tensors[${i}]`);
    const shape = expectArray(e.shape, `tensors[${i}].shape`).map((d, j) => count(d, `tensors[${i}].shape[${j}]`));
    const offset = count(e.offset, `tensors[${i}].offset`);
    if (offset % 4 !== 0 || offset + 4 * sizeOf(shape) > bytes)
      throw new ValidationError(`tensors[${i}]`, `offset ${offset} and shape [${shape}] do not fit in ${bytes} bytes`);
    return {
      name: expectString(e.name, `tensors[${i}].name`),
      group: expectOneOf(e.group, `tensors[${i}].group`, ['trainable', 'state', 'optimizer'] as const),
      slot: count(e.slot, `tensors[${i}].slot`),
      shape,
      offset,
    };
  });
  // Each value is copied out of weights.bin on load: entries that cover the same bytes many times over would multiply it.
  const held = tensors.reduce((sum, t) => sum + 4 * sizeOf(t.shape), 0);
  if (held > bytes) throw new ValidationError('tensors', `they hold ${held} bytes, more than the ${bytes} bytes of weights.bin`);
  return {
    format: CHECKPOINT_FORMAT,
    version,
    runId: expectString(o.runId, 'runId'),
    createdAt: expectString(o.createdAt, 'createdAt'),
    epoch: expectNumber(o.epoch, 'epoch', { integer: true, min: version >= 2 ? 0 : 1 }),
    seed: expectNumber(o.seed, 'seed', { integer: true, min: 0, max: 4294967295 }),
    // Earlier versions recorded backendPaths here too: dropped, never used (see BACKEND_PATHS_KEY).
    config: applyPatch(DEFAULTS, withoutBackendPaths(o.config, 'checkpoint config').config, 'checkpoint config'),
    model: {
      name: expectOneOf(model.name, 'model.name', MODEL_NAMES),
      spec: {
        height: count(spec.height, 'model.spec.height'),
        width: count(spec.width, 'model.spec.width'),
        channels: count(spec.channels, 'model.spec.channels'),
        numClasses: count(spec.numClasses, 'model.spec.numClasses'),
      },
      shadowLayers: expectArray(model.shadowLayers, 'model.shadowLayers').map((s, i) => expectString(s, `model.shadowLayers[${i}]`)),
    },
    optimizer: {
      name: expectOneOf(optimizer.name, 'optimizer.name', ['sgd', 'adam'] as const),
      steps: count(optimizer.steps, 'optimizer.steps'),
    },
    training: {
      step: count(training.step, 'training.step'),
      rng: { order: rngState(rng.order, 'training.rng.order'), augment: rngState(rng.augment, 'training.rng.augment'), shadow: rngState(rng.shadow, 'training.rng.shadow') },
      best: nullable(training.best ?? null, (v) => {
        const b = expectObject(v, 'training.best');
        return { epoch: expectNumber(b.epoch, 'training.best.epoch', { integer: true, min: 1 }), accuracy: expectNumber(b.accuracy, 'training.best.accuracy') };
      }),
      trainSamples: count(training.trainSamples, 'training.trainSamples'),
      trainSeconds: expectNumber(training.trainSeconds, 'training.trainSeconds', { min: 0 }),
      durationSec: expectNumber(training.durationSec, 'training.durationSec', { min: 0 }),
      inEpoch: version >= 2 && training.inEpoch != null ? epochPosition(training.inEpoch) : null,
    },
    tensors,
    weights: { file: expectOneOf(weights.file, 'weights.file', [WEIGHTS] as const), bytes, sha256: expectString(weights.sha256, 'weights.sha256') },
  };
}

function epochPosition(value: unknown): EpochPosition {
  const o = expectObject(value, 'training.inEpoch');
  const window = expectObject(o.window, 'training.inEpoch.window');
  const sum = (v: unknown, p: string) => expectNumber(v, `training.inEpoch.${p}`, { min: 0 });
  const count = (v: unknown, p: string) => expectNumber(v, `training.inEpoch.${p}`, { integer: true, min: 0 });
  return {
    steps: expectNumber(o.steps, 'training.inEpoch.steps', { integer: true, min: 1 }),
    loss: sum(o.loss, 'loss'),
    correct: count(o.correct, 'correct'),
    seen: count(o.seen, 'seen'),
    seconds: sum(o.seconds, 'seconds'),
    window: { loss: sum(window.loss, 'window.loss'), correct: count(window.correct, 'window.correct'), seen: count(window.seen, 'window.seen') },
  };
}

async function readWeights(dir: string, manifest: CheckpointManifest): Promise<Buffer> {
  const file = path.join(dir, WEIGHTS);
  let data: Buffer;
  try {
    data = await fs.promises.readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CheckpointError(`checkpoint file ${file} is missing`, 'missing');
    throw error;
  }
  if (data.length !== manifest.weights.bytes)
    throw new CheckpointError(`${file} is corrupt: ${data.length} bytes, the manifest says ${manifest.weights.bytes}`, 'corrupt');
  const sha256 = createHash('sha256').update(data).digest('hex');
  if (sha256 !== manifest.weights.sha256) throw new CheckpointError(`${file} is corrupt: its sha256 does not match the manifest`, 'corrupt');
  return data;
}

function parseFile<T>(file: string, text: string, parse: (o: Record<string, unknown>) => T): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(`${file} is corrupt: not JSON (${errorMessage(error)})`, 'corrupt');
  }
  try {
    return parse(expectObject(json, ''));
  } catch (error) {
    if (error instanceof ValidationError) throw new CheckpointError(`${file} is corrupt: ${error.message}`, 'corrupt');
    throw error;
  }
}

function checkVersion(value: unknown): number {
  const version = expectNumber(value, 'version', { integer: true, min: 1 });
  if (version > CHECKPOINT_VERSION) throw new ValidationError('version', `version ${version} is newer than this tool reads (${CHECKPOINT_VERSION}); update WAS Lab`);
  return version;
}

function rngState(value: unknown, where: string): RngState {
  const words = expectArray(value, where).map((w, i) => expectNumber(w, `${where}[${i}]`, { integer: true, min: 0, max: 4294967295 }));
  if (words.length !== 4 || words.every((w) => w === 0)) throw new ValidationError(where, 'expected four 32-bit words, not all zero');
  return [words[0], words[1], words[2], words[3]];
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function assertLittleEndian(): void {
  // weights.bin is little-endian float32, the typed arrays' byte order on every platform Node ships for.
  if (os.endianness() !== 'LE') throw new CheckpointError('checkpoints need a little-endian machine', 'mismatch');
}
