// Fashion-MNIST: the same IDX format as MNIST. Debian's `dataset-fashion-mnist` package puts
// the official files (gzipped) in /usr/share/datasets/fashion-mnist/; any folder with the
// four files, raw or .gz, works too.

import { requireFolder } from './files';
import { readIdxSplit } from './idx';
import type { ImageDataset } from './types';

export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;
export const FASHION_MNIST_HEIGHT = 28;
export const FASHION_MNIST_WIDTH = 28;
export const FASHION_MNIST_MEAN = [0.286];
export const FASHION_MNIST_STD = [0.353];
export const FASHION_MNIST_CLASS_NAMES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

const HINT =
  'Install it with `sudo apt-get install dataset-fashion-mnist`, or set data.dir to a folder holding the four Fashion-MNIST IDX files (raw or .gz).';

export async function loadFashionMnist(dir: string | null): Promise<ImageDataset> {
  const folder = dir ?? FASHION_MNIST_DEFAULT_DIR;
  requireFolder(folder, 'Fashion-MNIST', HINT);
  const format = {
    height: FASHION_MNIST_HEIGHT,
    width: FASHION_MNIST_WIDTH,
    numClasses: FASHION_MNIST_CLASS_NAMES.length,
    what: 'Fashion-MNIST',
    hint: HINT,
  };
  const train = await readIdxSplit(folder, FASHION_MNIST_FILES.train, format);
  const test = await readIdxSplit(folder, FASHION_MNIST_FILES.test, format);
  return {
    name: 'fashion-mnist',
    height: FASHION_MNIST_HEIGHT,
    width: FASHION_MNIST_WIDTH,
    channels: 1,
    numClasses: FASHION_MNIST_CLASS_NAMES.length,
    classNames: FASHION_MNIST_CLASS_NAMES,
    mean: FASHION_MNIST_MEAN,
    std: FASHION_MNIST_STD,
    train,
    test,
    source: folder,
  };
}
