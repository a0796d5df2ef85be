// The webgpu backend (Dawn) against the cpu backend: every model's WAS train step, its loss and
// every gradient. On machines without a GPU this runs on Mesa's software Vulkan (lavapipe), which
// Dawn accepts from Mesa 25 (scripts/ci/software-vulkan.sh); without any adapter the tests skip,
// unless WAS_LAB_REQUIRE_WEBGPU=1 (CI), where they fail.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { MODEL_NAMES, type ModelName } from '../../src/shared/config';
import { buildModel, selectShadowLayers } from '../../src/trainer/models/index';
import type { ForwardContext } from '../../src/trainer/nn/context';
import { Rng } from '../../src/trainer/rng';
import { randomTransforms } from '../../src/trainer/train/sampler';
import { REFERENCE_PARAMS } from '../../src/trainer/was/transforms';
import { webgpuOrSkip } from './webgpu-support';

/** Largest |webgpu - cpu| of a gradient, relative to the gradient's largest |value|. */
const GRAD_TOLERANCE = 1e-4;
const NEAR_ZERO = 1e-2;
const SPEC = { height: 12, width: 12, channels: 3, numClasses: 10 };
const BATCH = 2;

let webgpu: string | null = null;
before(async () => {
  webgpu = await webgpuOrSkip();
});

/** Loss and gradients of one WAS ('mixed', every conv transformed) training step, on the current backend. */
async function stepGradients(name: ModelName): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  const model = buildModel(name, SPEC, { rng: new Rng(11), bnEpsilon: 1e-5 });
  try {
    selectShadowLayers(model.store.convs, 'mixed', 'all');
    const trainable = [...model.store.trainable.values()];
    const ctx: ForwardContext = { weights: 'shadow', bn: 'batch', statSet: 'train', statMomentum: 0.1, transformFor: randomTransforms('mixed', REFERENCE_PARAMS, new Rng(5)) };
    const rng = new Rng(7);
    const pixels = Float32Array.from({ length: BATCH * SPEC.height * SPEC.width * SPEC.channels }, () => rng.normal());
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.forward(tf.tensor4d(pixels, [BATCH, SPEC.height, SPEC.width, SPEC.channels]), ctx);
      return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([3, 8], 'int32'), SPEC.numClasses), logits) as tf.Scalar;
    }, trainable);
    const out = new Map<string, Float32Array>();
    for (const [storeName, v] of model.store.trainable) out.set(storeName, (await grads[v.name]!.data()) as Float32Array);
    const loss = (await value.data())[0]!;
    tf.dispose([value, grads]);
    return { loss, grads: out };
  } finally {
    model.store.dispose();
  }
}

for (const name of MODEL_NAMES) {
  test(`${name}: a WAS train step on webgpu has cpu's loss and gradients`, async (t) => {
    if (webgpu === null) return t.skip('no WebGPU adapter');
    await tf.setBackend('cpu');
    const cpu = await stepGradients(name);
    await tf.setBackend('webgpu');
    const gpu = await stepGradients(name);
    assert.ok(Math.abs(gpu.loss - cpu.loss) <= 1e-5 * Math.max(1, Math.abs(cpu.loss)), `loss ${gpu.loss} vs ${cpu.loss}`);
    const largest = (values: Float32Array) => values.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    const modelScale = Math.max(...[...cpu.grads.values()].map(largest));
    let worst = 0;
    let worstName = '';
    for (const [variable, want] of cpu.grads) {
      const got = gpu.grads.get(variable)!;
      // A gradient that is nearly zero (an alpha before a batch-statistics BatchNorm, which makes
      // the loss almost invariant to it) is measured against a hundredth of the model's largest.
      const scale = Math.max(largest(want), NEAR_ZERO * modelScale);
      let diff = 0;
      for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
      if (diff / scale > worst) [worst, worstName] = [diff / scale, variable];
    }
    t.diagnostic(`${cpu.grads.size} gradients; worst ${worst.toExponential(2)} (${worstName}) on ${webgpu}`);
    assert.ok(worst <= GRAD_TOLERANCE, `${worstName}: ${worst} > ${GRAD_TOLERANCE}`);
  });
}
