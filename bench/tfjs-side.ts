// Our side of the benchmark: the project's real models, optimizer, ForwardContext, WAS sampler,
// BatchMaker and trainStep, exactly as runTraining wires them (src/trainer/train/session.ts), minus
// the run folder and evaluation. Everything here is timed with performance.now() around calls
// that end in dataSync, so a time covers the whole step on every backend.

import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../src/shared/config';
import { BatchMaker, DEFAULT_CROP_PADDING, epochOrder, orderBatches } from '../src/trainer/data/batches';
import { makeSyntheticDataset } from '../src/trainer/data/synthetic';
import type { ImageDataset } from '../src/trainer/data/types';
import { buildModel, selectShadowLayers } from '../src/trainer/models/index';
import type { ForwardContext } from '../src/trainer/nn/context';
import { countFlops } from '../src/trainer/nn/flops';
import type { Model } from '../src/trainer/nn/model';
import { Rng } from '../src/trainer/rng';
import { trainStep } from '../src/trainer/train/step';
import { Optimizer } from '../src/trainer/train/optimizer';
import { randomTransforms, transformParams } from '../src/trainer/train/sampler';
import { benchConfig, blockDone, inputShapeFor, VARIANTS, type BenchModel, type BlockSpec, type InputShape, type Variant } from './options';

const CLASSES = 10;
/** Distinct batches cycled through, so no step sees the previous step's exact input. */
const BATCH_RING = 4;

/** A CIFAR- or MNIST-shaped generated dataset (per-channel normalised like the real ones). */
function generatedDataset(shape: InputShape, images: number): ImageDataset {
  return makeSyntheticDataset({ trainCount: images, testCount: 1, size: shape.height, channels: shape.channels, classes: CLASSES }, 1);
}

interface Trainee {
  model: Model;
  optimizer: Optimizer;
  trainable: tf.Variable[];
}

function makeTrainee(config: TrainConfig, shape: InputShape, transform: TrainConfig['was']['transform']): { trainee: Trainee; shadowLayers: string[] } {
  const spec = { ...shape, numClasses: CLASSES };
  // Same seed for both: the plain and WAS models start from the same weights, as a baseline does.
  const model = buildModel(config.model, spec, { rng: new Rng(7), bnEpsilon: config.bn.epsilon });
  const shadowLayers = selectShadowLayers(model.store.convs, transform, config.was.layers);
  const trainable = [...model.store.trainable.values()];
  const optimizer = new Optimizer(config.optimizer, new Map(trainable.map((v) => [v.name, v])));
  return { trainee: { model, optimizer, trainable }, shadowLayers };
}

/** One model on the current backend: the plain model and its WAS twin, stepped variant by variant. */
export class ModelBench {
  readonly shape: InputShape;
  readonly parameters: number;
  readonly shadowLayers: string[];
  readonly lr: number;
  /** Multiply-adds of one image's forward pass (the plain model). */
  readonly forwardMacs: number;
  nonFiniteSteps = 0;
  private readonly plain: Trainee;
  private readonly was: Trainee;
  private readonly contexts: Record<Variant, ForwardContext>;
  private readonly batches: { pixels: Float32Array; labels: Int32Array }[] = [];
  private next = 0;

  constructor(
    readonly name: BenchModel,
    readonly batchSize: number,
    private readonly onStep?: (variant: Variant, ms: number) => void,
  ) {
    const config = benchConfig(name, batchSize);
    this.lr = config.optimizer.lr!;
    this.shape = inputShapeFor(name);
    this.plain = makeTrainee(config, this.shape, 'none').trainee;
    const was = makeTrainee(config, this.shape, 'mixed');
    this.was = was.trainee;
    this.shadowLayers = was.shadowLayers;
    this.parameters = this.plain.model.store.countTrainable();
    this.forwardMacs = countFlops(this.plain.model).total;
    const params = transformParams(config);
    const shadowRng = new Rng(11);
    const ctx = (family: 'shift' | 'crop' | 'mixed'): ForwardContext => ({
      weights: 'shadow',
      bn: 'batch',
      statSet: 'train',
      statMomentum: config.bn.momentum,
      transformFor: randomTransforms(family, params, shadowRng),
    });
    // 'plain' has no shadow layers, so its transformFor is never called (train/setup.ts does the same).
    this.contexts = { plain: ctx('shift'), shift: ctx('shift'), crop: ctx('crop'), mixed: ctx('mixed') };

    const data = generatedDataset(this.shape, batchSize * BATCH_RING);
    const maker = new BatchMaker(data, batchSize, { padding: DEFAULT_CROP_PADDING, flip: true });
    const augmentRng = new Rng(5);
    for (const indices of orderBatches(epochOrder(data.train.count, new Rng(3)), batchSize, true)) {
      const batch = maker.make(data.train, indices, augmentRng);
      this.batches.push({ pixels: batch.pixels.slice(), labels: batch.labels.slice() });
    }
  }

  /** One training step of `variant`; returns its wall time in milliseconds. */
  async step(variant: Variant): Promise<number> {
    const trainee = variant === 'plain' ? this.plain : this.was;
    const batch = this.batches[this.next++ % this.batches.length];
    const shape: [number, number, number] = [this.shape.height, this.shape.width, this.shape.channels];
    const start = performance.now();
    const { loss } = await trainStep({
      model: trainee.model,
      optimizer: trainee.optimizer,
      ctx: this.contexts[variant],
      trainable: trainee.trainable,
      pixels: batch.pixels,
      labels: batch.labels,
      imageShape: shape,
      lr: this.lr,
    });
    const ms = performance.now() - start;
    // A non-finite loss skips the optimizer update and would make the step look cheaper.
    if (!Number.isFinite(loss)) this.nonFiniteSteps++;
    this.onStep?.(variant, ms);
    return ms;
  }

  dispose(): void {
    for (const t of [this.plain, this.was]) {
      t.optimizer.dispose();
      t.model.store.dispose();
    }
  }
}

/**
 * Warm-up, then timed steps of every variant in turn: sample i of each variant comes from the
 * same iteration, so WAS/plain ratios can be taken pair by pair on a shared, noisy CPU.
 */
export async function runBlock(bench: ModelBench, spec: BlockSpec): Promise<Record<Variant, number[]>> {
  // The families share one WAS model: warming it with 'mixed' warms shift and crop too.
  for (let w = 0; w < spec.warmup; w++) for (const v of ['plain', 'mixed'] as const) await bench.step(v);
  const samples: Record<Variant, number[]> = { plain: [], shift: [], crop: [], mixed: [] };
  const start = performance.now();
  for (let i = 0; ; i++) {
    // Rotate the order, so no variant always runs right after the same other one.
    for (let j = 0; j < VARIANTS.length; j++) {
      const v = VARIANTS[(i + j) % VARIANTS.length];
      samples[v].push(await bench.step(v));
    }
    if (blockDone(spec, i + 1, (performance.now() - start) / 1000 / VARIANTS.length)) break;
  }
  return samples;
}

export interface MemoryTrace {
  model: BenchModel;
  variant: Variant;
  batchSize: number;
  steps: number;
  /** [step, numTensors, numBytes, rssBytes] samples; the first after step 1. */
  samples: [number, number, number, number][];
}

/** numTensors, bytes in tensors and RSS over `steps` WAS steps (the path that makes most tensors). */
export async function traceMemory(bench: ModelBench, variant: Variant, steps: number): Promise<MemoryTrace> {
  const samples: MemoryTrace['samples'] = [];
  const every = Math.max(1, Math.floor(steps / 10));
  for (let s = 1; s <= steps; s++) {
    await bench.step(variant);
    if (s === 1 || s % every === 0 || s === steps) {
      const m = tf.memory();
      samples.push([s, m.numTensors, m.numBytes, process.memoryUsage().rss]);
    }
  }
  return { model: bench.name, variant, batchSize: bench.batchSize, steps, samples };
}
