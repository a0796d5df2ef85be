// What `npm run bench` measures and how long: models, backends, step counts, flags (read with
// node:util parseArgs). Pure.

import { learningRateFor, resolveConfig, type TrainConfig } from '../src/shared/config';
import { UsageError, argTokens, flagValue } from '../src/trainer/command-line';

export { UsageError };

export const BENCH_MODELS = ['small-cnn', 'lenet', 'resnet18', 'vgg16', 'mobilenetv2'] as const;
export type BenchModel = (typeof BENCH_MODELS)[number];

/** Backends the bench can measure; 'auto' is not one (the bench names what it measures). */
export const BENCH_BACKENDS = ['wasm', 'webgpu', 'tensorflow-cpu', 'tensorflow-gpu', 'cpu'] as const;
export type BenchBackend = (typeof BENCH_BACKENDS)[number];

/** 'plain': transform none (the baseline's step); the others: WAS with that transform family. */
export const VARIANTS = ['plain', 'shift', 'crop', 'mixed'] as const;
export type Variant = (typeof VARIANTS)[number];
export const WAS_FAMILIES = ['shift', 'crop', 'mixed'] as const satisfies readonly Variant[];

/** The pure-JS cpu backend needs minutes per step for the big models (NOTES.md). */
export const CPU_BACKEND_MODELS: readonly BenchModel[] = ['lenet', 'small-cnn'];

export interface InputShape {
  height: number;
  width: number;
  channels: number;
}

/** LeNet on MNIST's shape, the rest on CIFAR's. */
export function inputShapeFor(model: BenchModel): InputShape {
  return model === 'lenet' ? { height: 28, width: 28, channels: 1 } : { height: 32, width: 32, channels: 3 };
}

/** The trainer's config for this model: the sound preset's SGD (momentum 0.9, L2 5e-4 on kernels). */
export function benchConfig(model: BenchModel, batchSize: number): TrainConfig {
  const config = resolveConfig([{ patch: { model, batchSize }, where: 'bench' }]);
  return { ...config, optimizer: { ...config.optimizer, lr: learningRateFor(config) } };
}

export interface BenchOptions {
  models: BenchModel[];
  backends: BenchBackend[];
  /** Whether --backends was given: a default backend that will not load is skipped quietly. */
  backendsGiven: boolean;
  /** Timed steps per variant per round; null: as many as fit in `blockSeconds` (at least minSteps). */
  steps: number | null;
  minSteps: number;
  maxSteps: number;
  /** Target seconds per variant per round when `steps` is null. */
  blockSeconds: number;
  /** Untimed steps of the plain and the WAS model, once per model and backend, before its first round. */
  warmup: number;
  rounds: number;
  /** null: 64 (the trainer's default batch); lower for a model that does not fit. */
  batch: number | null;
  torch: boolean;
  memoryModel: BenchModel;
  memorySteps: number;
  pipelineSeconds: number;
  /** Seconds without a finished step after which a worker is killed as hung. */
  stepTimeout: number;
  quick: boolean;
  outDir: string;
  help: boolean;
}

/**
 * The trainer's default batch, for every model. A worker that runs out of memory is retried at
 * half the batch: MobileNetV2 at 64 needs over 3 GB of the 4 GB wasm heap.
 */
export const DEFAULT_BATCH = 64;

export const DEFAULT_OPTIONS: BenchOptions = {
  models: [...BENCH_MODELS],
  backends: ['wasm', 'webgpu', 'tensorflow-cpu'],
  backendsGiven: false,
  steps: null,
  minSteps: 1,
  maxSteps: 20,
  blockSeconds: 3,
  warmup: 1,
  rounds: 3,
  batch: null,
  torch: true,
  memoryModel: 'lenet',
  memorySteps: 1000,
  pipelineSeconds: 1,
  stepTimeout: 600,
  quick: false,
  outDir: 'bench-results',
  help: false,
};

/** --quick: every model and code path once, small batches, in about a minute. */
const QUICK: Partial<BenchOptions> = {
  steps: 1,
  warmup: 0,
  rounds: 1,
  batch: 2,
  memorySteps: 50,
  pipelineSeconds: 0.2,
};

export const USAGE = `npm run bench -- [flags]

  --models a,b       ${BENCH_MODELS.join(', ')} (default: all)
  --backends a,b     ${BENCH_BACKENDS.join(', ')} (default: wasm; webgpu on a real GPU;
                     tensorflow-cpu when it loads. Named, webgpu runs on a software adapter
                     too; cpu runs ${CPU_BACKEND_MODELS.join(' and ')} only)
  --steps N          timed steps per variant per round (default: as many as fit in
                     ${DEFAULT_OPTIONS.blockSeconds} s, at least ${DEFAULT_OPTIONS.minSteps}, at most ${DEFAULT_OPTIONS.maxSteps})
  --warmup N         untimed steps of each model (plain, WAS) before the first round (default ${DEFAULT_OPTIONS.warmup})
  --rounds N         rounds; each round alternates ours and PyTorch model by model (default ${DEFAULT_OPTIONS.rounds})
  --batch N          batch for every model (default ${DEFAULT_BATCH}; halved for a model that runs out of memory)
  --memory-model M   model of the tensor-count check (default ${DEFAULT_OPTIONS.memoryModel})
  --memory-steps N   steps of the tensor-count check (default ${DEFAULT_OPTIONS.memorySteps}; 0: skip)
  --step-timeout S   kill a model's worker after S seconds without a finished step (default ${DEFAULT_OPTIONS.stepTimeout})
  --out DIR          result folder (default ${DEFAULT_OPTIONS.outDir})
  --no-torch         skip the PyTorch peer
  --quick            smoke mode (~1 min): batch 2, no warm-up, one step, one round, 50 memory steps
  --help

Environment: WAS_BENCH_PYTHON, a python with torch (default: python3, then /usr/bin/python3).
docs/benchmarks.md is rewritten only by a full run (all models, not --quick).`;

/** Flags that take a value, and what each sets. */
const VALUE_FLAGS = {
  models: (v: string) => ({ models: parseList(v, BENCH_MODELS, 'model') }),
  backends: (v: string) => ({ backends: parseList(v, BENCH_BACKENDS, 'backend'), backendsGiven: true }),
  steps: (v: string) => ({ steps: parseCount('steps', v, 1) }),
  warmup: (v: string) => ({ warmup: parseCount('warmup', v, 0) }),
  rounds: (v: string) => ({ rounds: parseCount('rounds', v, 1) }),
  batch: (v: string) => ({ batch: parseCount('batch', v, 1) }),
  'memory-model': (v: string) => ({ memoryModel: parseList(v, BENCH_MODELS, 'model')[0] }),
  'memory-steps': (v: string) => ({ memorySteps: parseCount('memory-steps', v, 0) }),
  'step-timeout': (v: string) => ({ stepTimeout: parseCount('step-timeout', v, 1) }),
  out: (v: string) => ({ outDir: v }),
} satisfies Record<string, (value: string) => Partial<BenchOptions>>;

function isValueFlag(name: string): name is keyof typeof VALUE_FLAGS {
  return Object.hasOwn(VALUE_FLAGS, name);
}

export function parseOptions(argv: readonly string[]): BenchOptions {
  const out: BenchOptions = { ...DEFAULT_OPTIONS, models: [...DEFAULT_OPTIONS.models], backends: [...DEFAULT_OPTIONS.backends] };
  const explicit = new Set<string>();
  const set = (values: Partial<BenchOptions>): void => {
    Object.assign(out, values);
    for (const key of Object.keys(values)) explicit.add(key);
  };
  for (const token of argTokens(argv, Object.keys(VALUE_FLAGS))) {
    if (token.kind === 'positional') throw new UsageError(`unexpected argument '${token.value}'`);
    const { name } = token;
    if (isValueFlag(name)) set(VALUE_FLAGS[name](flagValue(token)));
    else if (name === 'no-torch') set({ torch: false });
    else if (name === 'quick') out.quick = true;
    else if (name === 'help') out.help = true;
    else throw new UsageError(`unknown flag --${name}`);
  }
  // --quick sets what the other flags did not.
  if (out.quick) {
    for (const [key, value] of Object.entries(QUICK)) if (!explicit.has(key)) Object.assign(out, { [key]: value });
  }
  return out;
}

function parseList<T extends string>(text: string, allowed: readonly T[], what: string): T[] {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new UsageError(`no ${what} named; choose from ${allowed.join(', ')}`);
  for (const name of names) {
    if (!(allowed as readonly string[]).includes(name)) throw new UsageError(`unknown ${what} '${name}'; choose from ${allowed.join(', ')}`);
  }
  return [...new Set(names as T[])];
}

function parseCount(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${flag} must be an integer >= ${min}, got '${text}'`);
  return n;
}

/** How many timed steps a block takes: fixed, or until `blockSeconds` per variant have passed. */
export interface BlockSpec {
  warmup: number;
  steps: number | null;
  minSteps: number;
  maxSteps: number;
  /** Seconds per variant (a block of our 4 variants runs about 4x this). */
  blockSeconds: number;
}

/** Whether a block is done after `iterations` (one step of each variant) and `secondsPerVariant`. */
export function blockDone(spec: BlockSpec, iterations: number, secondsPerVariant: number): boolean {
  if (spec.steps !== null) return iterations >= spec.steps;
  return iterations >= spec.maxSteps || (iterations >= spec.minSteps && secondsPerVariant >= spec.blockSeconds);
}
