// The `was-kernels` event after each epoch's evaluation: per transformed layer, a few planes of
// its current kernel and shadow kernels drawn from its transform distribution (was/kernel-samples.ts).
// The draws come from their own stream, seeded per epoch: training's shadow stream is untouched,
// so a run's numbers are the same with or without this report.

import type { WasKernelsEvent } from '../../shared/protocol';
import { Rng } from '../rng';
import { channelsPerLayer, kernelPlane, sampleChannels, shadowSamples } from '../was/kernel-samples';
import type { Conv2d } from '../nn/conv';
import type { Run } from './setup';
import { transformParams } from './sampler';
import { readFloats, readScalar } from '../nn/read';

/** What the report reads of a run: its config and its model's convs. */
export type KernelSource = Pick<Run, 'config'> & { model: { store: { convs: readonly Conv2d[] } } };

/** Salt of the report's draw seed, so its stream is not an evaluation stream. */
const KERNEL_REPORT_SALT = 0x6a09e667;

export async function kernelReport(run: KernelSource, epoch: number, drawSeed: number): Promise<WasKernelsEvent | null> {
  const transform = run.config.was.transform;
  const convs = run.model.store.convs.filter((c) => c.shadowed);
  if (transform === 'none' || convs.length === 0) return null;
  const params = transformParams(run.config);
  const rng = new Rng((drawSeed ^ KERNEL_REPORT_SALT) >>> 0);
  const layers: WasKernelsEvent['layers'] = [];
  for (const conv of convs) {
    const alpha = await readScalar(conv.alpha!);
    const channels = [];
    for (const pair of sampleChannels(conv.inChannels, conv.outChannels, conv.depthwise, channelsPerLayer(convs.length))) {
      const outIndex = conv.depthwise ? 0 : pair.out;
      // Only the planes shown leave the backend: a [k, k, 1, 1] slice each.
      const slice = conv.kernel.slice([0, 0, pair.in, outIndex], [conv.k, conv.k, 1, 1]);
      const values = await readFloats(slice);
      slice.dispose();
      const plane = kernelPlane(values, conv.k, 1, 1, 0, 0);
      channels.push({ ...pair, ...shadowSamples(plane, conv.k, alpha, { family: transform, params, rng }) });
    }
    layers.push({ layer: conv.name, k: conv.k, alpha, channels });
  }
  return { type: 'was-kernels', time: Date.now(), epoch, family: transform, layers };
}
