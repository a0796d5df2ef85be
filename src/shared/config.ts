// The training configuration, declared once: each option's rule, its command-line flag and help
// line, in one valibot declaration (TRAIN_CONFIG). From it come the TrainConfig type, the checks of
// config files, flags and settings, the option table the flag parser reads, and the JSON schema
// of experiment files (scripts/experiment-schema.ts). The defaults are plain values below.
// Resolution order: DEFAULTS <- preset <- config file <- command-line flags.
// Shared by the trainer, the extension and the webview: no Node or tfjs imports here.

import * as v from 'valibot';
import { flag as boolean, issuePath, joinPath, finiteNumber, listOf, oneOf, text } from './schema';
import { ValidationError, describe, expectOneOf, isObject, type JsonObject } from './validate';
import { runNameProblem } from './run-naming';

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

/**
 * 'tensorflow-gpu' is @tensorflow/tfjs-node-gpu, 'webgpu' is @tensorflow/tfjs-backend-webgpu on Dawn
 * (npm `webgpu`), 'tensorflow-cpu' is @tensorflow/tfjs-node. `auto` tries them in this order.
 */
export const BACKEND_NAMES = ['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow-cpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export const PRESET_NAMES = ['sound', 'reference'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export const DOM_SEARCH_ALGORITHMS = ['lazy-greedy', 'greedy'] as const;
export type DomSearchAlgorithm = (typeof DOM_SEARCH_ALGORITHMS)[number];

/** How an option's value is read from a flag ("lo,hi" for a range, "none" for null, ...). */
export type FieldSpec =
  /** above: an exclusive minimum (the value must be greater). */
  | { kind: 'number'; min?: number; above?: number; max?: number; integer?: boolean; nullable?: boolean }
  | { kind: 'string'; nullable?: boolean }
  | { kind: 'choice'; values: readonly string[] }
  | { kind: 'boolean' }
  /** [lo, hi] with 0 < lo <= hi. */
  | { kind: 'range'; nullable?: boolean; max?: number }
  /** 'preset' | 'all' | a list of layer names. */
  | { kind: 'layers' };

/** What sits beside an option's rule: how a flag value is read, its help line (also its description), its flag. */
export interface OptionInfo {
  spec: FieldSpec;
  help: string;
  flag: string | null;
}

/** Each option's info, by its schema (filled as TRAIN_CONFIG is declared). */
const INFO = new WeakMap<v.GenericSchema, OptionInfo>();

/** An option: its rule, described by its help line, with its info beside it. */
function option<S extends v.GenericSchema>(schema: S, spec: FieldSpec, help: string, flag?: string) {
  const described = v.pipe(schema, v.description(help));
  INFO.set(described, { spec, help, flag: flag ?? null });
  return described;
}

type Limits = { min?: number; max?: number; integer?: boolean };

function number(limits: Limits, help: string, flag?: string) {
  return option(finiteNumber(limits), { kind: 'number', ...limits }, help, flag);
}

function numberOrNull(limits: Limits, help: string, flag?: string) {
  return option(v.nullable(finiteNumber(limits)), { kind: 'number', ...limits, nullable: true }, help, flag);
}

function choice<const T extends readonly [string, ...string[]]>(values: T, help: string, flag?: string) {
  return option(oneOf(values), { kind: 'choice', values }, help, flag);
}

function yesNo(help: string, flag?: string) {
  return option(boolean(), { kind: 'boolean' }, help, flag);
}

function string(help: string, flag?: string) {
  return option(text(), { kind: 'string' }, help, flag);
}

function stringOrNull(help: string, flag?: string) {
  return option(v.nullable(text()), { kind: 'string', nullable: true }, help, flag);
}

/** A run folder's name: the one rule of shared/run-naming.ts, so a bad name is refused where the config is read. */
function runNameOrNull(help: string, flag?: string) {
  const name = v.pipe(text(), v.check((value) => runNameProblem(value) === null, (issue) => runNameProblem(String(issue.input)) ?? 'a bad run name'));
  return option(v.nullable(name), { kind: 'string', nullable: true }, help, flag);
}

/**
 * A FLOPs target: a fraction of the AOM FLOPs, above 0 (no DOM runs on no FLOPs) and at most 1. The
 * one rule for dom.flopsTarget, `--flops-target` of train, dom and export, and the extension's prompt.
 */
export const FLOPS_TARGET = v.pipe(finiteNumber({ max: 1 }), v.gtValue(0, (issue) => `must be above 0, got ${issue.input}`));

/** Why `value` cannot be a FLOPs target, or null when it can. */
export function flopsTargetProblem(value: unknown): string | null {
  const result = v.safeParse(FLOPS_TARGET, value, { abortEarly: true });
  return result.success ? null : result.issues[0].message;
}

/** [low, high] with 0 < low <= high (<= max). */
function pair(max: number | undefined) {
  const bound = v.pipe(finiteNumber({ max }), v.gtValue(0, (issue) => `must be above 0, got ${String(issue.input)}`));
  return v.pipe(
    listOf(v.unknown()),
    v.length(2, (issue) => `expected [low, high], got ${issue.input.length} numbers`),
    v.strictTuple([bound, bound]),
    v.check(([low, high]) => low <= high, (issue) => `low ${issue.input[0]} is above high ${issue.input[1]}`),
  );
}

function range(help: string, flag?: string) {
  return option(pair(undefined), { kind: 'range' }, help, flag);
}

function rangeOrNull(max: number, help: string, flag?: string) {
  return option(v.nullable(pair(max)), { kind: 'range', nullable: true, max }, help, flag);
}

function layerChoice(help: string, flag?: string) {
  const names = v.pipe(listOf(text()), v.minLength(1, 'an empty layer list; use transform "none" to train without WAS'));
  const rule = v.union([oneOf(['preset', 'all'] as const), names], (issue) => `expected "preset", "all" or a list of layer names, got ${describe(issue.input)}`);
  return option(rule, { kind: 'layers' }, help, flag);
}

/** A group of options; any other key is refused. */
function group<const E extends v.ObjectEntries>(entries: E) {
  return v.strictObject(entries, (issue) => (issue.expected === 'never' ? 'unknown option' : `expected an object, got ${describe(issue.input)}`));
}

export const TRAIN_CONFIG = group({
  preset: choice(PRESET_NAMES, 'sound (default: held-out selection, inference-mode BN, weight decay, cosine) | reference (the published setting)', 'preset'),
  model: choice(MODEL_NAMES, 'lenet | small-cnn | vgg16 | resnet18 | resnet34 | mobilenetv2 | efficientnet-lite0 | googlenet', 'model'),
  data: group({
    name: choice(DATASET_NAMES, 'mnist (bundled) | fashion-mnist | cifar10 | cifar100 | synthetic', 'dataset'),
    /** null: the dataset's default place. */
    dir: stringOrNull('folder (or CIFAR .tar.gz) with the official files', 'data-dir'),
    download: yesNo('CIFAR: download the official archive when missing', 'download'),
    cifar100Labels: choice(['fine', 'coarse'], 'CIFAR-100 labels: fine | coarse', 'labels'),
    validationSize: number({ min: 0, integer: true }, 'training images held out for model selection', 'validation-size'),
    /** 'auto': on for CIFAR, off for MNIST-like data. */
    augment: choice(['auto', 'on', 'off'], 'auto | on | off (pad-4 random crop + horizontal flip)', 'augment'),
    /** 'dataset': per-channel mean/std of the dataset; 'half': the reference. */
    normalize: choice(['dataset', 'half'], 'dataset | half (mean 0.5, std 0.5)', 'normalize'),
    trainLimit: numberOrNull({ min: 1, integer: true }, 'use only the first N training images (none: all)', 'train-limit'),
    testLimit: numberOrNull({ min: 1, integer: true }, 'use only the first N test images (none: all)', 'test-limit'),
    /** Shape of the generated `synthetic` dataset (smoke tests). */
    synthetic: group({
      trainCount: number({ min: 1, integer: true }, 'synthetic dataset: training images'),
      testCount: number({ min: 1, integer: true }, 'synthetic dataset: test images'),
      size: number({ min: 8, max: 512, integer: true }, 'synthetic dataset: image height and width'),
      channels: number({ min: 1, max: 4, integer: true }, 'synthetic dataset: channels'),
      classes: number({ min: 2, max: 256, integer: true }, 'synthetic dataset: classes'),
    }),
  }),
  was: group({
    transform: choice(TRANSFORM_FAMILIES, 'WAS shadow-weight transform: shift | crop | mixed | none (plain training)', 'transform'),
    layers: layerChoice('transformed convs: preset | all | comma-separated layer names', 'layers'),
    /** Each axis shifts round(U(-t*k, t*k)) taps (torchvision RandomAffine translate). */
    translate: number({ min: 0, max: 1 }, 'shift: translate fraction (reference 0.3)', 'translate'),
    /** Area fraction and aspect range (torchvision RandomResizedCrop); null scale: the model's. */
    cropScale: rangeOrNull(1, 'crop: area scale lo,hi (reference 0.8,1; GoogLeNet 0.6,0.8)', 'crop-scale'),
    cropRatio: range('crop: aspect ratio lo,hi (reference 0.75,1.333)', 'crop-ratio'),
    mixedShiftProbability: number({ min: 0, max: 1 }, 'mixed: probability of a shift (else a crop), per layer per call'),
  }),
  /** Weight decay applies to conv and dense kernels only (not biases, BatchNorm or WAS alphas). */
  optimizer: group({
    name: choice(['sgd', 'adam'], 'sgd | adam', 'optimizer'),
    lr: numberOrNull({ min: 0 }, "base learning rate (none: the model's recommended rate; Adam 0.001)", 'lr'),
    momentum: number({ min: 0, max: 1 }, 'SGD momentum', 'momentum'),
    weightDecay: number({ min: 0 }, 'L2 weight decay on conv and dense kernels', 'weight-decay'),
    beta1: number({ min: 0, max: 1 }, 'Adam beta1'),
    beta2: number({ min: 0, max: 1 }, 'Adam beta2'),
    epsilon: number({ min: 0 }, 'Adam epsilon'),
  }),
  schedule: group({
    name: choice(['constant', 'step', 'cosine'], 'constant | step | cosine', 'schedule'),
    stepEpochs: number({ min: 1, integer: true }, 'step schedule: epochs between LR drops', 'step-epochs'),
    gamma: number({ min: 0, max: 1 }, 'step schedule: LR factor per drop', 'gamma'),
  }),
  bn: group({
    /**
     * 'recalibrate': inference mode, statistics re-gathered per mode (AOM, DOM) on training batches;
     * 'running': inference mode with the running statistics from training (gathered under SW);
     * 'batch': batch statistics, as the reference code does (never inference mode).
     */
    eval: choice(['recalibrate', 'running', 'batch'], 'recalibrate (per-mode statistics) | running | batch (the reference)', 'bn-eval'),
    recalibrationBatches: number({ min: 1, integer: true }, 'BatchNorm recalibration: training batches per mode'),
    momentum: number({ min: 0, max: 1 }, 'BatchNorm running-statistics momentum, PyTorch convention (new = (1 - m) * old + m * batch)'),
    epsilon: number({ min: 0 }, 'BatchNorm epsilon'),
  }),
  epochs: number({ min: 1, integer: true }, 'number of epochs', 'epochs'),
  batchSize: number({ min: 1, integer: true }, 'training batch size', 'batch-size'),
  evalBatchSize: number({ min: 1, integer: true }, 'evaluation batch size', 'eval-batch-size'),
  /** null: drawn at start and recorded in config.json. */
  seed: numberOrNull({ min: 0, max: 4294967295, integer: true }, 'random seed (none: drawn and recorded)', 'seed'),
  /** The test set is the reference's flaw. */
  selectOn: choice(['validation', 'test'], 'validation | test (the reference selects on the test set)', 'select-on'),
  maxStepsPerEpoch: numberOrNull({ min: 1, integer: true }, 'cap the steps of each epoch (quick runs)', 'max-steps-per-epoch'),
  backend: choice(BACKEND_NAMES, BACKEND_NAMES.join(' | '), 'backend'),
  // No backendPaths here: where backend code is loaded from is not a config (see BACKEND_PATHS_KEY).
  logEverySteps: number({ min: 1, integer: true }, 'a step event every N steps', 'log-every'),
  /** Wall minutes of training between checkpoints inside an epoch (fractions allowed); 0: at epoch ends only. */
  checkpointMinutes: number({ min: 0 }, 'also checkpoint inside an epoch every N minutes of training (0: only at epoch ends)', 'checkpoint-minutes'),
  runsDir: string('where run folders are created', 'runs-dir'),
  runName: runNameOrNull('run folder name (default: <time>-<model>-<dataset>)', 'run-name'),
  /** Same seed, data order and initial weights; into <run folder>/baseline/. */
  baseline: yesNo('then train the plain model (same seed, data order, init) into <run>/baseline; report the gain', 'baseline'),
  /** The deterministic DOM for a FLOPs desire (docs/method.md), searched at the end of the run. */
  dom: group({
    /** Multiply-adds; null: no search (the stochastic reference DOM is evaluated either way). */
    flopsTarget: option(v.nullable(FLOPS_TARGET), { kind: 'number', above: 0, max: 1, nullable: true }, 'after training, search a fixed DOM with at most this fraction of the AOM FLOPs (e.g. 0.7)', 'flops-target'),
    /** 'greedy' re-measures every move at every step; 'lazy-greedy' only the cheapest-looking one. */
    search: choice(DOM_SEARCH_ALGORITHMS, 'DOM search: lazy-greedy | greedy', 'dom-search'),
    /** The stochastic DOM's test accuracy is the mean over this many independent draws (each a BatchNorm recalibration and a test pass). */
    testDraws: number({ min: 1, max: 100, integer: true }, 'stochastic DOM: test-set evaluations, each with its own draws; the reported DOM test accuracy is their mean', 'dom-test-draws'),
  }),
});

export type TrainConfig = v.InferOutput<typeof TRAIN_CONFIG>;
export type DataConfig = TrainConfig['data'];
export type WasConfig = TrainConfig['was'];
export type OptimizerConfig = TrainConfig['optimizer'];
export type ScheduleConfig = TrainConfig['schedule'];
export type BatchNormConfig = TrainConfig['bn'];
export type DomConfig = TrainConfig['dom'];

/** The keys an experiment file (`*.was.json`) may hold besides the options. */
export const EXPERIMENT_KEYS = {
  $schema: v.optional(v.pipe(text(), v.description('The schema this file follows (for editors); not an option.'))),
};

/**
 * An experiment file as its JSON schema describes it: the options and EXPERIMENT_KEYS, each key
 * optional (scripts/experiment-schema.ts drops "required"). The trainer checks a file by merging
 * its options over the defaults and the preset (resolveConfig), so it needs no partial twin.
 */
export const EXPERIMENT_FILE = v.pipe(
  group({ ...EXPERIMENT_KEYS, ...TRAIN_CONFIG.entries }),
  v.title('WAS Lab experiment'),
  v.description('Training options for was-train --config and the WAS Lab extension; every key is optional (defaults, then the preset, then this file).'),
);

/**
 * Where backend code (the native @tensorflow/tfjs-node(-gpu) packages) is loaded from is never a
 * config's to say: a config travels with a workspace (experiment files, --config files) and with
 * a run folder (config.json, checkpoint manifests), and a folder named there would make the trainer
 * run that workspace's code. Only the person at the machine chooses: `--backend-path` (typed, or
 * the extension's installed backend), or WAS_LAB_BACKEND_PATH. The key earlier versions recorded
 * in config.json is refused in a file that asks for a run, and ignored in a stored run.
 */
export const BACKEND_PATHS_KEY = 'backendPaths';

/** Why a config may not hold backendPaths, and where backend folders go instead (the error names the file). */
export const BACKEND_PATHS_REFUSAL =
  'not an option of a config or experiment file: backend code is loaded only from folders chosen on this machine, ' +
  'never from a file that travels with a workspace or a run. Remove it, and pass the folder with --backend-path <folder> ' +
  '(or list it in WAS_LAB_BACKEND_PATH); in VS Code, run WAS: Install TensorFlow Backend';

/**
 * A run's stored config (config.json or a checkpoint's manifest, written by earlier versions
 * with backendPaths) without that key, so that old runs still resume, export and search a DOM,
 * never loading from those folders; `ignored` says what was dropped (null: nothing).
 */
export function withoutBackendPaths(stored: unknown, where: string): { config: unknown; ignored: string | null } {
  if (!isObject(stored) || !Object.hasOwn(stored, BACKEND_PATHS_KEY)) return { config: stored, ignored: null };
  const { [BACKEND_PATHS_KEY]: dropped, ...config } = stored;
  const named = JSON.stringify(dropped) ?? String(dropped);
  const ignored =
    `${where} names ${BACKEND_PATHS_KEY} ${named.length > 200 ? `${named.slice(0, 200)}...` : named}, recorded by an earlier version of WAS Lab: ignored, ` +
    'backend code is loaded only from --backend-path, WAS_LAB_BACKEND_PATH or the installed backend';
  return { config, ignored };
}

/** A file's options without EXPERIMENT_KEYS. */
export function experimentOptions(file: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(file).filter(([key]) => !Object.hasOwn(EXPERIMENT_KEYS, key)));
}

/** Every default, in one place; typed by TRAIN_CONFIG, and parsed by it whenever a config resolves. */
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
  logEverySteps: 20,
  checkpointMinutes: 10,
  runsDir: '.was/runs',
  runName: null,
  baseline: false,
  dom: { flopsTarget: null, search: 'lazy-greedy', testDraws: 5 },
};

/** What each preset changes from DEFAULTS. 'reference' is the published setting (docs/method.md). */
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

/** An option as a row: its path ("data.name"), its rule and its info; in declaration order. */
export interface ConfigOption extends OptionInfo {
  path: string;
  schema: v.GenericSchema;
}

/** The info an option carries, or undefined for a group (or any other schema). */
export function optionInfo(schema: v.GenericSchema): OptionInfo | undefined {
  return INFO.get(schema);
}

function collectOptions(entries: v.ObjectEntries, prefix: string): ConfigOption[] {
  return Object.entries(entries).flatMap(([key, schema]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    const info = optionInfo(schema);
    if (info) return [{ path, schema, ...info }];
    if (isGroup(schema)) return collectOptions(schema.entries, path);
    throw new Error(`config declaration: ${path} is neither an option nor a group`);
  });
}

function isGroup(schema: v.GenericSchema): schema is v.StrictObjectSchema<v.ObjectEntries, v.ErrorMessage<v.StrictObjectIssue> | undefined> {
  return schema.type === 'strict_object';
}

export const CONFIG_OPTIONS: readonly ConfigOption[] = collectOptions(TRAIN_CONFIG.entries, '');

/** Each option's FieldSpec by path (read from TRAIN_CONFIG). */
export const FIELDS: Readonly<Record<string, FieldSpec>> = Object.fromEntries(CONFIG_OPTIONS.map((o) => [o.path, o.spec]));

const OPTION_AT = new Map(CONFIG_OPTIONS.map((o) => [o.path, o]));

/** Check one option's value by its rule; returns the value to store. */
export function checkField(path: string, value: unknown): unknown {
  const found = OPTION_AT.get(path);
  if (!found) throw new ValidationError(path, 'unknown option');
  const result = v.safeParse(found.schema, value, { abortEarly: true });
  if (result.success) return result.output;
  throw configError(result.issues[0], path, 'config');
}

/** Parse a whole config; `where` names the source in an unknown-option message. */
export function parseConfig(value: unknown, where = 'config'): TrainConfig {
  const result = v.safeParse(TRAIN_CONFIG, value, { abortEarly: true });
  if (result.success) return result.output;
  throw configError(result.issues[0], '', where);
}

/** Apply a partial config (parsed JSON, flags) onto `base`, checking every field. */
export function applyPatch(base: TrainConfig, patch: unknown, where = 'config'): TrainConfig {
  if (!isObject(patch)) throw new ValidationError('', `expected an object, got ${describe(patch)}`);
  return parseConfig(merge(base, patch), where);
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

/**
 * A config as a run recorded it (its run-start event), read leniently: each option it holds that
 * passes its rule, the default for any other (left out by an older version, or damaged). A run's
 * history still reads, and what reads it (the compare table, the Runs tree) can trust its shape.
 */
export function recordedConfig(value: JsonObject): TrainConfig {
  const out = structuredClone(DEFAULTS) as unknown as JsonObject;
  for (const option of CONFIG_OPTIONS) {
    const keys = option.path.split('.');
    let node: unknown = value;
    for (const key of keys) node = isObject(node) && Object.hasOwn(node, key) ? node[key] : undefined;
    const result = node === undefined ? undefined : v.safeParse(option.schema, node);
    if (!result?.success) continue;
    let target = out;
    for (const key of keys.slice(0, -1)) target = target[key] as JsonObject;
    target[keys[keys.length - 1]] = result.output;
  }
  return out as unknown as TrainConfig;
}

/** `patch` over `base`: objects merge key by key, anything else replaces (own keys only, "__proto__" too). */
function merge(base: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const prior = Object.hasOwn(base, key) ? base[key] : undefined;
    const next = isObject(prior) && isObject(value) ? merge(prior, value) : value;
    Object.defineProperty(out, key, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** The first issue as a ValidationError: its path, an unknown key with a suggestion, a list item inside a union. */
function configError(issue: v.BaseIssue<unknown>, root: string, where: string): ValidationError {
  const path = joinPath(root, issuePath(issue));
  if (path === BACKEND_PATHS_KEY) return new ValidationError(path, BACKEND_PATHS_REFUSAL);
  if (issue.type === 'strict_object' && issue.expected === 'never') return new ValidationError(path, `unknown option in ${where}${suggest(path)}`);
  const inner = Array.isArray(issue.input) ? issue.issues?.find((i) => (i.path?.length ?? 0) > 0) : undefined;
  if (inner) return new ValidationError(joinPath(path, issuePath(inner)), inner.message);
  return new ValidationError(path, issue.message);
}

function suggest(path: string): string {
  const leaf = path.split('.').pop()!.toLowerCase();
  const near = Object.keys(FIELDS).filter((p) => p.toLowerCase().endsWith(leaf) || p.split('.').pop()!.toLowerCase().includes(leaf));
  return near.length > 0 && near.length < 4 ? ` (did you mean ${near.join(' or ')}?)` : '';
}
