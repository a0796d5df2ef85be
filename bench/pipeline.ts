// The input pipeline alone, as the training loop drives it (train/epoch.ts): epoch order, batch slices,
// and BatchMaker writing normalised, randomly cropped (pad 4) and flipped NHWC floats. Plain JS,
// no tfjs: the tensor upload is part of the train step and is timed there.

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { BatchMaker, DEFAULT_CROP_PADDING, epochOrder, orderBatches } from '../src/trainer/data/batches';
import type { ImageDataset } from '../src/trainer/data/types';
import { Rng } from '../src/trainer/rng';
import type { InputShape } from './options';

/** Images read from: 30 MB at 32x32x3, more than the CPU caches hold, as in a real epoch. */
const IMAGES = 10_000;
const CLASSES = 10;

/** Random bytes in a dataset's clothes: the pipeline's cost does not depend on the pixels. */
function randomDataset(shape: InputShape, count: number): ImageDataset {
  const images = new Uint8Array(randomBytes(count * shape.height * shape.width * shape.channels));
  const labels = Uint8Array.from(randomBytes(count), (v) => v % CLASSES);
  const split = { images, labels, count };
  const half = Array.from({ length: shape.channels }, () => 0.5);
  return { name: 'synthetic', ...shape, numClasses: CLASSES, classNames: [], mean: half, std: half, train: split, test: split, source: 'generated' };
}

/** Batches per second over at least `seconds` (and at least 3 batches). */
export function measurePipeline(shape: InputShape, batchSize: number, seconds: number): { batchesPerSec: number; batches: number } {
  const data = randomDataset(shape, Math.max(IMAGES, batchSize));
  const maker = new BatchMaker(data, batchSize, { padding: DEFAULT_CROP_PADDING, flip: true });
  const orderRng = new Rng(1);
  const augmentRng = new Rng(2);
  const done = (batches: number, ms: number): boolean => ms >= seconds * 1000 && batches >= 3;
  let batches = 0;
  let elapsed = 0;
  const start = performance.now();
  while (!done(batches, elapsed)) {
    for (const indices of orderBatches(epochOrder(data.train.count, orderRng), batchSize, true)) {
      maker.make(data.train, indices, augmentRng);
      batches++;
      elapsed = performance.now() - start;
      if (done(batches, elapsed)) break;
    }
  }
  return { batchesPerSec: batches / (elapsed / 1000), batches };
}
