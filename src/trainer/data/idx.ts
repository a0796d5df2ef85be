// IDX files (MNIST, Fashion-MNIST): a big-endian header, then the bytes.
// Images: magic 2051, count, rows, cols, then count*rows*cols pixels.
// Labels: magic 2049, count, then count label bytes.
// Every header is checked against the file's exact length, so a truncated file is caught here.

import { findDataFile, plainBytes, readDataFile, requireFolder } from './files';
import { DataError, type ImageDataset, type ImageSplit } from './types';

export const IDX_IMAGES_MAGIC = 2051;
export const IDX_LABELS_MAGIC = 2049;
export const IDX_IMAGES_HEADER_BYTES = 16;
export const IDX_LABELS_HEADER_BYTES = 8;

export interface IdxImages {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  /** count*height*width bytes, a view into the file's buffer (no copy). */
  readonly pixels: Uint8Array;
}

/** `expected` pins rows x cols (28 x 28 for MNIST); a file with other dims is an error. */
export function parseIdxImages(
  bytes: Uint8Array,
  file: string,
  expected?: { height: number; width: number },
): IdxImages {
  checkHeader(bytes, file, IDX_IMAGES_MAGIC, IDX_IMAGES_HEADER_BYTES, 'images');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(4);
  const height = view.getUint32(8);
  const width = view.getUint32(12);
  if (expected && (height !== expected.height || width !== expected.width)) {
    throw new DataError(
      `${file}: header says ${height}x${width} images, expected ${expected.height}x${expected.width}`,
      'format',
    );
  }
  checkLength(bytes, file, IDX_IMAGES_HEADER_BYTES + count * height * width, `${count} images of ${height}x${width}`);
  return { count, height, width, pixels: plainBytes(bytes, IDX_IMAGES_HEADER_BYTES, count * height * width) };
}

/** Labels, each checked to be in [0, numClasses). */
export function parseIdxLabels(bytes: Uint8Array, file: string, numClasses: number): Uint8Array {
  checkHeader(bytes, file, IDX_LABELS_MAGIC, IDX_LABELS_HEADER_BYTES, 'labels');
  const count = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4);
  checkLength(bytes, file, IDX_LABELS_HEADER_BYTES + count, `${count} labels`);
  const labels = plainBytes(bytes, IDX_LABELS_HEADER_BYTES, count);
  checkLabels(labels, file, numClasses);
  return labels;
}

/** The official names of the four files of an MNIST-format dataset. */
export const IDX_FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;

/** An MNIST-format dataset: 28x28 grey images in the four IDX files. */
export interface IdxDatasetSpec {
  readonly name: 'mnist' | 'fashion-mnist';
  readonly what: string;
  readonly classNames: readonly string[];
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /** What to do when the files are missing. */
  readonly hint: string;
}

const IDX_SIDE = 28;

export async function loadIdxDataset(spec: IdxDatasetSpec, folder: string): Promise<ImageDataset> {
  requireFolder(folder, spec.what, spec.hint);
  const format = { height: IDX_SIDE, width: IDX_SIDE, numClasses: spec.classNames.length, what: spec.what, hint: spec.hint };
  const train = await readIdxSplit(folder, IDX_FILES.train, format);
  const test = await readIdxSplit(folder, IDX_FILES.test, format);
  return {
    name: spec.name,
    height: IDX_SIDE,
    width: IDX_SIDE,
    channels: 1,
    numClasses: spec.classNames.length,
    classNames: spec.classNames,
    mean: spec.mean,
    std: spec.std,
    train,
    test,
    source: folder,
  };
}

export interface IdxSplitFiles {
  readonly images: string;
  readonly labels: string;
}

/** One split (train or test) from an images file and a labels file in `dir`, raw or .gz. */
export async function readIdxSplit(
  dir: string,
  names: IdxSplitFiles,
  format: { height: number; width: number; numClasses: number; what: string; hint: string },
): Promise<ImageSplit> {
  const imagesFile = findDataFile(dir, names.images, format.what, format.hint);
  const labelsFile = findDataFile(dir, names.labels, format.what, format.hint);
  const images = parseIdxImages(await readDataFile(imagesFile), imagesFile, format);
  const labels = parseIdxLabels(await readDataFile(labelsFile), labelsFile, format.numClasses);
  if (labels.length !== images.count) {
    throw new DataError(
      `${imagesFile} holds ${images.count} images but ${labelsFile} holds ${labels.length} labels`,
      'format',
    );
  }
  return { images: images.pixels, labels, count: images.count };
}

export function checkLabels(labels: Uint8Array, file: string, numClasses: number): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= numClasses) {
      throw new DataError(`${file}: label ${labels[i]} at index ${i} is out of range [0, ${numClasses})`, 'format');
    }
  }
}

function checkHeader(bytes: Uint8Array, file: string, magic: number, headerBytes: number, kind: string): void {
  // Magic first: a wrong file (labels for images, say) is better named than "too short".
  if (bytes.length >= 4) {
    const found = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
    if (found !== magic) {
      throw new DataError(
        `${file}: wrong magic number ${found} (0x${found.toString(16)}), expected ${magic} for IDX ${kind}`,
        'format',
      );
    }
  }
  if (bytes.length < headerBytes) {
    throw new DataError(
      `${file}: ${bytes.length} bytes is too short for an IDX ${kind} header (${headerBytes} bytes)`,
      'format',
    );
  }
}

function checkLength(bytes: Uint8Array, file: string, expected: number, what: string): void {
  if (bytes.length === expected) return;
  const problem = bytes.length < expected ? 'the file is truncated' : 'the file has extra bytes';
  throw new DataError(
    `${file}: header says ${what} (${expected} bytes with the header) but the file has ${bytes.length} bytes: ${problem}`,
    'size',
  );
}
