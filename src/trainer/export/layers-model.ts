// A trained model in one inference mode as a plain tf.LayersModel, and that model as the files of
// a TensorFlow.js LayersModel folder: model.json plus 4 MiB weight shards (the converter's layout),
// loadable with tf.loadLayersModel and no WAS code.

import * as tf from '@tensorflow/tfjs';
import type { InferenceMode } from '../../shared/protocol';
import type { ForwardContext } from '../nn/context';
import { fullWindow } from '../nn/conv-geometry';
import type { Model } from '../nn/model';
import { domTransforms, domWindows, type DomPlan } from '../dom/plan';
import { layersOps, type LayersOptions } from './layers-ops';
import { readScalar } from '../nn/read';

/** The weight shard size of tensorflowjs_converter's default. */
export const SHARD_BYTES = 4 * 1024 * 1024;

export interface ExportFile {
  name: string;
  data: Buffer;
}

/**
 * Build `model` as stock tf.layers for `mode`; DOM needs its fixed plan. Uses the model's current
 * BatchNorm statistics of that mode: recalibrate them first. Outputs logits.
 */
export async function buildLayersModel(model: Model, mode: InferenceMode, plan: DomPlan | null, epsilon: number): Promise<tf.LayersModel> {
  if (mode === 'dom' && plan === null) throw new Error('a DOM export needs a fixed DOM (a shift per transformed layer)');
  const ctx: ForwardContext = {
    weights: mode === 'aom' ? 'plain' : 'shadow',
    bn: 'running',
    statSet: mode,
    statMomentum: null,
    transformFor: domTransforms(plan ?? new Map()),
  };
  const windowFor = mode === 'aom' || plan === null ? (conv: { k: number }) => fullWindow(conv.k) : domWindows(plan);
  const { height, width, channels } = model.spec;
  const input = tf.input({ shape: [height, width, channels], name: 'image' });
  const windowChecks: LayersOptions['windowChecks'] = [];
  try {
    const output = model.forward.graph<tf.SymbolicTensor>(input, layersOps({ ctx, statSet: mode, windowFor, epsilon, windowChecks }));
    const built = tf.model({ inputs: input, outputs: output, name: `${model.name}-${mode}` });
    for (const { name, window, outsideNonZero } of windowChecks) {
      if ((await readScalar(outsideNonZero)) !== 0) {
        built.dispose();
        throw new Error(`${name}: the kernel is not zero outside its ${window.height}x${window.width} window`);
      }
    }
    return built;
  } finally {
    tf.dispose(windowChecks.map((c) => c.outsideNonZero));
  }
}

/** model.json and the weight shards of a LayersModel. */
export async function layersModelFiles(model: tf.LayersModel): Promise<ExportFile[]> {
  let artifacts: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const saved = artifacts as tf.io.ModelArtifacts | null;
  if (saved === null || !saved.weightSpecs || saved.weightData === undefined) throw new Error('tfjs saved no weights');
  const weights = Buffer.from(tf.io.CompositeArrayBuffer.join(saved.weightData));
  const count = Math.max(1, Math.ceil(weights.length / SHARD_BYTES));
  const shards: ExportFile[] = [];
  for (let i = 0; i < count; i++)
    shards.push({ name: `group1-shard${i + 1}of${count}.bin`, data: weights.subarray(i * SHARD_BYTES, (i + 1) * SHARD_BYTES) });
  const modelJson = {
    format: saved.format ?? 'layers-model',
    generatedBy: saved.generatedBy,
    convertedBy: 'WAS Lab',
    modelTopology: saved.modelTopology,
    weightsManifest: [{ paths: shards.map((s) => s.name), weights: saved.weightSpecs }],
  };
  return [{ name: 'model.json', data: Buffer.from(JSON.stringify(modelJson)) }, ...shards];
}
