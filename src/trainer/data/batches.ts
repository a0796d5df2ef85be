// Turning uint8 splits into float batches, in plain JS (no tfjs): the seeded train/validation
// hold-out, the epoch order, and a BatchMaker that writes normalised (optionally augmented)
// NHWC pixels into one preallocated Float32Array, so no whole-set float copy ever exists.

import type { DataConfig, DatasetName } from '../../shared/config';
import type { Rng } from '../rng';
import { DataError, type ImageDataset, type ImageSplit } from './types';

/** torchvision RandomCrop(size, padding=4) as used for CIFAR. */
export const DEFAULT_CROP_PADDING = 4;
export const FLIP_PROBABILITY = 0.5;

/** 'auto' means on for the CIFARs (natural images), off for digits, clothes and synthetic. */
export function resolveAugment(name: DatasetName, augment: DataConfig['augment']): boolean {
  if (augment !== 'auto') return augment === 'on';
  return name === 'cifar10' || name === 'cifar100';
}

/**
 * A seeded random hold-out of `validationSize` training images. Both parts are new,
 * contiguous uint8 copies in the original order (the caller can drop the input split);
 * validationSize 0 returns the input split itself and no validation split.
 */
export function splitTrainValidation(
  split: ImageSplit,
  validationSize: number,
  rng: Rng,
): { train: ImageSplit; validation: ImageSplit | null } {
  if (!Number.isInteger(validationSize) || validationSize < 0) {
    throw new DataError(`data.validationSize must be a non-negative integer, got ${validationSize}`, 'options');
  }
  if (validationSize === 0) return { train: split, validation: null };
  if (validationSize >= split.count) {
    throw new DataError(
      `data.validationSize ${validationSize} leaves no training images (the training split has ${split.count})`,
      'options',
    );
  }
  const order = epochOrder(split.count, rng);
  const validationIndices = order.slice(0, validationSize).sort();
  const trainIndices = order.slice(validationSize).sort();
  return { train: gather(split, trainIndices), validation: gather(split, validationIndices) };
}

/** The images at `indices`, copied into a new split. */
export function gather(split: ImageSplit, indices: ArrayLike<number>): ImageSplit {
  const imageBytes = split.images.length / split.count;
  const images = new Uint8Array(indices.length * imageBytes);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i] * imageBytes;
    images.set(split.images.subarray(from, from + imageBytes), i * imageBytes);
    labels[i] = split.labels[indices[i]];
  }
  return { images, labels, count: indices.length };
}

/** A seeded random permutation of 0..count-1. */
export function epochOrder(count: number, rng: Rng): Int32Array {
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  return rng.shuffle(order);
}

/** Consecutive slices (views) of an epoch order; the last may be short unless dropLast. */
export function* orderBatches(order: Int32Array, batchSize: number, dropLast = false): Generator<Int32Array> {
  for (let start = 0; start < order.length; start += batchSize) {
    const end = Math.min(start + batchSize, order.length);
    if (dropLast && end - start < batchSize) return;
    yield order.subarray(start, end);
  }
}

/** Sequential ranges for evaluation: [start, start + size) covering 0..count-1. */
export function* sequentialRanges(count: number, batchSize: number): Generator<{ start: number; size: number }> {
  for (let start = 0; start < count; start += batchSize) yield { start, size: Math.min(batchSize, count - start) };
}

/** Where an output pixel reads from: out(y, x) = src(y + offsetY, x' + offsetX), x' mirrored if flip. */
export interface CropFlip {
  /** In [-padding, padding]; a source pixel outside the image reads as 0 (zero padding). */
  readonly offsetY: number;
  readonly offsetX: number;
  readonly flip: boolean;
}

export const NO_AUGMENTATION: CropFlip = { offsetY: 0, offsetX: 0, flip: false };

/** Draw order per image: crop row, crop column, flip (padding 0 skips the crop draws). */
export function drawCropFlip(rng: Rng, padding: number, flip: boolean): CropFlip {
  // Pad-then-crop picks the window's corner uniformly in [0, 2 * padding] on each axis.
  const offsetY = padding > 0 ? rng.int(2 * padding + 1) - padding : 0;
  const offsetX = padding > 0 ? rng.int(2 * padding + 1) - padding : 0;
  return { offsetY, offsetX, flip: flip && rng.next() < FLIP_PROBABILITY };
}

/** Per channel, the float for each byte value: (v / 255 - mean) / std. */
export function normalizationTable(mean: readonly number[], std: readonly number[]): Float32Array {
  const table = new Float32Array(mean.length * 256);
  for (let c = 0; c < mean.length; c++) {
    for (let v = 0; v < 256; v++) table[c * 256 + v] = (v / 255 - mean[c]) / std[c];
  }
  return table;
}

export interface ImageShape {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

/**
 * Writes one normalised HWC image into `out` at `outOffset`, cropped/flipped as `aug` says.
 * Padded (outside) pixels are byte 0 before normalisation, as torchvision pads.
 */
export function writeImage(
  src: Uint8Array,
  srcOffset: number,
  shape: ImageShape,
  table: Float32Array,
  out: Float32Array,
  outOffset: number,
  aug: CropFlip,
): void {
  const { height, width, channels } = shape;
  const row = width * channels;
  for (let y = 0; y < height; y++) {
    const sy = y + aug.offsetY;
    const outRow = outOffset + y * row;
    for (let x = 0; x < width; x++) {
      const sx = (aug.flip ? width - 1 - x : x) + aug.offsetX;
      const o = outRow + x * channels;
      if (sy < 0 || sy >= height || sx < 0 || sx >= width) {
        for (let c = 0; c < channels; c++) out[o + c] = table[c * 256];
      } else {
        const s = srcOffset + sy * row + sx * channels;
        for (let c = 0; c < channels; c++) out[o + c] = table[c * 256 + src[s + c]];
      }
    }
  }
}

export interface Batch {
  /** size * H * W * C floats, NHWC: a view into the maker's reusable buffer. */
  readonly pixels: Float32Array;
  /** size labels: a view into the maker's reusable buffer. */
  readonly labels: Int32Array;
  readonly size: number;
}

export interface AugmentationOptions {
  /** Random-crop padding in pixels (0: no crop). */
  readonly padding: number;
  readonly flip: boolean;
}

/**
 * Fills one preallocated buffer per batch. The returned views are overwritten by the next
 * call: build the tensor (and let the backend copy, or copy with .slice()) before that.
 */
export class BatchMaker {
  readonly shape: ImageShape;
  readonly batchSize: number;
  private readonly imageFloats: number;
  private readonly table: Float32Array;
  private readonly pixels: Float32Array;
  private readonly labels: Int32Array;
  private readonly augmentation: AugmentationOptions;

  constructor(
    dataset: Pick<ImageDataset, 'height' | 'width' | 'channels' | 'mean' | 'std'>,
    batchSize: number,
    augmentation: AugmentationOptions = { padding: DEFAULT_CROP_PADDING, flip: true },
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new DataError(`Batch size must be a positive integer, got ${batchSize}`, 'options');
    }
    if (dataset.mean.length !== dataset.channels || dataset.std.length !== dataset.channels) {
      throw new DataError(`mean/std need ${dataset.channels} values (one per channel)`, 'options');
    }
    this.shape = { height: dataset.height, width: dataset.width, channels: dataset.channels };
    this.batchSize = batchSize;
    this.imageFloats = dataset.height * dataset.width * dataset.channels;
    this.table = normalizationTable(dataset.mean, dataset.std);
    this.pixels = new Float32Array(batchSize * this.imageFloats);
    this.labels = new Int32Array(batchSize);
    this.augmentation = augmentation;
  }

  /** The images at `indices` (at most batchSize); `rng` non-null draws a crop/flip per image. */
  make(split: ImageSplit, indices: ArrayLike<number>, rng: Rng | null): Batch {
    const size = this.checkSize(indices.length);
    for (let i = 0; i < size; i++) {
      const index = indices[i];
      if (!(index >= 0 && index < split.count)) throw new RangeError(`Image index ${index} outside [0, ${split.count})`);
      const aug = rng ? drawCropFlip(rng, this.augmentation.padding, this.augmentation.flip) : NO_AUGMENTATION;
      this.writeOne(split, index, i, aug);
    }
    return this.view(size);
  }

  /** Images start..start+size-1 in order, never augmented (evaluation). */
  makeRange(split: ImageSplit, start: number, size: number): Batch {
    this.checkSize(size);
    if (start < 0 || start + size > split.count) {
      throw new RangeError(`Range [${start}, ${start + size}) outside [0, ${split.count})`);
    }
    for (let i = 0; i < size; i++) this.writeOne(split, start + i, i, NO_AUGMENTATION);
    return this.view(size);
  }

  private writeOne(split: ImageSplit, index: number, slot: number, aug: CropFlip): void {
    writeImage(split.images, index * this.imageFloats, this.shape, this.table, this.pixels, slot * this.imageFloats, aug);
    this.labels[slot] = split.labels[index];
  }

  private checkSize(size: number): number {
    if (size < 1 || size > this.batchSize) throw new RangeError(`Batch of ${size} images; this maker holds 1..${this.batchSize}`);
    return size;
  }

  private view(size: number): Batch {
    return { pixels: this.pixels.subarray(0, size * this.imageFloats), labels: this.labels.subarray(0, size), size };
  }
}
