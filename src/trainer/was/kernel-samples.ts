// What the panel's WAS view shows of one transformed layer: a few k x k planes of its kernel as
// AOM applies them (alpha * W) and, beside each, shadow kernels alpha * T(W) with T drawn from the
// layer's own transform distribution (drawTransform: the family and parameters training uses).
// Pure (no tfjs): the trainer hands in the planes it read, so tests can check every number.

import type { Rng } from '../rng';
import { applyToPlane, drawTransform, type ShadowFamily, type TransformDetail, type TransformParams } from './transforms';

/** Channels per layer the trainer reports, and shadow samples per channel: small on purpose. */
export const SAMPLE_CHANNELS = 3;
export const SHADOW_SAMPLES = 4;
/**
 * Planes per event over all layers: a deep network reports fewer channels per layer (at least
 * one), so an event stays near 20 KB (measured: ResNet-34's 32 layers at 3 channels were 69 KB).
 */
export const PLANE_BUDGET = 24;
/** Reports per run at most (about): every epoch of a short run, a spread of a long one's. */
export const REPORTS_PER_RUN = 20;

/** Channels per layer for a network with `layers` transformed layers: 3 down to 1. */
export function channelsPerLayer(layers: number): number {
  return Math.max(1, Math.min(SAMPLE_CHANNELS, Math.floor(PLANE_BUDGET / Math.max(1, layers))));
}

/**
 * Whether epoch `epoch` of `epochs` gets a report: every epoch of a run of up to REPORTS_PER_RUN
 * epochs; else every ceil(epochs / REPORTS_PER_RUN)-th epoch and the last, so a 500-epoch run
 * writes 21 reports, not 500 (the panel shows the latest; metrics.jsonl keeps them all).
 */
export function kernelReportDue(epoch: number, epochs: number): boolean {
  if (epochs <= REPORTS_PER_RUN || epoch === epochs) return true;
  return epoch % Math.ceil(epochs / REPORTS_PER_RUN) === 0;
}

export interface ChannelPair {
  in: number;
  out: number;
}

export interface ChannelSamples extends ChannelPair {
  plain: number[];
  shadows: { transform: TransformDetail; kernel: number[] }[];
}

/**
 * Up to `count` (input, output) channel pairs spread over the layer, the same at every epoch so the
 * page can follow one plane through training: the first, the middle and the last. A depthwise conv
 * has one plane per channel (its output is its input channel).
 */
export function sampleChannels(inChannels: number, outChannels: number, depthwise: boolean, count = SAMPLE_CHANNELS): ChannelPair[] {
  const pairs: ChannelPair[] = [];
  const n = Math.max(1, Math.min(count, depthwise ? inChannels : Math.max(inChannels, outChannels)));
  for (let i = 0; i < n; i++) {
    const at = (size: number) => (n === 1 ? 0 : Math.round((i * (size - 1)) / (n - 1)));
    const pair = depthwise ? { in: at(inChannels), out: at(inChannels) } : { in: at(inChannels), out: at(outChannels) };
    if (!pairs.some((p) => p.in === pair.in && p.out === pair.out)) pairs.push(pair);
  }
  return pairs;
}

/**
 * One plane of a kernel laid out as tfjs's [k, k, inChannels, outDim] (row-major): element (i, j)
 * of the plane of (inChannel, outIndex). outDim is 1 for a depthwise conv (outIndex 0).
 */
export function kernelPlane(kernel: ArrayLike<number>, k: number, inChannels: number, outDim: number, inChannel: number, outIndex: number): Float32Array {
  const plane = new Float32Array(k * k);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) plane[i * k + j] = kernel[((i * k + j) * inChannels + inChannel) * outDim + outIndex];
  return plane;
}

/** 4 significant digits: what a heatmap and its tooltip need, a third of the JSON. */
export function roundForReport(x: number): number {
  return x === 0 ? 0 : Number(x.toPrecision(4));
}

/**
 * The plane as AOM applies it (alpha * W) and `samples` shadow kernels alpha * T(W), each T a
 * fresh draw from `rng` with the layer's family and parameters.
 */
export function shadowSamples(
  plane: ArrayLike<number>,
  k: number,
  alpha: number,
  draw: { family: ShadowFamily; params: TransformParams; rng: Rng; samples?: number },
): Omit<ChannelSamples, 'in' | 'out'> {
  const scale = (values: ArrayLike<number>) => Array.from(values, (x) => roundForReport(alpha * x));
  const shadows = [];
  for (let s = 0; s < (draw.samples ?? SHADOW_SAMPLES); s++) {
    const transform = drawTransform(draw.family, k, draw.params, draw.rng);
    shadows.push({ transform: transform.detail, kernel: scale(applyToPlane(transform, plane)) });
  }
  return { plain: scale(plane), shadows };
}
