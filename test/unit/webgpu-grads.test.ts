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

/**
 * |webgpu - cpu| over all of a step's gradients, relative to |cpu|. Deep networks with batch
 * statistics over 2 small images are ill-conditioned in float32: wasm (our kernels, each checked
 * against cpu to ~1e-6) differs from cpu by 8.5e-3 on MobileNetV2 here; webgpu by 8.4e-3.
 */
const GRAD_TOLERANCE = 1e-2;
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
    // The whole gradient's error, relative to its size: the measure that float32 rounding in a
    // different order (another backend) moves least. The largest single deviation is reported too.
    let squaredError = 0;
    let squaredNorm = 0;
    let worst = { variable: '', relative: 0 };
    const modelScale = Math.max(...[...cpu.grads.values()].map((g) => g.reduce((m, x) => Math.max(m, Math.abs(x)), 0)));
    for (const [variable, want] of cpu.grads) {
      const got = gpu.grads.get(variable)!;
      let diff = 0;
      let scale = 0;
      for (let i = 0; i < want.length; i++) {
        squaredError += (got[i]! - want[i]!) ** 2;
        squaredNorm += want[i]! ** 2;
        diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
        scale = Math.max(scale, Math.abs(want[i]!));
      }
      // A gradient that is nearly zero (an alpha or bias before a batch-statistics BatchNorm, which
      // makes the loss almost invariant to it) is measured against a hundredth of the largest.
      const against = Math.max(scale, NEAR_ZERO * modelScale);
      if (diff / against > worst.relative) worst = { variable, relative: diff / against };
    }
    const relative = Math.sqrt(squaredError / squaredNorm);
    t.diagnostic(`${cpu.grads.size} gradients: relative error ${relative.toExponential(2)}; largest single ${worst.relative.toExponential(2)} (${worst.variable}); on ${webgpu}`);
    assert.ok(relative <= GRAD_TOLERANCE, `relative error ${relative} > ${GRAD_TOLERANCE}`);
  });
}

test('MaxPoolGrad on webgpu sends a tied window to its first maximum, as cpu does (ReLU zeros, negatives, strides, padding)', async (t) => {
  if (webgpu === null) return t.skip('no WebGPU adapter');
  const rng = new Rng(3);
  // Values from a small set, so that windows tie often; a ReLU's zeros are such ties.
  const x = Float32Array.from({ length: 2 * 7 * 7 * 4 }, () => Math.max(0, Math.round(rng.normal() * 2)) - (rng.next() < 0.2 ? 3 : 0));
  const weights = Float32Array.from({ length: 2 * 7 * 7 * 4 }, (_, i) => 1 + (i % 13));
  for (const [k, s, pad] of [[3, 2, 'same'], [3, 1, 'same'], [2, 2, 'valid'], [3, 2, 'valid'], [3, 1, 1]] as const) {
    const grad = async (backend: string) => {
      await tf.setBackend(backend);
      const input = tf.tensor4d(x, [2, 7, 7, 4]);
      const dx = tf.grad((a: tf.Tensor) => {
        const y = tf.maxPool(a as tf.Tensor4D, k, s, pad);
        return tf.sum(tf.mul(y, tf.tensor(weights.subarray(0, y.size), y.shape)));
      })(input);
      const values = Array.from(await dx.data());
      tf.dispose([input, dx]);
      return values;
    };
    assert.deepEqual(await grad('webgpu'), await grad('cpu'), `maxPool ${k}x${k} stride ${s} pad ${pad}`);
  }
});
