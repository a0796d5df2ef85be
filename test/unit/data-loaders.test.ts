// Dataset loaders against small files written here in the exact official formats (IDX,
// CIFAR binary records, ustar .tar.gz), the real bundled MNIST, and the download path
// against a local HTTP server.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { DEFAULTS, type DataConfig } from '../../src/shared/config';
import { CIFAR_ARCHIVES, type CifarArchive, loadCifar } from '../../src/trainer/data/cifar';
import { downloadFile } from '../../src/trainer/data/download';
import { FASHION_MNIST_DEFAULT_DIR, loadFashionMnist } from '../../src/trainer/data/fashion-mnist';
import { parseIdxImages, parseIdxLabels } from '../../src/trainer/data/idx';
import { defaultCacheDir, loadDataset } from '../../src/trainer/data/index';
import { loadMnist } from '../../src/trainer/data/mnist';
import { channelStats, makeSyntheticDataset } from '../../src/trainer/data/synthetic';
import { readTarMembers } from '../../src/trainer/data/tar';
import { DataError } from '../../src/trainer/data/types';

// ---------- writers for the official formats ----------

function idxImages(count: number, height: number, width: number, pixel: (i: number, p: number) => number): Buffer {
  const b = Buffer.alloc(16 + count * height * width);
  b.writeUInt32BE(2051, 0);
  b.writeUInt32BE(count, 4);
  b.writeUInt32BE(height, 8);
  b.writeUInt32BE(width, 12);
  for (let i = 0; i < count; i++) for (let p = 0; p < height * width; p++) b[16 + i * height * width + p] = pixel(i, p);
  return b;
}

function idxLabels(labels: number[]): Buffer {
  const b = Buffer.alloc(8 + labels.length);
  b.writeUInt32BE(2049, 0);
  b.writeUInt32BE(labels.length, 4);
  labels.forEach((l, i) => (b[8 + i] = l));
  return b;
}

const mnistPixel = (i: number, p: number): number => (i * 13 + p * 3) & 255;
const mnistTrainLabels = Array.from({ length: 12 }, (_, i) => (i * 7) % 10);
const mnistTestLabels = Array.from({ length: 6 }, (_, i) => (i * 3 + 1) % 10);

function writeIdxFolder(dir: string, gz: boolean): void {
  fs.mkdirSync(dir, { recursive: true });
  const files: Record<string, Buffer> = {
    'train-images-idx3-ubyte': idxImages(12, 28, 28, mnistPixel),
    'train-labels-idx1-ubyte': idxLabels(mnistTrainLabels),
    't10k-images-idx3-ubyte': idxImages(6, 28, 28, (i, p) => mnistPixel(i + 100, p)),
    't10k-labels-idx1-ubyte': idxLabels(mnistTestLabels),
  };
  for (const [name, data] of Object.entries(files)) {
    if (gz) fs.writeFileSync(path.join(dir, `${name}.gz`), zlib.gzipSync(data));
    else fs.writeFileSync(path.join(dir, name), data);
  }
}

/** CHW source value of record r, channel c, position p (row-major 32x32). */
const cifarPixel = (r: number, c: number, p: number): number => (r * 31 + c * 97 + p * 7) & 255;

function cifarRecords(count: number, firstRecord: number, labels: (r: number) => number[]): Buffer {
  const labelBytes = labels(0).length;
  const recordBytes = labelBytes + 3072;
  const b = Buffer.alloc(count * recordBytes);
  for (let i = 0; i < count; i++) {
    const r = firstRecord + i;
    const base = i * recordBytes;
    labels(r).forEach((l, k) => (b[base + k] = l));
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) b[base + labelBytes + c * 1024 + p] = cifarPixel(r, c, p);
  }
  return b;
}

const PER_FILE = 20;
const COUNTS = { trainPerFile: PER_FILE, test: PER_FILE };
const TEST_FIRST = 1000; // test records use their own pixel pattern
const cifar10Label = (r: number): number[] => [r % 10];
const cifar100Labels = (r: number): number[] => [r % 20, (r * 7 + 3) % 100];
const CIFAR10_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

function cifar10Files(): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 5; i++) files[`data_batch_${i + 1}.bin`] = cifarRecords(PER_FILE, i * PER_FILE, cifar10Label);
  files['test_batch.bin'] = cifarRecords(PER_FILE, TEST_FIRST, cifar10Label);
  files['batches.meta.txt'] = Buffer.from(`${CIFAR10_NAMES.join('\n')}\n\n`);
  return files;
}

function cifar100Files(): Record<string, Buffer> {
  return {
    'train.bin': cifarRecords(PER_FILE, 0, cifar100Labels),
    'test.bin': cifarRecords(PER_FILE, TEST_FIRST, cifar100Labels),
    'coarse_label_names.txt': Buffer.from(Array.from({ length: 20 }, (_, i) => `coarse_${i}`).join('\n')),
    'fine_label_names.txt': Buffer.from(Array.from({ length: 100 }, (_, i) => `fine_${i}`).join('\n')),
  };
}

function writeFolder(dir: string, files: Record<string, Buffer>): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), data);
}

/** A ustar header block; long names go in the prefix field, as GNU tar writes them. */
function tarHeader(name: string, size: number, type: '0' | '5' | 'L' | 'x'): Buffer {
  const h = Buffer.alloc(512);
  let prefix = '';
  if (name.length > 100) {
    const cut = name.lastIndexOf('/', name.length - 2); // keep a directory's trailing slash in name
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  h.write(name, 0, 100, 'utf8');
  h.write(type === '5' ? '0000755\0' : '0000644\0', 100);
  h.write('0001750\0', 108);
  h.write('0001750\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write(`${Math.floor(Date.UTC(2009, 5, 4) / 1000).toString(8).padStart(11, '0')}\0`, 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.write('kriz', 265);
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

function tarArchive(folder: string, files: Record<string, Buffer>): Buffer {
  const blocks: Buffer[] = [tarHeader(`${folder}/`, 0, '5')];
  for (const [name, data] of Object.entries(files)) {
    blocks.push(tarHeader(`${folder}/${name}`, data.length, '0'), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function md5(data: Buffer): string {
  return crypto.createHash('md5').update(data).digest('hex');
}

/** Runs `fn`, which must reject with a DataError of `code` whose message matches every pattern. */
async function rejectsData(fn: () => Promise<unknown>, code: DataError['code'], ...patterns: RegExp[]): Promise<DataError> {
  let caught: unknown = null;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof DataError, `expected a DataError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  for (const pattern of patterns) assert.match(caught.message, pattern);
  return caught;
}

function dataConfig(overrides: Partial<DataConfig>): DataConfig {
  return { ...DEFAULTS.data, ...overrides };
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'was-data-loaders-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

function tempDir(name: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

// ---------- IDX / MNIST / Fashion-MNIST ----------

describe('IDX datasets', () => {
  test('the bundled MNIST loads: 60,000 / 10,000 images of 28x28x1, first train label 5', async () => {
    const data = await loadDataset(dataConfig({ name: 'mnist' }), { seed: 1 });
    assert.equal(data.train.count, 60_000);
    assert.equal(data.test.count, 10_000);
    assert.deepEqual([data.height, data.width, data.channels, data.numClasses], [28, 28, 1, 10]);
    assert.equal(data.train.images.length, 60_000 * 784);
    assert.equal(data.test.labels.length, 10_000);
    assert.equal(data.train.labels[0], 5);
    assert.equal(data.test.labels[0], 7);
    assert.deepEqual(data.mean, [0.1307]);
    assert.deepEqual(data.std, [0.3081]);
    assert.ok(data.train.images.some((v) => v > 0));
  });

  for (const gz of [false, true]) {
    test(`Fashion-MNIST from a folder of ${gz ? '.gz' : 'raw'} IDX files`, async () => {
      const dir = tempDir(`fashion-${gz ? 'gz' : 'raw'}`);
      writeIdxFolder(dir, gz);
      const data = await loadDataset(dataConfig({ name: 'fashion-mnist', dir }), { seed: 1 });
      assert.equal(data.name, 'fashion-mnist');
      assert.equal(data.train.count, 12);
      assert.equal(data.test.count, 6);
      assert.deepEqual(Array.from(data.train.labels), mnistTrainLabels);
      assert.deepEqual(Array.from(data.test.labels), mnistTestLabels);
      for (let i = 0; i < 12; i++) for (let p = 0; p < 784; p += 37) assert.equal(data.train.images[i * 784 + p], mnistPixel(i, p));
      assert.equal(data.test.images[5 * 784 + 783], mnistPixel(105, 783));
      assert.deepEqual(data.mean, [0.286]);
      assert.deepEqual(data.std, [0.353]);
      assert.equal(data.classNames[9], 'Ankle boot');
    });
  }

  test('MNIST from an explicit folder', async () => {
    const dir = tempDir('mnist-raw');
    writeIdxFolder(dir, false);
    const data = await loadMnist(dir);
    assert.equal(data.train.count, 12);
    assert.equal(data.source, dir);
  });

  test('Fashion-MNIST: a missing folder says to install dataset-fashion-mnist or pass a folder', async () => {
    const missing = path.join(root, 'no-such-folder');
    await rejectsData(() => loadFashionMnist(missing), 'missing', /no-such-folder/, /apt-get install dataset-fashion-mnist/, /data\.dir/);
    if (!fs.existsSync(FASHION_MNIST_DEFAULT_DIR)) {
      await rejectsData(() => loadFashionMnist(null), 'missing', /\/usr\/share\/datasets\/fashion-mnist/, /apt-get install/);
    }
  });

  test('a missing IDX file is named, with what to do', async () => {
    const dir = tempDir('fashion-missing-file');
    writeIdxFolder(dir, true);
    fs.rmSync(path.join(dir, 't10k-labels-idx1-ubyte.gz'));
    await rejectsData(() => loadFashionMnist(dir), 'missing', /t10k-labels-idx1-ubyte/, /apt-get install dataset-fashion-mnist/);
  });

  test('wrong magic number', () => {
    const labelsAsImages = idxLabels([1, 2, 3]);
    assert.throws(() => parseIdxImages(labelsAsImages, 'x/images'), (err: unknown) => {
      assert.ok(err instanceof DataError);
      assert.match(err.message, /x\/images/);
      assert.match(err.message, /magic number 2049/);
      assert.match(err.message, /expected 2051/);
      return true;
    });
    const images = idxImages(2, 28, 28, () => 0);
    assert.throws(() => parseIdxLabels(images, 'y/labels', 10), /y\/labels: wrong magic number 2051.*expected 2049/);
  });

  test('header dims that do not match the file length: truncated or extra bytes', async () => {
    const full = idxImages(3, 28, 28, mnistPixel);
    assert.throws(() => parseIdxImages(full.subarray(0, full.length - 1), 'f'), /header says 3 images of 28x28 \(2368 bytes.*2367 bytes: the file is truncated/);
    assert.throws(() => parseIdxImages(Buffer.concat([full, Buffer.alloc(5)]), 'f'), /extra bytes/);
    assert.throws(() => parseIdxImages(full.subarray(0, 10), 'f'), /too short for an IDX images header/);
    assert.throws(() => parseIdxLabels(idxLabels([1, 2, 3]).subarray(0, 10), 'l', 10), /header says 3 labels.*truncated/);
    // End to end: a truncated file on disk is reported by name.
    const dir = tempDir('fashion-truncated');
    writeIdxFolder(dir, false);
    const file = path.join(dir, 'train-images-idx3-ubyte');
    fs.truncateSync(file, fs.statSync(file).size - 100);
    await rejectsData(() => loadFashionMnist(dir), 'size', /train-images-idx3-ubyte/, /truncated/);
  });

  test('dims other than 28x28 are refused for MNIST', async () => {
    const dir = tempDir('mnist-32');
    writeIdxFolder(dir, false);
    fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), idxImages(12, 32, 32, mnistPixel));
    await rejectsData(() => loadMnist(dir), 'format', /train-images-idx3-ubyte: header says 32x32 images, expected 28x28/);
  });

  test('label out of range, and images/labels count mismatch', async () => {
    assert.throws(() => parseIdxLabels(idxLabels([0, 9, 10, 1]), 'lab', 10), /lab: label 10 at index 2 is out of range \[0, 10\)/);
    const dir = tempDir('fashion-count');
    writeIdxFolder(dir, false);
    fs.writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), idxLabels([1, 2, 3]));
    await rejectsData(() => loadFashionMnist(dir), 'format', /t10k-images-idx3-ubyte holds 6 images but .*t10k-labels-idx1-ubyte holds 3 labels/);
  });

  test('corrupt gzip is reported with the file name', async () => {
    const dir = tempDir('fashion-corrupt-gz');
    writeIdxFolder(dir, true);
    const file = path.join(dir, 'train-images-idx3-ubyte.gz');
    const gz = fs.readFileSync(file);
    fs.writeFileSync(file, gz.subarray(0, gz.length >> 1)); // cut in half
    await rejectsData(() => loadFashionMnist(dir), 'format', /Corrupt gzip file .*train-images-idx3-ubyte\.gz/);
    const bad = Buffer.from(gz);
    bad.fill(0x55, 20, 60); // scramble the deflate stream
    fs.writeFileSync(file, bad);
    await rejectsData(() => loadFashionMnist(dir), 'format', /Corrupt gzip file .*train-images-idx3-ubyte\.gz/);
  });
});

// ---------- CIFAR ----------

function checkCifarPixels(images: Uint8Array, count: number, firstRecord: number): void {
  for (let r = 0; r < count; r++) {
    for (let p = 0; p < 1024; p++) {
      for (let c = 0; c < 3; c++) {
        const got = images[(r * 1024 + p) * 3 + c];
        if (got !== cifarPixel(firstRecord + r, c, p)) {
          assert.fail(`record ${r} pixel ${p} channel ${c}: ${got} != ${cifarPixel(firstRecord + r, c, p)}`);
        }
      }
    }
  }
}

describe('CIFAR', () => {
  let cifar10Dir = '';
  let cifar10Archive = '';
  let cifar100Dir = '';
  let cifar100Archive = '';

  before(() => {
    cifar10Dir = tempDir('c10');
    writeFolder(path.join(cifar10Dir, 'cifar-10-batches-bin'), cifar10Files());
    cifar10Archive = path.join(tempDir('c10-archive'), 'cifar-10-binary.tar.gz');
    fs.writeFileSync(cifar10Archive, zlib.gzipSync(tarArchive('cifar-10-batches-bin', cifar10Files())));
    cifar100Dir = path.join(tempDir('c100'), 'cifar-100-binary');
    writeFolder(cifar100Dir, cifar100Files());
    cifar100Archive = path.join(tempDir('c100-archive'), 'cifar-100-binary.tar.gz');
    fs.writeFileSync(cifar100Archive, zlib.gzipSync(tarArchive('cifar-100-binary', cifar100Files())));
  });

  test('CIFAR-10 from the extracted folder: labels, class names and CHW -> HWC pixels', async () => {
    const data = await loadCifar({ name: 'cifar10', source: cifar10Dir, recordCounts: COUNTS });
    assert.deepEqual([data.height, data.width, data.channels, data.numClasses], [32, 32, 3, 10]);
    assert.equal(data.train.count, 5 * PER_FILE);
    assert.equal(data.test.count, PER_FILE);
    assert.equal(data.train.images.length, 100 * 3072);
    assert.deepEqual(Array.from(data.train.labels), Array.from({ length: 100 }, (_, r) => r % 10));
    assert.deepEqual(Array.from(data.test.labels), Array.from({ length: 20 }, (_, r) => (TEST_FIRST + r) % 10));
    checkCifarPixels(data.train.images, 100, 0);
    checkCifarPixels(data.test.images, 20, TEST_FIRST);
    // One spelled out: record 0, row 0 col 1 (p = 1), HWC index 3..5 = R, G, B of that pixel.
    assert.deepEqual(Array.from(data.train.images.subarray(3, 6)), [7, 97 + 7, 194 + 7]);
    assert.deepEqual(data.classNames, CIFAR10_NAMES);
    assert.deepEqual(data.mean, [0.4914, 0.4822, 0.4465]);
    assert.deepEqual(data.std, [0.247, 0.2435, 0.2616]);
    assert.equal(data.source, path.join(cifar10Dir, 'cifar-10-batches-bin'));
    // Pointing at the batches folder itself works too.
    const direct = await loadCifar({ name: 'cifar10', source: path.join(cifar10Dir, 'cifar-10-batches-bin'), recordCounts: COUNTS });
    assert.deepEqual(direct.train.images, data.train.images);
  });

  test('CIFAR-10 read straight from the .tar.gz equals the folder, whether given the file or its folder', async () => {
    const fromFolder = await loadCifar({ name: 'cifar10', source: cifar10Dir, recordCounts: COUNTS });
    const fromArchive = await loadCifar({ name: 'cifar10', source: cifar10Archive, recordCounts: COUNTS });
    assert.deepEqual(fromArchive.train.images, fromFolder.train.images);
    assert.deepEqual(fromArchive.train.labels, fromFolder.train.labels);
    assert.deepEqual(fromArchive.test.images, fromFolder.test.images);
    assert.deepEqual(fromArchive.test.labels, fromFolder.test.labels);
    assert.deepEqual(fromArchive.classNames, CIFAR10_NAMES);
    assert.equal(fromArchive.source, cifar10Archive);
    const viaDir = await loadDataset(dataConfig({ name: 'cifar10', dir: path.dirname(cifar10Archive) }), {
      seed: 1,
      cifar: { cifar10: { recordCounts: COUNTS } },
    });
    assert.deepEqual(viaDir.test.images, fromFolder.test.images);
    assert.equal(viaDir.source, cifar10Archive);
  });

  test('tar reader: ustar prefix, GNU and pax long names, plain (not gzipped) tar, non-tar data', async () => {
    const dir = tempDir('tar');
    const longFolder = `${'deep/'.repeat(25)}cifar-10-batches-bin`;
    const tar = tarArchive(longFolder, { 'test_batch.bin': Buffer.from('hello') });
    const plain = path.join(dir, 'plain.tar');
    fs.writeFileSync(plain, tar);
    const members = await readTarMembers(plain, (name) => name.endsWith('.bin'));
    assert.deepEqual([...members.keys()], [`${longFolder}/test_batch.bin`]);
    assert.equal(members.get(`${longFolder}/test_batch.bin`)?.toString(), 'hello');
    // GNU long-name and pax path records name the member that follows them.
    const entry = (name: string, type: '0' | 'L' | 'x', data: Buffer): Buffer[] => [
      tarHeader(name, data.length, type),
      data,
      Buffer.alloc((512 - (data.length % 512)) % 512),
    ];
    const gnuName = `./${'g'.repeat(120)}/data_batch_1.bin`;
    const paxRecord = ` path=${'p'.repeat(130)}/test_batch.bin\n`;
    const paxData = Buffer.from(`${paxRecord.length + String(paxRecord.length + 3).length}${paxRecord}`);
    const extended = Buffer.concat([
      ...entry('././@LongLink', 'L', Buffer.from(`${gnuName}\0`)),
      ...entry('truncated-name', '0', Buffer.from('gnu')),
      ...entry('PaxHeaders/x', 'x', paxData),
      ...entry('other-truncated-name', '0', Buffer.from('pax')),
      Buffer.alloc(1024),
    ]);
    const extendedFile = path.join(dir, 'extended.tar.gz');
    fs.writeFileSync(extendedFile, zlib.gzipSync(extended));
    const extendedMembers = await readTarMembers(extendedFile, () => true);
    assert.deepEqual([...extendedMembers.keys()], [gnuName.slice(2), `${'p'.repeat(130)}/test_batch.bin`]);
    assert.deepEqual([...extendedMembers.values()].map(String), ['gnu', 'pax']);
    const junk = path.join(dir, 'junk.tar.gz');
    fs.writeFileSync(junk, zlib.gzipSync(Buffer.alloc(2048, 7)));
    await rejectsData(() => readTarMembers(junk, () => true), 'format', /junk\.tar\.gz is not a valid tar archive: bad header checksum at byte 0/);
    const cut = path.join(dir, 'cut.tar');
    fs.writeFileSync(cut, tar.subarray(0, 512 + 512 + 2));
    await rejectsData(() => readTarMembers(cut, () => true), 'format', /Truncated tar archive .*cut\.tar: it ends inside member/);
  });

  test('CIFAR-100: coarse vs fine labels, from folder and archive', async () => {
    const fine = await loadCifar({ name: 'cifar100', source: cifar100Dir, labels: 'fine', recordCounts: COUNTS });
    const coarse = await loadCifar({ name: 'cifar100', source: cifar100Archive, labels: 'coarse', recordCounts: COUNTS });
    assert.equal(fine.numClasses, 100);
    assert.equal(coarse.numClasses, 20);
    assert.deepEqual(Array.from(fine.train.labels), Array.from({ length: 20 }, (_, r) => (r * 7 + 3) % 100));
    assert.deepEqual(Array.from(coarse.train.labels), Array.from({ length: 20 }, (_, r) => r % 20));
    assert.deepEqual(Array.from(fine.test.labels), Array.from({ length: 20 }, (_, r) => ((TEST_FIRST + r) * 7 + 3) % 100));
    assert.equal(fine.classNames.length, 100);
    assert.equal(fine.classNames[42], 'fine_42');
    assert.equal(coarse.classNames[7], 'coarse_7');
    assert.deepEqual(coarse.mean, [0.5071, 0.4865, 0.4409]);
    // Two label bytes before the pixels: the pixels must not be shifted.
    checkCifarPixels(fine.train.images, 20, 0);
    checkCifarPixels(coarse.test.images, 20, TEST_FIRST);
    const viaConfig = await loadDataset(dataConfig({ name: 'cifar100', dir: cifar100Dir, cifar100Labels: 'coarse' }), {
      seed: 1,
      cifar: { cifar100: { recordCounts: COUNTS } },
    });
    assert.equal(viaConfig.numClasses, 20);
    assert.deepEqual(viaConfig.train.labels, coarse.train.labels);
  });

  test('CIFAR file length not a multiple of the record size, or the wrong record count', async () => {
    const dir = tempDir('c10-bad-length');
    writeFolder(dir, cifar10Files());
    const file = path.join(dir, 'data_batch_3.bin');
    fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 3073 * 20 - 10));
    await rejectsData(
      () => loadCifar({ name: 'cifar10', source: dir, recordCounts: COUNTS }),
      'size',
      /data_batch_3\.bin: 61450 bytes is not a whole number of 3073-byte CIFAR-10 records/,
    );
    fs.writeFileSync(file, cifarRecords(19, 40, cifar10Label));
    await rejectsData(() => loadCifar({ name: 'cifar10', source: dir, recordCounts: COUNTS }), 'size', /data_batch_3\.bin: holds 19 records, expected 20/);
    // The official counts apply by default: 20 records is not a real CIFAR-10 batch.
    await rejectsData(() => loadCifar({ name: 'cifar10', source: cifar10Dir }), 'size', /data_batch_1\.bin: holds 20 records, expected 10000/);
    // A CIFAR-10 file read as CIFAR-100 (3073 vs 3074-byte records) is caught.
    const mixed = tempDir('c100-wrong-records');
    writeFolder(mixed, { ...cifar100Files(), 'train.bin': cifarRecords(20, 0, cifar10Label) });
    await rejectsData(() => loadCifar({ name: 'cifar100', source: mixed, recordCounts: COUNTS }), 'size', /train\.bin: 61460 bytes is not a whole number of 3074-byte CIFAR-100 records/);
  });

  test('CIFAR label out of range', async () => {
    const dir = tempDir('c10-bad-label');
    writeFolder(dir, { ...cifar10Files(), 'test_batch.bin': cifarRecords(20, 0, (r) => [r === 13 ? 10 : 0]) });
    await rejectsData(() => loadCifar({ name: 'cifar10', source: dir, recordCounts: COUNTS }), 'format', /test_batch\.bin: label 10 at index 13 is out of range \[0, 10\)/);
    const dir100 = tempDir('c100-bad-label');
    writeFolder(dir100, { ...cifar100Files(), 'train.bin': cifarRecords(20, 0, (r) => [r === 5 ? 20 : 1, 2]) });
    await rejectsData(() => loadCifar({ name: 'cifar100', source: dir100, labels: 'coarse', recordCounts: COUNTS }), 'format', /train\.bin: label 20 at index 5 is out of range \[0, 20\)/);
    // Reading fine labels, a bad coarse byte still marks the file corrupt.
    await rejectsData(() => loadCifar({ name: 'cifar100', source: dir100, labels: 'fine', recordCounts: COUNTS }), 'format', /train\.bin: coarse label 20 at record 5 is out of range \[0, 20\)/);
  });

  test('a missing CIFAR file, folder or archive member is named', async () => {
    const dir = tempDir('c10-missing-file');
    const files = cifar10Files();
    delete files['data_batch_4.bin'];
    writeFolder(path.join(dir, 'cifar-10-batches-bin'), files);
    await rejectsData(() => loadCifar({ name: 'cifar10', source: dir, recordCounts: COUNTS }), 'missing', /CIFAR-10: file data_batch_4\.bin not found in .*cifar-10-batches-bin/);

    const archive = path.join(tempDir('c10-archive-missing'), 'cifar-10-binary.tar.gz');
    fs.writeFileSync(archive, zlib.gzipSync(tarArchive('cifar-10-batches-bin', files)));
    await rejectsData(() => loadCifar({ name: 'cifar10', source: archive, recordCounts: COUNTS }), 'missing', /archive .*cifar-10-binary\.tar\.gz has no member cifar-10-batches-bin\/data_batch_4\.bin/);

    const empty = tempDir('c10-empty');
    await rejectsData(
      () => loadCifar({ name: 'cifar10', source: empty }),
      'missing',
      /CIFAR-10 not found in .*c10-empty: expected cifar-10-batches-bin\/ or cifar-10-binary\.tar\.gz/,
      /cs\.toronto\.edu/,
      /data\.download/,
    );
    await rejectsData(() => loadCifar({ name: 'cifar100', source: path.join(root, 'nowhere') }), 'missing', /CIFAR-100 not found: .*nowhere does not exist/);
  });

  test('a corrupt CIFAR .tar.gz is reported as corrupt gzip', async () => {
    const dir = tempDir('c10-corrupt');
    const good = fs.readFileSync(cifar10Archive);
    const truncated = path.join(dir, 'truncated.tar.gz');
    fs.writeFileSync(truncated, good.subarray(0, good.length - 100));
    await rejectsData(() => loadCifar({ name: 'cifar10', source: truncated, recordCounts: COUNTS }), 'format', /Corrupt gzip data in .*truncated\.tar\.gz: unexpected end of file/);
    const scrambled = Buffer.from(good);
    for (let i = 200; i < scrambled.length - 8; i += 97) scrambled[i] ^= 0xa5;
    const bad = path.join(dir, 'scrambled.tar.gz');
    fs.writeFileSync(bad, scrambled);
    await rejectsData(() => loadCifar({ name: 'cifar10', source: bad, recordCounts: COUNTS }), 'format', /Corrupt gzip data in .*scrambled\.tar\.gz/);
  });
});

// ---------- download ----------

describe('download', () => {
  let server: http.Server;
  let base = '';
  let archive: Buffer;
  const hits = new Map<string, number>();

  before(async () => {
    archive = zlib.gzipSync(tarArchive('cifar-10-batches-bin', cifar10Files()));
    server = http.createServer((req, res) => {
      const url = req.url ?? '';
      hits.set(url, (hits.get(url) ?? 0) + 1);
      if (url === '/kriz/cifar-10-binary.tar.gz') {
        res.writeHead(200, { 'content-length': archive.length, 'content-type': 'application/x-gzip' });
        // Several chunks a few ms apart, so progress is reported more than once.
        const step = Math.ceil(archive.length / 4);
        let offset = 0;
        const next = (): void => {
          if (offset >= archive.length) {
            res.end();
            return;
          }
          res.write(archive.subarray(offset, offset + step));
          offset += step;
          setTimeout(next, 5);
        };
        next();
      } else if (url === '/moved') {
        res.writeHead(302, { location: '/kriz/cifar-10-binary.tar.gz' });
        res.end();
      } else if (url === '/cut') {
        res.writeHead(200, { 'content-length': archive.length });
        res.write(archive.subarray(0, 1000), () => res.destroy());
      } else {
        res.writeHead(404);
        res.end('not here');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const spec = (overrides: Partial<CifarArchive> = {}): CifarArchive => ({
    url: `${base}/kriz/cifar-10-binary.tar.gz`,
    fileName: 'cifar-10-binary.tar.gz',
    md5: md5(archive),
    size: archive.length,
    ...overrides,
  });

  test('downloads with progress, checks md5 and size, renames into place', async () => {
    const dir = tempDir('dl-ok');
    const dest = path.join(dir, 'sub', 'a.tar.gz');
    const progress: Array<[number, number | null]> = [];
    await downloadFile(`${base}/moved`, dest, { md5: md5(archive), size: archive.length, onProgress: (b, t) => progress.push([b, t]) });
    assert.deepEqual(fs.readFileSync(dest), archive);
    assert.deepEqual(fs.readdirSync(path.dirname(dest)), ['a.tar.gz']);
    assert.ok(progress.length >= 2, `progress reported ${progress.length} times`);
    assert.deepEqual(progress[progress.length - 1], [archive.length, archive.length]);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i][0] > progress[i - 1][0]);
  });

  test('md5 or size mismatch: a DataError and no file left behind', async () => {
    const dir = tempDir('dl-bad');
    const dest = path.join(dir, 'cifar-10-binary.tar.gz');
    await rejectsData(
      () => downloadFile(spec().url, dest, { md5: '0123456789abcdef0123456789abcdef' }),
      'checksum',
      new RegExp(`has md5 ${md5(archive)}, expected 0123456789abcdef0123456789abcdef; the file was deleted`),
    );
    assert.deepEqual(fs.readdirSync(dir), []);
    await rejectsData(() => downloadFile(spec().url, dest, { size: 170_052_171 }), 'size', new RegExp(`is ${archive.length} bytes, expected 170052171`));
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  test('HTTP errors and a cut connection: a DataError and no file left behind', async () => {
    const dir = tempDir('dl-http');
    const dest = path.join(dir, 'x.tar.gz');
    await rejectsData(() => downloadFile(`${base}/nothing`, dest), 'download', /\/nothing failed: HTTP 404/);
    await rejectsData(() => downloadFile(`${base}/cut`, dest), 'download', /\/cut/);
    await rejectsData(() => downloadFile('ftp://127.0.0.1/x', dest), 'download', /only http and https/);
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  test('loadDataset downloads CIFAR-10 into the cache once, then reads it from there', async () => {
    const cacheDir = path.join(tempDir('dl-cache'), 'datasets');
    const messages: string[] = [];
    const before = hits.get('/kriz/cifar-10-binary.tar.gz') ?? 0;
    const options = {
      seed: 1,
      cacheDir,
      onProgress: (m: string) => messages.push(m),
      cifar: { cifar10: { archive: spec(), recordCounts: COUNTS } },
    };
    const data = await loadDataset(dataConfig({ name: 'cifar10', download: true, testLimit: 5 }), options);
    assert.equal(data.train.count, 100);
    assert.equal(data.test.count, 5);
    checkCifarPixels(data.train.images, 100, 0);
    assert.ok(fs.existsSync(path.join(cacheDir, 'cifar-10-binary.tar.gz')));
    assert.ok(messages.some((m) => /Downloading CIFAR-10: .* \(100%\)/.test(m)), messages.join('\n'));
    const again = await loadDataset(dataConfig({ name: 'cifar10', download: true }), options);
    assert.deepEqual(again.train.labels, data.train.labels);
    assert.equal((hits.get('/kriz/cifar-10-binary.tar.gz') ?? 0) - before, 1);
    // Without download, the same empty cache is an error that says how to get the data.
    await rejectsData(() => loadDataset(dataConfig({ name: 'cifar10' }), { seed: 1, cacheDir: tempDir('dl-empty') }), 'missing', /data\.download/);
  });

  test('a download with the wrong md5 leaves no archive where it is expected', async () => {
    const cacheDir = tempDir('dl-cache-bad');
    await rejectsData(
      () =>
        loadDataset(dataConfig({ name: 'cifar10', download: true }), {
          seed: 1,
          cacheDir,
          cifar: { cifar10: { archive: spec({ md5: CIFAR_ARCHIVES.cifar10.md5 }), recordCounts: COUNTS } },
        }),
      'checksum',
      /expected c32a1d4ab5d03f1284b67883e8d87530/,
    );
    assert.deepEqual(fs.readdirSync(cacheDir), []);
  });
});

// ---------- synthetic, limits, normalisation ----------

describe('synthetic and options', () => {
  const spec = { trainCount: 300, testCount: 100, size: 12, channels: 3, classes: 4 };

  test('synthetic data is deterministic for a seed and differs across seeds', () => {
    const a = makeSyntheticDataset(spec, 7);
    const b = makeSyntheticDataset(spec, 7);
    const c = makeSyntheticDataset(spec, 8);
    assert.deepEqual(a.train.images, b.train.images);
    assert.deepEqual(a.test.labels, b.test.labels);
    assert.notDeepEqual(a.train.images, c.train.images);
    assert.equal(a.train.images.length, 300 * 12 * 12 * 3);
    assert.ok(Math.max(...a.train.labels) === 3 && Math.min(...a.train.labels) === 0);
    assert.equal(a.source, 'generated');
  });

  test('synthetic data is learnable: nearest class mean beats chance by far', () => {
    const data = makeSyntheticDataset(spec, 3);
    const n = 12 * 12 * 3;
    const means = Array.from({ length: 4 }, () => new Float64Array(n));
    const counts = new Array<number>(4).fill(0);
    for (let i = 0; i < data.train.count; i++) {
      const k = data.train.labels[i];
      counts[k]++;
      for (let p = 0; p < n; p++) means[k][p] += data.train.images[i * n + p];
    }
    means.forEach((m, k) => m.forEach((v, p) => (m[p] = v / counts[k])));
    let correct = 0;
    for (let i = 0; i < data.test.count; i++) {
      let best = -1;
      let bestDistance = Infinity;
      for (let k = 0; k < 4; k++) {
        let d = 0;
        for (let p = 0; p < n; p++) d += (data.test.images[i * n + p] - means[k][p]) ** 2;
        if (d < bestDistance) [best, bestDistance] = [k, d];
      }
      if (best === data.test.labels[i]) correct++;
    }
    assert.ok(correct / data.test.count > 0.7, `accuracy ${correct / data.test.count}`);
  });

  test('normalize: synthetic computes its stats, "half" is 0.5/0.5, limits take the first images', async () => {
    const full = await loadDataset(dataConfig({ name: 'synthetic', synthetic: spec }), { seed: 5 });
    const stats = channelStats(full.train.images, 3);
    assert.deepEqual(full.mean, stats.mean);
    assert.ok(full.mean.every((m) => m > 0.05 && m < 0.95));
    let sum = 0;
    for (let i = 0; i < full.train.images.length; i += 3) sum += full.train.images[i] / 255;
    assert.ok(Math.abs(sum / (full.train.images.length / 3) - full.mean[0]) < 1e-9);
    const half = await loadDataset(dataConfig({ name: 'synthetic', synthetic: spec, normalize: 'half', trainLimit: 7, testLimit: 1000 }), { seed: 5 });
    assert.deepEqual(half.mean, [0.5, 0.5, 0.5]);
    assert.deepEqual(half.std, [0.5, 0.5, 0.5]);
    assert.equal(half.train.count, 7);
    assert.deepEqual(half.train.images, full.train.images.subarray(0, 7 * 12 * 12 * 3));
    assert.deepEqual(half.train.labels, full.train.labels.subarray(0, 7));
    assert.equal(half.test.count, 100);
    const mnistHalf = await loadDataset(dataConfig({ name: 'mnist', normalize: 'half', trainLimit: 10, testLimit: 10 }), { seed: 1 });
    assert.deepEqual(mnistHalf.mean, [0.5]);
    assert.equal(mnistHalf.train.images.length, 7840);
  });

  test('bad options are DataErrors', async () => {
    await rejectsData(() => loadDataset(dataConfig({ name: 'synthetic', trainLimit: 0 }), { seed: 1 }), 'options', /data\.trainLimit must be a positive integer/);
    await rejectsData(() => loadDataset(dataConfig({ name: 'synthetic', testLimit: 2.5 }), { seed: 1 }), 'options', /data\.testLimit/);
    await rejectsData(() => loadDataset(dataConfig({ name: 'synthetic', synthetic: { ...spec, classes: 1 } }), { seed: 1 }), 'options', /data\.synthetic\.classes/);
  });

  test('the default cache folder honours WAS_LAB_DATA', () => {
    const saved = process.env.WAS_LAB_DATA;
    try {
      process.env.WAS_LAB_DATA = '/some/where';
      assert.equal(defaultCacheDir(), '/some/where');
      delete process.env.WAS_LAB_DATA;
      assert.equal(defaultCacheDir(), path.join(os.homedir(), '.cache', 'was-lab', 'datasets'));
    } finally {
      if (saved === undefined) delete process.env.WAS_LAB_DATA;
      else process.env.WAS_LAB_DATA = saved;
    }
  });
});
