// CIFAR-10 / CIFAR-100 "binary version": fixed-size records of label byte(s) + 3072 pixel
// bytes stored CHW (1024 R, 1024 G, 1024 B, each 32x32 row-major). Converted to HWC here.
// Read from the extracted folder or straight from the official .tar.gz; optionally
// downloaded first.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { downloadFile } from './download';
import { errorMessage } from '../../shared/errors';
import { checkLabels } from './idx';
import { readTar } from './tar';
import { DataError, type ImageDataset, type ImageSplit } from './types';

export type CifarName = 'cifar10' | 'cifar100';

export const CIFAR_SIDE = 32;
export const CIFAR_CHANNELS = 3;
export const CIFAR_PLANE = CIFAR_SIDE * CIFAR_SIDE; // 1024
export const CIFAR_IMAGE_BYTES = CIFAR_PLANE * CIFAR_CHANNELS; // 3072

export interface CifarArchive {
  readonly url: string;
  readonly fileName: string;
  readonly md5: string;
  readonly size: number;
}

export const CIFAR_ARCHIVES: Readonly<Record<CifarName, CifarArchive>> = {
  cifar10: {
    url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
    fileName: 'cifar-10-binary.tar.gz',
    md5: 'c32a1d4ab5d03f1284b67883e8d87530',
    size: 170_052_171,
  },
  cifar100: {
    url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
    fileName: 'cifar-100-binary.tar.gz',
    md5: '03b5dce01913d631647c71ecec9e9cb8',
    size: 168_513_733,
  },
};

/** Records in each training file and in the test file. */
export interface CifarRecordCounts {
  readonly trainPerFile: number;
  readonly test: number;
}

export const CIFAR_RECORD_COUNTS: Readonly<Record<CifarName, CifarRecordCounts>> = {
  cifar10: { trainPerFile: 10_000, test: 10_000 },
  cifar100: { trainPerFile: 50_000, test: 10_000 },
};

export interface CifarLayout {
  readonly title: string;
  /** The folder the archive extracts to. */
  readonly folder: string;
  readonly trainFiles: readonly string[];
  readonly testFile: string;
  /** Label bytes before the pixels: CIFAR-10 one, CIFAR-100 coarse then fine. */
  readonly labelBytes: number;
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

export const CIFAR_LAYOUTS: Readonly<Record<CifarName, CifarLayout>> = {
  cifar10: {
    title: 'CIFAR-10',
    folder: 'cifar-10-batches-bin',
    trainFiles: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
    testFile: 'test_batch.bin',
    labelBytes: 1,
    mean: [0.4914, 0.4822, 0.4465],
    std: [0.247, 0.2435, 0.2616],
  },
  cifar100: {
    title: 'CIFAR-100',
    folder: 'cifar-100-binary',
    trainFiles: ['train.bin'],
    testFile: 'test.bin',
    labelBytes: 2,
    mean: [0.5071, 0.4865, 0.4409],
    std: [0.2673, 0.2564, 0.2762],
  },
};

/** Label sets: which label byte, how many classes, which names file. */
const LABEL_SETS = {
  cifar10: { byte: 0, numClasses: 10, namesFile: 'batches.meta.txt' },
  cifar100coarse: { byte: 0, numClasses: 20, namesFile: 'coarse_label_names.txt' },
  cifar100fine: { byte: 1, numClasses: 100, namesFile: 'fine_label_names.txt' },
} as const;

/** Used when batches.meta.txt is absent (it is in the official archive). */
const CIFAR10_CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export interface CifarLoadOptions {
  readonly name: CifarName;
  /** The extracted folder, its parent, a folder holding the .tar.gz, or the .tar.gz itself. */
  readonly source: string;
  /** CIFAR-100 only. */
  readonly labels?: 'fine' | 'coarse';
  /** Download the official archive into `source` when nothing is found there. */
  readonly download?: boolean;
  /** Replace the official URL / md5 / size (tests, mirrors). */
  readonly archive?: CifarArchive;
  /** Replace the official record counts (tests with small generated files). */
  readonly recordCounts?: CifarRecordCounts;
  readonly onProgress?: (message: string) => void;
}

type Location = { kind: 'folder'; dir: string } | { kind: 'archive'; file: string };

export async function loadCifar(options: CifarLoadOptions): Promise<ImageDataset> {
  const layout = CIFAR_LAYOUTS[options.name];
  const labelSet =
    options.name === 'cifar10' ? LABEL_SETS.cifar10 : options.labels === 'coarse' ? LABEL_SETS.cifar100coarse : LABEL_SETS.cifar100fine;
  const counts = options.recordCounts ?? CIFAR_RECORD_COUNTS[options.name];
  const location = await locate(options, layout);

  // Output allocated up front; each file is decoded into it as soon as it is read, so only
  // one raw file (30 MB) is held at a time, from a folder or streamed out of the archive.
  const train = allocSplit(layout.trainFiles.length * counts.trainPerFile);
  const test = allocSplit(counts.test);
  const decode = { layout, labelByte: labelSet.byte, numClasses: labelSet.numClasses };
  const required = [...layout.trainFiles, layout.testFile];
  const found = new Set<string>();
  let classNames: string[] | null = null;
  const take = (name: string, bytes: Uint8Array, label: string): void => {
    const trainIndex = layout.trainFiles.indexOf(name);
    if (trainIndex >= 0) decodeRecords(bytes, label, decode, counts.trainPerFile, train, trainIndex * counts.trainPerFile);
    else if (name === layout.testFile) decodeRecords(bytes, label, decode, counts.test, test, 0);
    else if (name === labelSet.namesFile) classNames = parseClassNames(bytes, label, labelSet.numClasses);
    found.add(name);
  };

  if (location.kind === 'folder') {
    for (const name of [...required, labelSet.namesFile]) {
      const file = path.join(location.dir, name);
      const bytes = await readIfPresent(file);
      if (bytes) take(name, bytes, file);
      else if (name !== labelSet.namesFile) {
        throw new DataError(`${layout.title}: file ${name} not found in ${location.dir}`, 'missing');
      }
    }
  } else {
    options.onProgress?.(`Reading ${layout.title} from ${location.file}`);
    const wanted = new Set([...required, labelSet.namesFile]);
    await readTar(
      location.file,
      (member) => wanted.has(path.posix.basename(member)),
      (member, data) => take(path.posix.basename(member), data, `${location.file}:${member}`),
    );
    const missing = required.filter((name) => !found.has(name));
    if (missing.length > 0) {
      const names = missing.map((name) => `${layout.folder}/${name}`).join(', ');
      throw new DataError(`${layout.title}: archive ${location.file} has no member ${names}`, 'missing');
    }
  }
  // The names files are in the official archive; fall back if someone left them out.
  const names: string[] =
    classNames ??
    (options.name === 'cifar10' ? CIFAR10_CLASS_NAMES : Array.from({ length: labelSet.numClasses }, (_, i) => String(i)));

  return {
    name: options.name,
    height: CIFAR_SIDE,
    width: CIFAR_SIDE,
    channels: CIFAR_CHANNELS,
    numClasses: labelSet.numClasses,
    classNames: names,
    mean: layout.mean,
    std: layout.std,
    train,
    test,
    source: location.kind === 'folder' ? location.dir : location.file,
  };
}

/**
 * Checks record size and count and the chosen label's range, then writes labels and HWC
 * pixels into `out` starting at record `first`.
 */
function decodeRecords(
  bytes: Uint8Array,
  file: string,
  format: { layout: CifarLayout; labelByte: number; numClasses: number },
  expectedCount: number,
  out: ImageSplit,
  first: number,
): void {
  const recordBytes = format.layout.labelBytes + CIFAR_IMAGE_BYTES;
  if (bytes.length % recordBytes !== 0) {
    throw new DataError(
      `${file}: ${bytes.length} bytes is not a whole number of ${recordBytes}-byte ${format.layout.title} records (truncated or not a ${format.layout.title} binary file)`,
      'size',
    );
  }
  const count = bytes.length / recordBytes;
  if (count !== expectedCount) {
    throw new DataError(`${file}: holds ${count} records, expected ${expectedCount}`, 'size');
  }
  const labels = out.labels.subarray(first, first + count);
  for (let r = 0; r < count; r++) labels[r] = bytes[r * recordBytes + format.labelByte];
  checkLabels(labels, file, format.numClasses);
  if (format.layout.labelBytes === 2) {
    // The other CIFAR-100 label must be sane too: a bad byte means a corrupt file.
    const other = 1 - format.labelByte;
    const otherClasses = other === 0 ? LABEL_SETS.cifar100coarse.numClasses : LABEL_SETS.cifar100fine.numClasses;
    for (let r = 0; r < count; r++) {
      const label = bytes[r * recordBytes + other];
      if (label >= otherClasses) {
        throw new DataError(
          `${file}: ${other === 0 ? 'coarse' : 'fine'} label ${label} at record ${r} is out of range [0, ${otherClasses})`,
          'format',
        );
      }
    }
  }
  const images = out.images;
  for (let r = 0; r < count; r++) {
    const src = r * recordBytes + format.layout.labelBytes;
    const dst = (first + r) * CIFAR_IMAGE_BYTES;
    for (let p = 0; p < CIFAR_PLANE; p++) {
      const o = dst + p * CIFAR_CHANNELS;
      images[o] = bytes[src + p];
      images[o + 1] = bytes[src + CIFAR_PLANE + p];
      images[o + 2] = bytes[src + 2 * CIFAR_PLANE + p];
    }
  }
}

/** One name per line, blank lines ignored; the count must match the label set. */
function parseClassNames(bytes: Uint8Array, file: string, numClasses: number): string[] {
  const names = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString('utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (names.length !== numClasses) {
    throw new DataError(`${file}: lists ${names.length} class names, expected ${numClasses}`, 'format');
  }
  return names;
}

function allocSplit(count: number): ImageSplit {
  return { images: new Uint8Array(count * CIFAR_IMAGE_BYTES), labels: new Uint8Array(count), count };
}

/** Where the data is: extracted files, or an archive (downloaded first when allowed). */
async function locate(options: CifarLoadOptions, layout: CifarLayout): Promise<Location> {
  const archive = options.archive ?? CIFAR_ARCHIVES[options.name];
  const source = options.source;
  const stat = fs.statSync(source, { throwIfNoEntry: false });
  const hint = `Download ${archive.url} into that folder (the .tar.gz is read as is, or extract it), or set data.download to true.`;
  if (stat?.isFile()) return { kind: 'archive', file: source };
  if (stat?.isDirectory()) {
    const firstTrain = layout.trainFiles[0];
    if (fs.existsSync(path.join(source, firstTrain))) return { kind: 'folder', dir: source };
    const extracted = path.join(source, layout.folder);
    if (fs.existsSync(path.join(extracted, firstTrain))) return { kind: 'folder', dir: extracted };
    const archiveFile = path.join(source, archive.fileName);
    if (fs.existsSync(archiveFile)) return { kind: 'archive', file: archiveFile };
    if (!options.download) {
      throw new DataError(
        `${layout.title} not found in ${source}: expected ${layout.folder}/ or ${archive.fileName}. ${hint}`,
        'missing',
      );
    }
    await download(archive, archiveFile, layout.title, options.onProgress);
    return { kind: 'archive', file: archiveFile };
  }
  if (!options.download) {
    throw new DataError(`${layout.title} not found: ${source} does not exist. ${hint}`, 'missing');
  }
  const target = /\.(tar\.gz|tgz)$/.test(source) ? source : path.join(source, archive.fileName);
  await download(archive, target, layout.title, options.onProgress);
  return { kind: 'archive', file: target };
}

async function download(
  archive: CifarArchive,
  target: string,
  title: string,
  onProgress: ((message: string) => void) | undefined,
): Promise<void> {
  onProgress?.(`Downloading ${title} from ${archive.url} to ${target}`);
  let lastReported = -1;
  await downloadFile(archive.url, target, {
    md5: archive.md5,
    size: archive.size,
    onProgress: (bytes, total) => {
      if (!onProgress || total === null) return;
      const percent = Math.floor((100 * bytes) / total);
      // Every 5 %, so a log is not flooded.
      if (percent >= lastReported + 5 || bytes === total) {
        lastReported = percent;
        onProgress(`Downloading ${title}: ${mb(bytes)} / ${mb(total)} MB (${percent}%)`);
      }
    },
  });
  onProgress?.(`Downloaded ${title} to ${target} (md5 checked)`);
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/** The file's bytes, or null when it does not exist. */
async function readIfPresent(file: string): Promise<Uint8Array | null> {
  try {
    return await fs.promises.readFile(file);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return null;
    throw new DataError(`Cannot read ${file}: ${errorMessage(err)}`, 'missing');
  }
}
