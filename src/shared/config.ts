// The training configuration: plain data, every default in this one file.
// Resolution order: DEFAULTS <- preset <- config file <- command-line flags.
// Shared by the trainer, the extension and the webview: no Node or tfjs imports here.

import {
  ValidationError,
  describe,
  expectArray,
  expectBoolean,
  expectNumber,
  expectObject,
  expectOneOf,
  expectString,
  isObject,
  type JsonObject,
} from './validate';

export const MODEL_NAMES = [
  'lenet',
  'small-cnn',
  'vgg16',
  'resnet18',
  'resnet34',
  'mobilenetv2',
  'efficientnet-lite0',
  'googlenet',
] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export const DATASET_NAMES = ['mnist', 'fashion-mnist', 'cifar10', 'cifar100', 'synthetic'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export const TRANSFORM_FAMILIES = ['none', 'shift', 'crop', 'mixed'] as const;
export type TransformFamily = (typeof TRANSFORM_FAMILIES)[number];

/** 'tensorflow-gpu' is @tensorflow/tfjs-node-gpu, 'tensorflow-cpu' is @tensorflow/tfjs-node. */
export const BACKEND_NAMES = ['auto', 'tensorflow-gpu', 'tensorflow-cpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export const PRESET_NAMES = ['sound', 'reference'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export interface DataConfig {
  name: DatasetName;
  /** Folder (or .tar.gz for CIFAR) holding the official files; null: the dataset's default place. */
  dir: string | null;
  /** CIFAR only: download the official archive into `dir` (or the cache) when it is missing. */
  download: boolean;
  /** CIFAR-100 label set. */
  cifar100Labels: 'fine' | 'coarse';
  /** Training images held out for model selection (0: none). */
  validationSize: number;
  /** Pad-4 random crop + horizontal flip. 'auto': on for CIFAR, off for MNIST-like data. */
  augment: 'auto' | 'on' | 'off';
  /** 'dataset': per-channel mean/std of the dataset; 'half': mean 0.5, std 0.5 (the reference). */
  normalize: 'dataset' | 'half';
  /** Use only this many training / test images (quick runs); null: all. */
  trainLimit: number | null;
  testLimit: number | null;
  /** Shape of the generated `synthetic` dataset (smoke tests). */
  synthetic: { trainCount: number; testCount: number; size: number; channels: number; classes: number };
}

export interface WasConfig {
  /** Shadow-weight transform family; 'none' trains the plain model (the baseline). */
  transform: TransformFamily;
  /** Which convs get shadow weights: the model's preset, every conv with k > 1, or names. */
  layers: 'preset' | 'all' | string[];
  /** shift: each axis shifts round(U(-t*k, t*k)) taps (torchvision RandomAffine translate). */
  translate: number;
  /** crop: area fraction and aspect range (torchvision RandomResizedCrop); null scale: model default. */
  cropScale: [number, number] | null;
  cropRatio: [number, number];
  /** mixed: probability of shift (else crop), per layer per call. */
  mixedShiftProbability: number;
}

export interface OptimizerConfig {
  name: 'sgd' | 'adam';
  /** null: the model's recommended rate (RECOMMENDED_LR). */
  lr: number | null;
  momentum: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

export interface ScheduleConfig {
  name: 'constant' | 'step' | 'cosine';
  /** step: multiply the LR by `gamma` every `stepEpochs` epochs. */
  stepEpochs: number;
  gamma: number;
}

export interface BatchNormConfig {
  /**
   * How BatchNorm normalises at evaluation:
   * 'recalibrate': inference mode, statistics re-gathered per mode (AOM, DOM) on training batches;
   * 'running': inference mode with the running statistics from training (gathered under SW);
   * 'batch': batch statistics, as the reference code does (never inference mode).
   */
  eval: 'recalibrate' | 'running' | 'batch';
  recalibrationBatches: number;
  /** Running-statistics momentum, PyTorch convention (new = (1 - m) * old + m * batch). */
  momentum: number;
  epsilon: number;
}

export interface TrainConfig {
  preset: PresetName;
  model: ModelName;
  data: DataConfig;
  was: WasConfig;
  /** Weight decay applies to conv and dense kernels only (not biases, BatchNorm or WAS alphas). */
  optimizer: OptimizerConfig;
  schedule: ScheduleConfig;
  bn: BatchNormConfig;
  epochs: number;
  batchSize: number;
  evalBatchSize: number;
  /** null: drawn at start and recorded in config.json. */
  seed: number | null;
  /** Pick the best epoch on the validation split, or on the test set (the reference's flaw). */
  selectOn: 'validation' | 'test';
  /** Cap on training steps per epoch (quick runs and tests); null: the whole epoch. */
  maxStepsPerEpoch: number | null;
  backend: BackendName;
  /** Extra folders searched for @tensorflow/tfjs-node(-gpu) (each a node_modules parent). */
  backendPaths: string[];
  /** Emit a step event every this many steps. */
  logEverySteps: number;
  /** Runs are written to runsDir/runName. null runName: <time>-<model>-<dataset>. */
  runsDir: string;
  runName: string | null;
  /**
   * After the WAS run, train the plain model (transform 'none') with the same seed, data order
   * and initial weights into <run folder>/baseline/, and report the WAS gain over it.
   */
  baseline: boolean;
  /** The deterministic DOM for a FLOPs desire (WAS.md), searched at the end of the run. */
  dom: DomConfig;
}

export const DOM_SEARCH_ALGORITHMS = ['lazy-greedy', 'greedy'] as const;
export type DomSearchAlgorithm = (typeof DOM_SEARCH_ALGORITHMS)[number];

export interface DomConfig {
  /**
   * At most this fraction of the AOM network's FLOPs (multiply-adds): after training, fix one
   * shift per transformed layer to meet it at the least selection-split accuracy cost.
   * null: no search (the stochastic reference DOM is evaluated either way).
   */
  flopsTarget: number | null;
  /** 'greedy' re-measures every move at every step; 'lazy-greedy' only the cheapest-looking one. */
  search: DomSearchAlgorithm;
}

export const DEFAULTS: TrainConfig = {
  preset: 'sound',
  model: 'lenet',
  data: {
    name: 'mnist',
    dir: null,
    download: false,
    cifar100Labels: 'fine',
    validationSize: 5000,
    augment: 'auto',
    normalize: 'dataset',
    trainLimit: null,
    testLimit: null,
    synthetic: { trainCount: 512, testCount: 128, size: 28, channels: 1, classes: 10 },
  },
  was: {
    transform: 'shift',
    layers: 'preset',
    translate: 0.3,
    cropScale: null,
    cropRatio: [3 / 4, 4 / 3],
    mixedShiftProbability: 0.5,
  },
  optimizer: { name: 'sgd', lr: null, momentum: 0.9, weightDecay: 5e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
  schedule: { name: 'cosine', stepEpochs: 30, gamma: 0.1 },
  bn: { eval: 'recalibrate', recalibrationBatches: 20, momentum: 0.1, epsilon: 1e-5 },
  epochs: 3,
  batchSize: 64,
  evalBatchSize: 500,
  seed: null,
  selectOn: 'validation',
  maxStepsPerEpoch: null,
  backend: 'auto',
  backendPaths: [],
  logEverySteps: 20,
  runsDir: '.was/runs',
  runName: null,
  baseline: false,
  dom: { flopsTarget: null, search: 'lazy-greedy' },
};

/** What each preset changes from DEFAULTS. 'reference' is the published setting (WAS.md). */
export const PRESETS: Record<PresetName, DeepPartial<TrainConfig>> = {
  sound: {},
  reference: {
    data: { validationSize: 0, augment: 'off', normalize: 'half' },
    optimizer: { name: 'sgd', lr: 0.01, momentum: 0.9, weightDecay: 0 },
    schedule: { name: 'constant' },
    bn: { eval: 'batch' },
    epochs: 500,
    batchSize: 128,
    selectOn: 'test',
  },
};

/** Base learning rate for SGD per model when none is given (Adam: 1e-3 for every model). */
export const RECOMMENDED_LR: Record<ModelName, number> = {
  lenet: 0.05,
  // Its wide flattened classifier diverges at 0.05 (see models/small-cnn.ts).
  'small-cnn': 0.01,
  vgg16: 0.05,
  resnet18: 0.05,
  resnet34: 0.05,
  mobilenetv2: 0.05,
  'efficientnet-lite0': 0.05,
  googlenet: 0.05,
};

export function learningRateFor(config: TrainConfig): number {
  if (config.optimizer.lr !== null) return config.optimizer.lr;
  return config.optimizer.name === 'adam' ? 1e-3 : RECOMMENDED_LR[config.model];
}

/** GoogLeNet's reference crop used a smaller area scale. */
export function cropScaleFor(config: TrainConfig): [number, number] {
  if (config.was.cropScale) return config.was.cropScale;
  return config.model === 'googlenet' ? [0.6, 0.8] : [0.8, 1.0];
}

export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};

/** How each option is checked; the keys are the option paths that config files and flags use. */
export type FieldSpec =
  | { kind: 'number'; min?: number; max?: number; integer?: boolean; nullable?: boolean }
  | { kind: 'string'; nullable?: boolean }
  | { kind: 'choice'; values: readonly string[] }
  | { kind: 'boolean' }
  /** [lo, hi] with 0 < lo <= hi. */
  | { kind: 'range'; nullable?: boolean; max?: number }
  | { kind: 'strings' }
  /** 'preset' | 'all' | a list of layer names. */
  | { kind: 'layers' };

export const FIELDS: Record<string, FieldSpec> = {
  preset: { kind: 'choice', values: PRESET_NAMES },
  model: { kind: 'choice', values: MODEL_NAMES },
  'data.name': { kind: 'choice', values: DATASET_NAMES },
  'data.dir': { kind: 'string', nullable: true },
  'data.download': { kind: 'boolean' },
  'data.cifar100Labels': { kind: 'choice', values: ['fine', 'coarse'] },
  'data.validationSize': { kind: 'number', min: 0, integer: true },
  'data.augment': { kind: 'choice', values: ['auto', 'on', 'off'] },
  'data.normalize': { kind: 'choice', values: ['dataset', 'half'] },
  'data.trainLimit': { kind: 'number', min: 1, integer: true, nullable: true },
  'data.testLimit': { kind: 'number', min: 1, integer: true, nullable: true },
  'data.synthetic.trainCount': { kind: 'number', min: 1, integer: true },
  'data.synthetic.testCount': { kind: 'number', min: 1, integer: true },
  'data.synthetic.size': { kind: 'number', min: 8, max: 512, integer: true },
  'data.synthetic.channels': { kind: 'number', min: 1, max: 4, integer: true },
  'data.synthetic.classes': { kind: 'number', min: 2, max: 256, integer: true },
  'was.transform': { kind: 'choice', values: TRANSFORM_FAMILIES },
  'was.layers': { kind: 'layers' },
  'was.translate': { kind: 'number', min: 0, max: 1 },
  'was.cropScale': { kind: 'range', nullable: true, max: 1 },
  'was.cropRatio': { kind: 'range' },
  'was.mixedShiftProbability': { kind: 'number', min: 0, max: 1 },
  'optimizer.name': { kind: 'choice', values: ['sgd', 'adam'] },
  'optimizer.lr': { kind: 'number', min: 0, nullable: true },
  'optimizer.momentum': { kind: 'number', min: 0, max: 1 },
  'optimizer.weightDecay': { kind: 'number', min: 0 },
  'optimizer.beta1': { kind: 'number', min: 0, max: 1 },
  'optimizer.beta2': { kind: 'number', min: 0, max: 1 },
  'optimizer.epsilon': { kind: 'number', min: 0 },
  'schedule.name': { kind: 'choice', values: ['constant', 'step', 'cosine'] },
  'schedule.stepEpochs': { kind: 'number', min: 1, integer: true },
  'schedule.gamma': { kind: 'number', min: 0, max: 1 },
  'bn.eval': { kind: 'choice', values: ['recalibrate', 'running', 'batch'] },
  'bn.recalibrationBatches': { kind: 'number', min: 1, integer: true },
  'bn.momentum': { kind: 'number', min: 0, max: 1 },
  'bn.epsilon': { kind: 'number', min: 0 },
  epochs: { kind: 'number', min: 1, integer: true },
  batchSize: { kind: 'number', min: 1, integer: true },
  evalBatchSize: { kind: 'number', min: 1, integer: true },
  seed: { kind: 'number', min: 0, max: 4294967295, integer: true, nullable: true },
  selectOn: { kind: 'choice', values: ['validation', 'test'] },
  maxStepsPerEpoch: { kind: 'number', min: 1, integer: true, nullable: true },
  backend: { kind: 'choice', values: BACKEND_NAMES },
  backendPaths: { kind: 'strings' },
  logEverySteps: { kind: 'number', min: 1, integer: true },
  runsDir: { kind: 'string' },
  runName: { kind: 'string', nullable: true },
  baseline: { kind: 'boolean' },
  'dom.flopsTarget': { kind: 'number', min: 0, max: 1, nullable: true },
  'dom.search': { kind: 'choice', values: DOM_SEARCH_ALGORITHMS },
};

/** Check one option's value against its spec; returns the value to store. */
export function checkField(path: string, value: unknown): unknown {
  const spec = FIELDS[path];
  if (!spec) throw new ValidationError(path, 'unknown option');
  if (value === null && 'nullable' in spec && spec.nullable) return null;
  switch (spec.kind) {
    case 'number':
      return expectNumber(value, path, spec);
    case 'string':
      return expectString(value, path);
    case 'choice':
      return expectOneOf(value, path, spec.values);
    case 'boolean':
      return expectBoolean(value, path);
    case 'range': {
      const pair = expectArray(value, path);
      if (pair.length !== 2) throw new ValidationError(path, `expected [low, high], got ${pair.length} numbers`);
      const lo = expectNumber(pair[0], `${path}[0]`, { min: Number.MIN_VALUE, max: spec.max });
      const hi = expectNumber(pair[1], `${path}[1]`, { min: Number.MIN_VALUE, max: spec.max });
      if (lo > hi) throw new ValidationError(path, `low ${lo} is above high ${hi}`);
      return [lo, hi];
    }
    case 'strings':
      return expectArray(value, path).map((v, i) => expectString(v, `${path}[${i}]`));
    case 'layers':
      if (value === 'preset' || value === 'all') return value;
      if (!Array.isArray(value)) throw new ValidationError(path, `expected "preset", "all" or a list of layer names, got ${describe(value)}`);
      if (value.length === 0) throw new ValidationError(path, 'an empty layer list; use transform "none" to train without WAS');
      return value.map((v, i) => expectString(v, `${path}[${i}]`));
  }
}

/** Apply a partial config (parsed JSON, flags) onto `base`, checking every field. */
export function applyPatch(base: TrainConfig, patch: unknown, where = 'config'): TrainConfig {
  const out = structuredClone(base) as unknown as JsonObject;
  const walk = (target: JsonObject, source: JsonObject, prefix: string): void => {
    for (const [key, value] of Object.entries(source)) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (FIELDS[path]) {
        target[key] = checkField(path, value);
      } else if (isObject(target[key]) && !Array.isArray(target[key])) {
        walk(target[key] as JsonObject, expectObject(value, path), path);
      } else {
        throw new ValidationError(path, `unknown option in ${where}${suggest(path)}`);
      }
    }
  };
  walk(out, expectObject(patch, ''), '');
  return out as unknown as TrainConfig;
}

/** DEFAULTS, then the preset named by the last patch that names one, then the patches in order. */
export function resolveConfig(patches: readonly { patch: unknown; where: string }[]): TrainConfig {
  let preset: PresetName = DEFAULTS.preset;
  for (const { patch, where } of patches) {
    if (isObject(patch) && patch.preset !== undefined) preset = expectOneOf(patch.preset, `${where}: preset`, PRESET_NAMES);
  }
  let config = applyPatch(DEFAULTS, PRESETS[preset], `preset ${preset}`);
  for (const { patch, where } of patches) config = applyPatch(config, patch, where);
  config.preset = preset;
  return config;
}

function suggest(path: string): string {
  const leaf = path.split('.').pop()!.toLowerCase();
  const near = Object.keys(FIELDS).filter((p) => p.toLowerCase().endsWith(leaf) || p.split('.').pop()!.toLowerCase().includes(leaf));
  return near.length > 0 && near.length < 4 ? ` (did you mean ${near.join(' or ')}?)` : '';
}
