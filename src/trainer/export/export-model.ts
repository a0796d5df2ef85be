// Export one inference mode of trained weights as a TensorFlow.js LayersModel folder:
// model.json + weight shards that plain @tensorflow/tfjs loads, and was-export.json beside them
// saying what the model is (mode, FLOPs, accuracies, alphas, transforms, where it came from).
//
// Before writing, the mode's BatchNorm statistics are recalibrated (inference mode, as the run
// evaluates), both accuracies are measured with our own evaluation, and the built LayersModel is
// checked against our forward pass on test images: an export that would compute something else
// is an error, not a file.

import * as tf from '@tensorflow/tfjs';
import type { ModelName, TrainConfig } from '../../shared/config';
import type { DomLayerChoice, DomSearchEvent, InferenceMode } from '../../shared/protocol';
import { domTransforms, domWindows, NO_SHIFT, type DomPlan } from '../dom/plan';
import { layerChoices } from '../dom/search';
import type { ForwardContext } from '../nn/context';
import type { ModelSpec } from '../nn/model';
import { evaluate, recalibrate, type EvalSetup } from '../eval/evaluate';
import { packageVersion } from '../version';
import { countFlops } from '../nn/flops';
import { readScalar } from '../nn/read';
import { checkDestination, EXPORT_MARKER, writeFolderAtomically } from './folder';
import { buildLayersModel, layersModelFiles } from './layers-model';
import type { WeightsSource } from './run-source';

export const EXPORT_FORMAT = 'was-lab-export';
export const EXPORT_VERSION = 1;
/** Largest |our logits - exported logits| allowed, relative to the logits' scale. */
const MATCH_TOLERANCE = 1e-4;

export interface ExportMetadata {
  format: typeof EXPORT_FORMAT;
  version: number;
  mode: InferenceMode;
  model: { name: ModelName; spec: ModelSpec; parameters: number; shadowLayers: string[] };
  dataset: { name: string; classes: number; classNames: readonly string[] };
  /** Feed NHWC float32 images normalised as (pixel / 255 - mean[c]) / std[c]; the output is logits. */
  input: { name: string; shape: [number, number, number]; layout: 'NHWC'; normalization: { scale: number; mean: number[]; std: number[] } };
  output: 'logits';
  config: TrainConfig;
  seed: number;
  /** The run and checkpoint the weights come from; null for an in-memory model. */
  source: { runId: string; runDir: string; checkpoint: 'best' | 'last'; epoch: number } | null;
  /**
   * Our evaluation of this mode just before export (BatchNorm recalibrated): on the selection
   * split and the test set; reportedByRun: the run's own test number for this mode and epoch.
   */
  accuracy: { split: 'validation' | 'test'; selection: number; test: number; reportedByRun: number | null };
  /** Multiply-adds per image (nn/flops.ts): AOM's, and this exported model's. */
  flops: { aom: number; model: number; target: number | null };
  /** The learned WAS scale per transformed layer (folded into the exported kernels). */
  alphas: Record<string, number>;
  /** Per transformed layer: the fixed shift and the kernel taps exported (AOM: the identity). */
  transforms: DomLayerChoice[];
  /** DOM: the search that chose the transforms. */
  domSearch: Pick<DomSearchEvent, 'algorithm' | 'split' | 'flopsTarget' | 'evaluations' | 'durationSec' | 'accuracy' | 'flops'> | null;
  batchNorm: { statistics: 'recalibrated'; batches: number; epsilon: number } | null;
  tool: { name: 'was-lab'; version: string; tfjs: string };
  createdAt: string;
}

export interface ExportRequest {
  source: WeightsSource;
  mode: InferenceMode;
  /** Required for DOM: the fixed DOM and the search it came from. */
  dom: { plan: DomPlan; search: DomSearchEvent } | null;
  out: string;
  force: boolean;
  /** Called after each file is written (tests interrupt the write here). */
  afterFile?: (name: string) => void;
}

export interface ExportResult {
  dir: string;
  metadata: ExportMetadata;
  files: { name: string; bytes: number }[];
}

export async function exportModel(request: ExportRequest): Promise<ExportResult> {
  const { source, mode } = request;
  const { model, config } = source;
  if (mode === 'dom' && request.dom === null) throw new Error('a DOM export needs a fixed DOM: a FLOPs target and its search');
  // Fail before the work, not after it.
  checkDestination(request.out, request.force);
  const plan: DomPlan | null = mode === 'dom' ? request.dom!.plan : null;
  const setup: EvalSetup = { ...source.setup, bn: { ...source.setup.bn, eval: 'recalibrate' }, domTransforms: domTransforms(plan ?? new Map()) };
  recalibrate(mode, setup);
  const selection = (await evaluate(mode, source.selection, setup)).accuracy;
  const test = (await evaluate(mode, source.test, setup)).accuracy;

  const flops = mode === 'dom' ? countFlops(model, domWindows(plan!)).total : countFlops(model).total;
  if (mode === 'dom' && flops !== request.dom!.search.flops.dom)
    throw new Error(`the DOM has ${flops} FLOPs but its search counted ${request.dom!.search.flops.dom}; search again`);

  const layers = await buildLayersModel(model, mode, plan, config.bn.epsilon);
  try {
    await checkAgainstForward(layers, setup, mode, source);
    const files = await layersModelFiles(layers);
    const metadata = await describe(request, { selection, test, flops, parameters: layers.countParams() });
    files.push({ name: EXPORT_MARKER, data: Buffer.from(JSON.stringify(metadata, null, 2) + '\n') });
    writeFolderAtomically(request.out, files, { force: request.force, afterFile: request.afterFile });
    return { dir: request.out, metadata, files: files.map((f) => ({ name: f.name, bytes: f.data.length })) };
  } finally {
    layers.dispose();
  }
}

/** The exported network must compute our forward pass of the mode, on real test images. */
async function checkAgainstForward(layers: tf.LayersModel, setup: EvalSetup, mode: InferenceMode, source: WeightsSource): Promise<void> {
  const count = Math.min(64, source.test.count, setup.batches.batchSize);
  const batch = setup.batches.makeRange(source.test, 0, count);
  const { height, width, channels } = source.model.spec;
  const ctx: ForwardContext = { weights: mode === 'aom' ? 'plain' : 'shadow', bn: 'running', statSet: mode, statMomentum: null, transformFor: setup.domTransforms };
  const measured = tf.tidy(() => {
    const x = tf.tensor4d(batch.pixels, [count, height, width, channels]);
    const ours = source.model.forward(x, ctx);
    const theirs = layers.predict(x) as tf.Tensor;
    return [tf.max(tf.abs(tf.sub(ours, theirs))), tf.max(tf.abs(ours))];
  });
  const [diff, scale] = await Promise.all(measured.map(readScalar));
  tf.dispose(measured);
  if (!(diff <= MATCH_TOLERANCE * (1 + scale)))
    throw new Error(`the exported ${mode.toUpperCase()} model differs from the trained one by up to ${diff} (logits up to ${scale}); not writing it`);
}

async function describe(request: ExportRequest, measured: { selection: number; test: number; flops: number; parameters: number }): Promise<ExportMetadata> {
  const { source, mode } = request;
  const { model, config, dataset } = source;
  const shadow = model.store.convs.filter((c) => c.shadowed);
  const alphas = Object.fromEntries(await Promise.all(shadow.map(async (c) => [c.name, await readScalar(c.alpha!)] as const)));
  const plan = mode === 'dom' ? request.dom!.plan : new Map(shadow.map((c) => [c.name, NO_SHIFT]));
  const run = source.run;
  const search = request.dom?.search ?? null;
  // The run's own test number for these weights: AOM at its selected epoch, or the fixed DOM it
  // searched for the same target (never the stochastic DOM's, a different model).
  const end = run?.summary ?? null;
  const sameWeights = end?.test?.epoch === run?.epoch;
  const reported = !sameWeights ? null : mode === 'aom' ? (end?.test?.aom ?? null) : end?.flops?.dom?.target === search?.flopsTarget ? (end?.flops?.dom?.test ?? null) : null;
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    mode,
    model: { name: model.name, spec: { ...model.spec }, parameters: measured.parameters, shadowLayers: shadow.map((c) => c.name) },
    dataset: { name: dataset.name, classes: dataset.numClasses, classNames: dataset.classNames },
    input: {
      name: 'image',
      shape: [model.spec.height, model.spec.width, model.spec.channels],
      layout: 'NHWC',
      normalization: { scale: 1 / 255, mean: [...dataset.mean], std: [...dataset.std] },
    },
    output: 'logits',
    config,
    seed: source.seed,
    source: run ? { runId: run.runId, runDir: run.runDir, checkpoint: run.checkpoint, epoch: run.epoch } : null,
    accuracy: { split: source.selectionName, selection: measured.selection, test: measured.test, reportedByRun: reported },
    flops: { aom: countFlops(model).total, model: measured.flops, target: search?.flopsTarget ?? null },
    alphas,
    transforms: layerChoices(model, plan),
    domSearch: search
      ? { algorithm: search.algorithm, split: search.split, flopsTarget: search.flopsTarget, evaluations: search.evaluations, durationSec: search.durationSec, accuracy: search.accuracy, flops: search.flops }
      : null,
    batchNorm: model.store.batchNorms.length > 0 ? { statistics: 'recalibrated', batches: config.bn.recalibrationBatches, epsilon: config.bn.epsilon } : null,
    tool: { name: 'was-lab', version: packageVersion(), tfjs: tf.version_core },
    createdAt: new Date().toISOString(),
  };
}
