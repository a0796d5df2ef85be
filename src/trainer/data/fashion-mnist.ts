// Fashion-MNIST: the same IDX format as MNIST. Debian's `dataset-fashion-mnist` package puts
// the official files (gzipped) in /usr/share/datasets/fashion-mnist/; any folder with the
// four files, raw or .gz, works too.

import { loadIdxDataset, type IdxDatasetSpec } from './idx';
import type { ImageDataset } from './types';

export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

const FASHION_MNIST: IdxDatasetSpec = {
  name: 'fashion-mnist',
  what: 'Fashion-MNIST',
  classNames: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  mean: [0.286],
  std: [0.353],
  hint: 'Install it with `sudo apt-get install dataset-fashion-mnist`, or set data.dir to a folder holding the four Fashion-MNIST IDX files (raw or .gz).',
};

export function loadFashionMnist(dir: string | null): Promise<ImageDataset> {
  return loadIdxDataset(FASHION_MNIST, dir ?? FASHION_MNIST_DEFAULT_DIR);
}
