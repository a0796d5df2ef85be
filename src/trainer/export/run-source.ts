// A finished (or stopped) run, reopened from its folder for `was-train dom` and `was-train
// export`: the checkpoint's model and config, and the data exactly as the run split it, so that
// BatchNorm recalibration and every accuracy are the run's own.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BackendName, DomSearchAlgorithm, TrainConfig } from '../../shared/config';
import { parseTrainerEvent, type RunEndEvent } from '../../shared/protocol';
import { selectBackend } from '../backend/select';
import { BatchMaker, DEFAULT_CROP_PADDING, splitTrainValidation } from '../data/batches';
import { loadDataset } from '../data/index';
import { runDomSearch, type DomSearchOutcome } from '../dom/run-search';
import type { ImageDataset, ImageSplit } from '../data/types';
import type { Model } from '../nn/model';
import { Rng } from '../rng';
import { loadCheckpoint, modelFromCheckpoint, type CheckpointManifest, type CheckpointWhich } from '../train/checkpoint';
import { ignoredInRunConfig } from '../train/resume';
import type { EvalSetup } from '../eval/evaluate';
import { randomTransforms, transformParams } from '../train/sampler';

/** Everything an export or a DOM search needs about where the weights came from. */
export interface WeightsSource {
  model: Model;
  config: TrainConfig;
  seed: number;
  dataset: Pick<ImageDataset, 'name' | 'classNames' | 'mean' | 'std' | 'numClasses'>;
  /** Evaluation on the run's data: calibration on its training split. */
  setup: EvalSetup;
  selection: ImageSplit;
  selectionName: 'validation' | 'test';
  test: ImageSplit;
  /** null for a model that lives only in memory (tests). */
  run: { runId: string; runDir: string; checkpoint: CheckpointWhich; epoch: number; summary: RunEndEvent | null } | null;
}

export interface RunSource extends WeightsSource {
  run: NonNullable<WeightsSource['run']>;
  /** Frees the model's tensors. */
  dispose(): void;
}

export interface OpenOptions {
  backend?: BackendName;
  /** Folders to look for the TensorFlow backends in (--backend-path); a run's own files never say. */
  backendPaths?: readonly string[];
  log?: (line: string) => void;
  /** Checks on the model that need no data (a FLOPs target), run before the data is loaded. */
  beforeData?: (model: Model, config: TrainConfig) => void;
}

export async function openRun(runDir: string, which: CheckpointWhich, options: OpenOptions = {}): Promise<RunSource> {
  const checkpoint = await loadCheckpoint(runDir, which);
  const { config } = checkpoint.manifest;
  const ignored = ignoredInRunConfig(runDir);
  if (ignored) options.log?.(ignored);
  await selectBackend(options.backend ?? config.backend, { searchPaths: options.backendPaths ?? [], log: options.log });
  const model = modelFromCheckpoint(checkpoint);
  try {
    options.beforeData?.(model, config);
    return await withData(runDir, which, checkpoint.manifest, model, options);
  } catch (error) {
    model.store.dispose();
    throw error;
  }
}

async function withData(runDir: string, which: CheckpointWhich, manifest: CheckpointManifest, model: Model, options: OpenOptions): Promise<RunSource> {
  const { config, seed } = manifest;
  const dataset = await loadDataset(config.data, { seed, onProgress: options.log });
  const { train, validation } = runSplits(dataset, config, seed);
  const selection = config.selectOn === 'test' ? dataset.test : validation;
  if (!selection) throw new Error(`${runDir}: the run selects on a validation split of size 0`);
  const family = config.was.transform === 'none' ? 'shift' : config.was.transform;
  const setup: EvalSetup = {
    model,
    bn: config.bn,
    batches: new BatchMaker(dataset, config.evalBatchSize),
    calibration: train,
    calibrationBatches: new BatchMaker(dataset, config.batchSize, { padding: DEFAULT_CROP_PADDING, flip: true }),
    // The stochastic reference DOM, from its own seeded stream.
    domTransforms: randomTransforms(family, transformParams(config), new Rng((seed ^ 0x27d4eb2f) >>> 0)),
  };
  return {
    model,
    config,
    seed,
    dataset,
    setup,
    selection,
    selectionName: config.selectOn,
    test: dataset.test,
    run: { runId: manifest.runId, runDir, checkpoint: which, epoch: manifest.epoch, summary: readSummary(runDir) },
    dispose: () => model.store.dispose(),
  };
}

/**
 * The run's training / validation split. The training run (train/setup.ts) derives its streams
 * from the seed as root = Rng(seed), then fork() for init, fork() for the split, ...: the split
 * is the second fork, whatever else the run did.
 */
export function runSplits(dataset: ImageDataset, config: TrainConfig, seed: number): { train: ImageSplit; validation: ImageSplit | null } {
  const root = new Rng(seed);
  root.fork();
  const splitRng = root.fork();
  return splitTrainValidation(dataset.train, config.data.validationSize, splitRng);
}

/** The run's summary.json (its run-end event), when it has a readable one. */
function readSummary(runDir: string): RunEndEvent | null {
  const file = path.join(runDir, 'summary.json');
  if (!fs.existsSync(file)) return null;
  try {
    const event = parseTrainerEvent(JSON.parse(fs.readFileSync(file, 'utf8')));
    return event.type === 'run-end' ? event : null;
  } catch {
    return null;
  }
}

/** The DOM search on a saved run's weights and data (the `dom` and `export` commands). */
export function searchSavedRun(
  source: RunSource,
  options: { flopsTarget: number; algorithm: DomSearchAlgorithm; withTest: boolean; onProgress: (line: string) => void },
): Promise<DomSearchOutcome> {
  return runDomSearch({
    model: source.model,
    setup: source.setup,
    split: source.selection,
    splitName: source.selectionName,
    test: options.withTest ? source.test : null,
    flopsTarget: options.flopsTarget,
    algorithm: options.algorithm,
    translate: source.config.was.translate,
    checkpoint: source.run.checkpoint,
    epoch: source.run.epoch,
    onProgress: options.onProgress,
  });
}
