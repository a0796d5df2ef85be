// A generated dataset for smoke tests: every class has its own pattern (an oriented grating
// plus a coloured blob); each image is its class pattern, randomly shifted, with random
// contrast, brightness and pixel noise. Learnable by a small CNN in an epoch or two, not
// trivially separable by one pixel, and the same bytes for the same seed.

import type { DataConfig } from '../../shared/config';
import { Rng } from '../rng';
import { DataError, type ImageDataset, type ImageSplit } from './types';

export const SYNTHETIC_MAX_SHIFT = 2;
export const SYNTHETIC_NOISE_STD = 0.12;
export const SYNTHETIC_CONTRAST: readonly [number, number] = [0.6, 1.0];
export const SYNTHETIC_BRIGHTNESS: readonly [number, number] = [-0.1, 0.1];
const MIN_SIZE = 4;
const MAX_SIZE = 256;
const MAX_CHANNELS = 4;
/** Labels are stored as uint8. */
const MAX_CLASSES = 256;

export type SyntheticSpec = DataConfig['synthetic'];

export function makeSyntheticDataset(spec: SyntheticSpec, seed: number): ImageDataset {
  checkSpec(spec);
  const rng = new Rng(seed);
  const templates = Array.from({ length: spec.classes }, () => classTemplate(spec, rng));
  const train = makeSplit(spec, templates, spec.trainCount, rng.fork());
  const test = makeSplit(spec, templates, spec.testCount, rng.fork());
  const { mean, std } = channelStats(train.images, spec.channels);
  return {
    name: 'synthetic',
    height: spec.size,
    width: spec.size,
    channels: spec.channels,
    numClasses: spec.classes,
    classNames: Array.from({ length: spec.classes }, (_, k) => `class ${k}`),
    mean,
    std,
    train,
    test,
    source: 'generated',
  };
}

/** Per-channel mean and std of pixel/255 over a whole HWC uint8 array. */
export function channelStats(images: Uint8Array, channels: number): { mean: number[]; std: number[] } {
  const sum = new Float64Array(channels);
  const sumSq = new Float64Array(channels);
  for (let i = 0; i < images.length; i++) {
    const v = images[i] / 255;
    sum[i % channels] += v;
    sumSq[i % channels] += v * v;
  }
  const n = images.length / channels;
  const mean = Array.from(sum, (s) => s / n);
  // Guard a constant channel: dividing by 0 would give NaN batches.
  const std = Array.from(sumSq, (s, c) => Math.max(Math.sqrt(Math.max(s / n - mean[c] * mean[c], 0)), 1e-3));
  return { mean, std };
}

/** Values in [0, 1], HWC. */
function classTemplate(spec: SyntheticSpec, rng: Rng): Float32Array {
  const { size, channels } = spec;
  const angle = rng.uniform(0, Math.PI);
  const cycles = rng.uniform(1.5, 4);
  const phase = rng.uniform(0, 2 * Math.PI);
  const blobY = rng.uniform(0.25, 0.75) * size;
  const blobX = rng.uniform(0.25, 0.75) * size;
  const blobSigma = size / 6;
  const gratingColour = Array.from({ length: channels }, () => rng.uniform(0.3, 1));
  const blobColour = Array.from({ length: channels }, () => rng.uniform(0.3, 1));
  const kx = (Math.cos(angle) * 2 * Math.PI * cycles) / size;
  const ky = (Math.sin(angle) * 2 * Math.PI * cycles) / size;
  const out = new Float32Array(size * size * channels);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const grating = 0.5 + 0.5 * Math.sin(kx * x + ky * y + phase);
      const blob = Math.exp(-((y - blobY) ** 2 + (x - blobX) ** 2) / (2 * blobSigma * blobSigma));
      for (let c = 0; c < channels; c++) {
        out[(y * size + x) * channels + c] = 0.5 * grating * gratingColour[c] + 0.5 * blob * blobColour[c];
      }
    }
  }
  return out;
}

function makeSplit(spec: SyntheticSpec, templates: Float32Array[], count: number, rng: Rng): ImageSplit {
  const { size, channels } = spec;
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) labels[i] = i % spec.classes; // balanced, then shuffled
  rng.shuffle(labels);
  const pixels = size * size * channels;
  const images = new Uint8Array(count * pixels);
  for (let i = 0; i < count; i++) {
    const template = templates[labels[i]];
    const dy = rng.int(2 * SYNTHETIC_MAX_SHIFT + 1) - SYNTHETIC_MAX_SHIFT;
    const dx = rng.int(2 * SYNTHETIC_MAX_SHIFT + 1) - SYNTHETIC_MAX_SHIFT;
    const contrast = rng.uniform(SYNTHETIC_CONTRAST[0], SYNTHETIC_CONTRAST[1]);
    const brightness = rng.uniform(SYNTHETIC_BRIGHTNESS[0], SYNTHETIC_BRIGHTNESS[1]);
    const base = i * pixels;
    for (let y = 0; y < size; y++) {
      const sy = Math.min(size - 1, Math.max(0, y + dy));
      for (let x = 0; x < size; x++) {
        const sx = Math.min(size - 1, Math.max(0, x + dx));
        for (let c = 0; c < channels; c++) {
          const v = contrast * template[(sy * size + sx) * channels + c] + brightness + SYNTHETIC_NOISE_STD * rng.normal();
          images[base + (y * size + x) * channels + c] = Math.round(255 * Math.min(1, Math.max(0, v)));
        }
      }
    }
  }
  return { images, labels, count };
}

function checkSpec(spec: SyntheticSpec): void {
  const bad = (field: string, rule: string): never => {
    throw new DataError(`data.synthetic.${field} must be ${rule}`, 'options');
  };
  const isInt = (v: number, lo: number, hi: number): boolean => Number.isInteger(v) && v >= lo && v <= hi;
  if (!isInt(spec.trainCount, 1, 10_000_000)) bad('trainCount', 'a positive integer');
  if (!isInt(spec.testCount, 1, 10_000_000)) bad('testCount', 'a positive integer');
  if (!isInt(spec.size, MIN_SIZE, MAX_SIZE)) bad('size', `an integer in [${MIN_SIZE}, ${MAX_SIZE}]`);
  if (!isInt(spec.channels, 1, MAX_CHANNELS)) bad('channels', `an integer in [1, ${MAX_CHANNELS}]`);
  if (!isInt(spec.classes, 2, MAX_CLASSES)) bad('classes', `an integer in [2, ${MAX_CLASSES}]`);
}
