// The one entry point the trainer calls: DataConfig in, ImageDataset out (limits and the
// normalisation choice applied). Validation hold-out and batches live in batches.ts.

import * as os from 'node:os';
import * as path from 'node:path';
import type { DataConfig } from '../../shared/config';
import { type CifarArchive, type CifarName, type CifarRecordCounts, loadCifar } from './cifar';
import { loadFashionMnist } from './fashion-mnist';
import { loadMnist } from './mnist';
import { makeSyntheticDataset } from './synthetic';
import { DataError, type ImageDataset, type ImageSplit } from './types';

export { DataError } from './types';
export type { ImageDataset, ImageSplit, DatasetName } from './types';
export {
  BatchMaker,
  epochOrder,
  orderBatches,
  resolveAugment,
  sequentialRanges,
  splitTrainValidation,
  type Batch,
} from './batches';

export const HALF_NORMALIZATION = 0.5;

export interface LoadOptions {
  /** Seeds the synthetic dataset (the only random part of loading). */
  readonly seed: number;
  readonly onProgress?: (message: string) => void;
  /** Where CIFAR archives are looked for and downloaded when data.dir is null. */
  readonly cacheDir?: string;
  /** Replace the official CIFAR URL/md5/size and record counts (tests, mirrors). */
  readonly cifar?: Partial<Record<CifarName, { archive?: CifarArchive; recordCounts?: CifarRecordCounts }>>;
}

/** $WAS_LAB_DATA, else ~/.cache/was-lab/datasets. */
export function defaultCacheDir(): string {
  return process.env.WAS_LAB_DATA || path.join(os.homedir(), '.cache', 'was-lab', 'datasets');
}

export async function loadDataset(config: DataConfig, options: LoadOptions): Promise<ImageDataset> {
  const trainLimit = checkLimit('trainLimit', config.trainLimit);
  const testLimit = checkLimit('testLimit', config.testLimit);
  let dataset: ImageDataset;
  switch (config.name) {
    case 'mnist':
      dataset = await loadMnist(config.dir);
      break;
    case 'fashion-mnist':
      dataset = await loadFashionMnist(config.dir);
      break;
    case 'cifar10':
    case 'cifar100':
      dataset = await loadCifar({
        name: config.name,
        source: config.dir ?? options.cacheDir ?? defaultCacheDir(),
        labels: config.cifar100Labels,
        download: config.download,
        archive: options.cifar?.[config.name]?.archive,
        recordCounts: options.cifar?.[config.name]?.recordCounts,
        onProgress: options.onProgress,
      });
      break;
    case 'synthetic':
      dataset = makeSyntheticDataset(config.synthetic, options.seed);
      break;
    default:
      throw new DataError(`Unknown dataset ${String((config as { name: unknown }).name)}`, 'options');
  }
  const pixelsPerImage = dataset.height * dataset.width * dataset.channels;
  const channels = dataset.channels;
  const result: ImageDataset = {
    ...dataset,
    train: takeFirst(dataset.train, trainLimit, pixelsPerImage),
    test: takeFirst(dataset.test, testLimit, pixelsPerImage),
    mean: config.normalize === 'half' ? new Array<number>(channels).fill(HALF_NORMALIZATION) : dataset.mean,
    std: config.normalize === 'half' ? new Array<number>(channels).fill(HALF_NORMALIZATION) : dataset.std,
  };
  options.onProgress?.(
    `Loaded ${result.name}: ${result.train.count} train, ${result.test.count} test images, ` +
      `${result.height}x${result.width}x${result.channels}, ${result.numClasses} classes (${result.source})`,
  );
  return result;
}

function checkLimit(field: string, limit: number | null): number | null {
  if (limit === null) return null;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new DataError(`data.${field} must be a positive integer or null, got ${limit}`, 'options');
  }
  return limit;
}

/** The first `limit` images, copied so the rest of the (large) buffer can be freed. */
function takeFirst(split: ImageSplit, limit: number | null, pixelsPerImage: number): ImageSplit {
  if (limit === null || limit >= split.count) return split;
  return {
    images: split.images.slice(0, limit * pixelsPerImage),
    labels: split.labels.slice(0, limit),
    count: limit,
  };
}
