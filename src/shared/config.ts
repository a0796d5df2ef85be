// The training configuration: plain data, every default in this one file.
// Resolution order: DEFAULTS <- preset <- config file <- command-line flags.
// Shared by the trainer, the extension and the webview: no Node or tfjs imports here.

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
  lr: number;
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
  optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
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

/** GoogLeNet's reference crop used a smaller area scale. */
export function cropScaleFor(config: TrainConfig): [number, number] {
  if (config.was.cropScale) return config.was.cropScale;
  return config.model === 'googlenet' ? [0.6, 0.8] : [0.8, 1.0];
}

export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};
