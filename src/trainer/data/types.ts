// What every dataset loader returns. Pixels stay uint8 (HWC per image, images back to back)
// until a batch is made, so a CIFAR epoch costs ~150 MB, not GBs of float32.

import type { DatasetName } from '../../shared/config';

export type { DatasetName };

export interface ImageSplit {
  /** count * height * width * channels bytes, NHWC order. */
  readonly images: Uint8Array;
  /** count labels, each in [0, numClasses). */
  readonly labels: Uint8Array;
  readonly count: number;
}

export interface ImageDataset {
  readonly name: DatasetName;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
  readonly classNames: readonly string[];
  /** Per-channel normalisation applied when a batch is made: (pixel / 255 - mean) / std. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly train: ImageSplit;
  readonly test: ImageSplit;
  /** Where the data came from (a file or folder path, or 'generated'), for the run's config.json. */
  readonly source: string;
}

/** A data problem the user can fix: a missing file, a bad header, a checksum mismatch. */
export class DataError extends Error {
  constructor(
    message: string,
    readonly code: 'missing' | 'format' | 'size' | 'checksum' | 'download' | 'options',
  ) {
    super(message);
    this.name = 'DataError';
  }
}
