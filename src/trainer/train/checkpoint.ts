// Checkpoints: the whole state of a run at the end of an epoch, so that it can be resumed bit for
// bit, evaluated or exported later. Layout inside a run folder:
//
//   checkpoints/last.json          the pointer: {"format": "was-lab-checkpoint-pointer", "version": 1,
//                                  "epoch": 3, "dir": "epoch-0003"}; replaced atomically (temp + rename)
//   checkpoints/epoch-0003/        one finished checkpoint, written as .tmp-epoch-0003-<pid>/ and renamed
//     checkpoint.json              the manifest (CheckpointManifest below)
//     weights.bin                  float32 little-endian, the tensors back to back (offsets in the manifest)
//   checkpoints/epoch-0002/        kept while it is the best epoch
//
// `last` is the newest checkpoint; `best` is the one of the best epoch by AOM accuracy on the
// selection split, named by the last checkpoint's manifest (training.best.epoch), so one atomic
// pointer write switches both and a kill at any moment leaves a consistent pair. Folders that
// neither names (older epochs, a killed writer's temp folder) are removed after each save.
//
// weights.bin holds, by store name: every trainable variable (kernels, biases, BatchNorm gamma and
// beta, WAS alphas), every state variable (BatchNorm running statistics of every stat set:
// train, aom, dom) and every optimizer slot. The manifest adds the resolved config, the model
// spec and its shadow layers, the optimizer step count, the RNG states of the training streams,
// the global step, best-so-far bookkeeping, and a sha256 of weights.bin.
//
// API: saveCheckpoint(runDir, content) -> folder; loadCheckpoint(runDir, 'last' | 'best') ->
// LoadedCheckpoint {dir, manifest, variables: Map<store name, {shape, values}>, optimizer};
// lastCheckpointEpoch(runDir) -> number | null; restoreModel(model, checkpoint) (weights and
// BN statistics only), restoreInto(model, optimizer, checkpoint) (resume);
// modelFromCheckpoint(checkpoint) builds the model with its shadow layers and loads its weights
// (the caller disposes model.store). Missing or corrupt files raise CheckpointError naming the
// file, with code 'missing' | 'corrupt' | 'mismatch'.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { DEFAULTS, MODEL_NAMES, applyPatch, type ModelName, type TrainConfig } from '../../shared/config';
import { ValidationError, expectArray, expectNumber, expectObject, expectOneOf, expectString, nullable } from '../../shared/validate';
import { buildModel, selectShadowLayers } from '../models/index';
import type { Model, ModelSpec } from '../nn/model';
import { Rng, type RngState } from '../rng';
import type { Optimizer, OptimizerSlot, OptimizerState } from './optimizer';
import { errorMessage } from '../../shared/errors';
import { writeFileAtomicAsync, writeFileDurablyAsync } from '../../shared/node/atomic-file';

export const CHECKPOINT_FORMAT = 'was-lab-checkpoint';
export const CHECKPOINT_VERSION = 1;
const POINTER_FORMAT = 'was-lab-checkpoint-pointer';
const CHECKPOINTS = 'checkpoints';
const POINTER = 'last.json';
const MANIFEST = 'checkpoint.json';
const WEIGHTS = 'weights.bin';

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
 * Where the training loop stands at the end of an epoch: what it needs to continue. Checkpoints
 * are taken at epoch boundaries, so the data-order position is the first batch of epoch + 1,
 * whose order the `order` stream draws.
 */
export interface TrainingProgress {
  /** Optimizer steps done so far; the next epoch's first step is step + 1. */
  step: number;
  /**
   * The training streams after this epoch: the next epoch's data order, augmentation draws and
   * shadow-weight draws continue from these states (evaluation draws are seeded per epoch).
   */
  rng: { order: RngState; augment: RngState; shadow: RngState };
  /** The best epoch so far by AOM accuracy on the selection split. */
  best: { epoch: number; accuracy: number } | null;
  /** Training samples and seconds so far, and wall seconds of all sessions (run-end totals). */
  trainSamples: number;
  trainSeconds: number;
  durationSec: number;
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
  /** Epochs completed: the checkpoint was taken at the end of this epoch. */
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
  /** The checkpoint's own folder (checkpoints/epoch-NNNN). */
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

/**
 * Write the checkpoint of `content.epoch` and make it `last` (and `best` when training.best
 * names this epoch). Returns the checkpoint's folder.
 */
export async function saveCheckpoint(runDir: string, content: CheckpointContent): Promise<string> {
  assertLittleEndian();
  const root = checkpointsDir(runDir);
  await fs.promises.mkdir(root, { recursive: true });
  const name = epochDirName(content.epoch);
  const pointer = await readPointer(runDir);
  if (pointer !== null && pointer.epoch >= content.epoch)
    throw new CheckpointError(`${root} already holds a checkpoint of epoch ${pointer.epoch}; refusing to write epoch ${content.epoch} over it`, 'mismatch');

  // Lay out the entries first, then copy each tensor straight into the buffer (a backend's
  // dataSync may return a view that a later read invalidates).
  const sources: { entry: TensorEntry; read: () => ArrayLike<number> }[] = [];
  let bytes = 0;
  const add = (varName: string, group: TensorEntry['group'], slot: number, shape: number[], read: () => ArrayLike<number>): void => {
    sources.push({ entry: { name: varName, group, slot, shape: [...shape], offset: bytes }, read });
    bytes += 4 * sizeOf(shape);
  };
  for (const [group, vars] of [['trainable', content.model.store.trainable], ['state', content.model.store.state]] as const) {
    for (const [varName, v] of vars) {
      if (v.dtype !== 'float32') throw new CheckpointError(`variable ${varName} is ${v.dtype}; checkpoints hold float32`, 'mismatch');
      add(varName, group, 0, v.shape, () => v.dataSync() as Float32Array);
    }
  }
  // The optimizer knows variables by their tfjs names (prefixed per store); save store names.
  const storeNames = new Map([...content.model.store.trainable].map(([name, v]) => [v.name, name]));
  const optimizerState = content.optimizer.exportState();
  for (const s of optimizerState.slots) {
    const storeName = storeNames.get(s.variable);
    if (storeName === undefined) throw new CheckpointError(`the optimizer holds ${s.variable}, which is no trainable variable of the model`, 'mismatch');
    add(storeName, 'optimizer', s.index, s.shape, () => s.values);
  }
  const weights = Buffer.alloc(bytes);
  const floats = new Float32Array(weights.buffer, weights.byteOffset, bytes / 4);
  for (const { entry, read } of sources) floats.set(read(), entry.offset / 4);

  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
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

  // Write a temp folder, then rename: a finished checkpoint appears whole or not at all.
  const tmp = path.join(root, `.tmp-${name}-${process.pid}`);
  await fs.promises.rm(tmp, { recursive: true, force: true });
  await fs.promises.mkdir(tmp);
  await writeFileDurablyAsync(path.join(tmp, WEIGHTS), weights);
  await writeFileDurablyAsync(path.join(tmp, MANIFEST), JSON.stringify(manifest, null, 1) + '\n');
  const final = path.join(root, name);
  // A folder of this name is a leftover of a killed session that never pointed `last` at it.
  await fs.promises.rm(final, { recursive: true, force: true });
  await fs.promises.rename(tmp, final);
  const pointerText = JSON.stringify({ format: POINTER_FORMAT, version: CHECKPOINT_VERSION, epoch: content.epoch, dir: name }) + '\n';
  await writeFileAtomicAsync(path.join(root, POINTER), pointerText);

  // Keep only what `last` and `best` name.
  const keep = new Set([name, ...(content.training.best ? [epochDirName(content.training.best.epoch)] : [])]);
  for (const entry of await fs.promises.readdir(root)) {
    const stale = (entry.startsWith('epoch-') && !keep.has(entry)) || entry.startsWith('.tmp-') || (entry.startsWith(`${POINTER}.`) && entry.endsWith('.tmp'));
    if (stale) await fs.promises.rm(path.join(root, entry), { recursive: true, force: true });
  }
  return final;
}

/** The epoch of the last checkpoint, or null when the run folder has none. */
export async function lastCheckpointEpoch(runDir: string): Promise<number | null> {
  return (await readPointer(runDir))?.epoch ?? null;
}

/** Load the last checkpoint, or the best one (named by the last one's manifest). */
export async function loadCheckpoint(runDir: string, which: CheckpointWhich): Promise<LoadedCheckpoint> {
  assertLittleEndian();
  const pointer = await readPointer(runDir);
  if (pointer === null)
    throw new CheckpointError(`${runDir} has no checkpoint (${path.join(CHECKPOINTS, POINTER)} is missing): the run ended before its first epoch did`, 'missing');
  const lastDir = path.join(checkpointsDir(runDir), pointer.dir);
  const last = await readManifest(lastDir);
  if (last.epoch !== pointer.epoch)
    throw new CheckpointError(`${path.join(lastDir, MANIFEST)} is of epoch ${last.epoch} but ${POINTER} says ${pointer.epoch}`, 'corrupt');
  let dir = lastDir;
  let manifest = last;
  if (which === 'best') {
    const best = last.training.best;
    if (best === null) throw new CheckpointError(`${lastDir} names no best epoch`, 'corrupt');
    if (best.epoch !== last.epoch) {
      dir = path.join(checkpointsDir(runDir), epochDirName(best.epoch));
      manifest = await readManifest(dir);
      if (manifest.epoch !== best.epoch)
        throw new CheckpointError(`${path.join(dir, MANIFEST)} is of epoch ${manifest.epoch}, expected the best epoch ${best.epoch}`, 'corrupt');
    }
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
    checkVersion(o.version);
    const epoch = expectNumber(o.epoch, 'epoch', { integer: true, min: 1 });
    const dir = expectString(o.dir, 'dir');
    if (dir !== epochDirName(epoch)) throw new ValidationError('dir', `expected "${epochDirName(epoch)}" for epoch ${epoch}, got "${dir}"`);
    return { epoch, dir };
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
    epoch: expectNumber(o.epoch, 'epoch', { integer: true, min: 1 }),
    seed: expectNumber(o.seed, 'seed', { integer: true, min: 0, max: 4294967295 }),
    config: applyPatch(DEFAULTS, o.config, 'checkpoint config'),
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
    },
    tensors,
    weights: { file: expectOneOf(weights.file, 'weights.file', [WEIGHTS] as const), bytes, sha256: expectString(weights.sha256, 'weights.sha256') },
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
