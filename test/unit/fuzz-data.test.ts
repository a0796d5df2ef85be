// Fuzzing the dataset readers: IDX images and labels (src/trainer/data/idx.ts, raw and gzipped),
// CIFAR binary batches (src/trainer/data/cifar.ts, from a folder and from an archive) and the tar
// reader under it (src/trainer/data/tar.ts). Truncated, bit-flipped and spliced copies of valid
// files, and random bytes, give the data or a DataError with a message; never another exception,
// and never an allocation the file's own bytes do not pay for. Seed and case counts:
// test/support/fuzz.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { loadCifar } from '../../src/trainer/data/cifar';
import { IDX_FILES, parseIdxImages, parseIdxLabels, readIdxSplit } from '../../src/trainer/data/idx';
import { TarParser, readTarMembers } from '../../src/trainer/data/tar';
import { DataError } from '../../src/trainer/data/types';
import { fuzzOptions, fuzzTempDir, mutatedBytes, parsesOrRejects, parsesOrRejectsAsync } from '../support/fuzz';

const dir = fuzzTempDir('data');

function idxImages(count: number, height: number, width: number): Buffer {
  const b = Buffer.alloc(16 + count * height * width);
  b.writeUInt32BE(2051, 0);
  b.writeUInt32BE(count, 4);
  b.writeUInt32BE(height, 8);
  b.writeUInt32BE(width, 12);
  for (let i = 16; i < b.length; i++) b[i] = (i * 37) & 255;
  return b;
}

function idxLabels(labels: number[]): Buffer {
  const b = Buffer.alloc(8 + labels.length);
  b.writeUInt32BE(2049, 0);
  b.writeUInt32BE(labels.length, 4);
  labels.forEach((label, i) => (b[8 + i] = label));
  return b;
}

const IMAGES = [idxImages(3, 4, 4), idxImages(2, 28, 28), idxImages(0, 28, 28)];
const LABELS = [idxLabels([1, 2, 9]), idxLabels([0, 0]), idxLabels([])];
const randomBytes = fc.uint8Array({ maxLength: 64 });

test('fuzz: parseIdxImages on random and damaged files gives images that fit the file, or a DataError', () => {
  const bytes = fc.oneof(mutatedBytes(IMAGES, 16), randomBytes);
  fc.assert(
    fc.property(bytes, fc.boolean(), (data, pinned) => {
      const result = parsesOrRejects(() => parseIdxImages(data, 'images', pinned ? { height: 28, width: 28 } : undefined), DataError);
      if (result.ok) {
        const { count, height, width, pixels } = result.value;
        assert.equal(pixels.length, count * height * width);
        assert.equal(data.length, 16 + pixels.length);
      }
    }),
    fuzzOptions(4000),
  );
});

test('fuzz: parseIdxLabels on random and damaged files gives labels in range, or a DataError', () => {
  fc.assert(
    fc.property(fc.oneof(mutatedBytes(LABELS, 8), randomBytes), (data) => {
      const result = parsesOrRejects(() => parseIdxLabels(data, 'labels', 10), DataError);
      if (result.ok) assert.ok(result.value.every((label) => label < 10));
    }),
    fuzzOptions(4000),
  );
});

test('fuzz: an IDX split from damaged gzip files gives a DataError', async () => {
  const split = path.join(dir, 'idx');
  fs.mkdirSync(split, { recursive: true });
  const names = { images: 'images-idx3-ubyte', labels: 'labels-idx1-ubyte' };
  const format = { height: 4, width: 4, numClasses: 10, what: 'test data', hint: 'none' };
  const images = zlib.gzipSync(IMAGES[0]);
  const labels = zlib.gzipSync(LABELS[0]);
  fs.writeFileSync(path.join(split, `${names.labels}.gz`), labels);
  await fc.assert(
    fc.asyncProperty(mutatedBytes([images], 32), async (gz) => {
      fs.writeFileSync(path.join(split, `${names.images}.gz`), gz);
      const result = await parsesOrRejectsAsync(() => readIdxSplit(split, names, format), DataError);
      if (result.ok) assert.equal(result.value.count, 3);
    }),
    fuzzOptions(400),
  );
  assert.equal(IDX_FILES.train.images, 'train-images-idx3-ubyte'); // the names the loaders look for
});

// ---- tar ----

function tarHeader(name: string, size: number, type: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('        ', 148);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

function member(name: string, data: Buffer, type = '0'): Buffer {
  return Buffer.concat([tarHeader(name, data.length, type), data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

const longName = `folder/${'n'.repeat(120)}.bin`;
const TAR = Buffer.concat([
  member('folder/', Buffer.alloc(0), '5'),
  member('./folder/a.bin', Buffer.from('hello')),
  member('././@LongLink', Buffer.from(`${longName}\0`), 'L'),
  member('ignored', Buffer.alloc(700, 7)),
  member('PaxHeaders/b', Buffer.from('30 path=folder/from-pax.bin\n'), 'x'),
  member('b', Buffer.alloc(513, 1)),
  Buffer.alloc(1024),
]);
const TARS = [TAR, zlib.gzipSync(TAR)];

/** A tar header that is valid but for its size field (12 bytes at 124), with a fresh checksum. */
function withSizeField(field: Buffer): Buffer {
  const h = tarHeader('folder/big.bin', 0, '0');
  field.copy(h, 124);
  h.write('        ', 148);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return Buffer.concat([h, Buffer.alloc(1024)]);
}

test('fuzz: the valid tar reads back its members', async () => {
  const file = path.join(dir, 'valid.tar');
  for (const bytes of TARS) {
    fs.writeFileSync(file, bytes);
    const members = await readTarMembers(file, () => true);
    assert.deepEqual([...members.keys()], ['folder/a.bin', longName, 'folder/from-pax.bin']);
  }
});

test('fuzz: the tar parser on damaged archives pushed in random chunks gives members or a DataError', () => {
  fc.assert(
    fc.property(fc.oneof(mutatedBytes([TAR], TAR.length), randomBytes), fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 6 }), (bytes, cuts) => {
      const members: [string, Buffer][] = [];
      const parser = new TarParser('fuzz.tar', () => true, (name, data) => members.push([name, data]));
      const result = parsesOrRejects(() => {
        let offset = 0;
        for (const cut of cuts) {
          parser.push(Buffer.from(bytes.subarray(offset, offset + cut)));
          offset += cut;
        }
        parser.push(Buffer.from(bytes.subarray(offset)));
        parser.finish();
      }, DataError);
      // Whatever it hands out is made of the archive's own bytes.
      const total = members.reduce((sum, [, data]) => sum + data.length, 0);
      assert.ok(total <= bytes.length, `members of ${total} bytes from ${bytes.length}`);
      if (result.ok && bytes === TAR) assert.equal(members.length, 3);
    }),
    fuzzOptions(4000),
  );
});

test('fuzz: readTarMembers on damaged archives (plain and gzipped) gives members or a DataError', async () => {
  const file = path.join(dir, 'fuzz.tar');
  await fc.assert(
    fc.asyncProperty(fc.oneof(mutatedBytes(TARS, 4096), randomBytes), async (bytes) => {
      fs.writeFileSync(file, bytes);
      const result = await parsesOrRejectsAsync(() => readTarMembers(file, () => true), DataError);
      // A member holds no more than the archive's bytes (gunzipped) could.
      if (result.ok) for (const data of result.value.values()) assert.ok(data.length <= 64 * 1024, `a member of ${data.length} bytes`);
    }),
    fuzzOptions(600),
  );
});

test('fuzz: a tar header whose size field is huge, negative or not a number is a DataError, not an allocation', async () => {
  const file = path.join(dir, 'sizes.tar');
  const base256 = (top: number): Buffer => Buffer.from([0x80 | top, ...Array<number>(11).fill(0xff)]);
  const fields = [
    Buffer.from('77777777777\0'), // 8 GiB - 1, as octal text
    Buffer.from('7777777\0\0\0\0\0'),
    Buffer.from('-1\0'),
    Buffer.from('99999\0'),
    Buffer.from('1e9\0'),
    base256(0x7f), // GNU base-256: far past 2^53
    base256(0),
  ];
  for (const field of fields) {
    for (const bytes of [withSizeField(field), zlib.gzipSync(withSizeField(field))]) {
      fs.writeFileSync(file, bytes);
      await assert.rejects(() => readTarMembers(file, () => true), (e: unknown) => e instanceof DataError && /size|truncated/i.test(e.message), String(field));
    }
  }
});

// ---- CIFAR ----

const COUNTS = { trainPerFile: 1, test: 1 };

function cifarRecord(labels: number[]): Buffer {
  const b = Buffer.alloc(labels.length + 3072);
  labels.forEach((label, i) => (b[i] = label));
  for (let i = labels.length; i < b.length; i++) b[i] = (i * 13) & 255;
  return b;
}

const CIFAR10: Record<string, Buffer> = {
  'data_batch_1.bin': cifarRecord([1]),
  'data_batch_2.bin': cifarRecord([2]),
  'data_batch_3.bin': cifarRecord([3]),
  'data_batch_4.bin': cifarRecord([4]),
  'data_batch_5.bin': cifarRecord([9]),
  'test_batch.bin': cifarRecord([0]),
  'batches.meta.txt': Buffer.from('airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n'),
};
const CIFAR100: Record<string, Buffer> = {
  'train.bin': cifarRecord([19, 99]),
  'test.bin': cifarRecord([0, 0]),
  'fine_label_names.txt': Buffer.from(Array.from({ length: 100 }, (_, i) => `class${i}`).join('\n')),
};

const cifarCase = fc.oneof(
  fc.record({ name: fc.constant('cifar10' as const), file: fc.constantFrom(...Object.keys(CIFAR10)), bytes: mutatedBytes(Object.values(CIFAR10), 3) }),
  fc.record({ name: fc.constant('cifar100' as const), file: fc.constantFrom(...Object.keys(CIFAR100)), bytes: mutatedBytes(Object.values(CIFAR100), 3) }),
);

test('fuzz: loadCifar from a folder with one damaged file gives the data or a DataError', async () => {
  const folders = { cifar10: path.join(dir, 'cifar10'), cifar100: path.join(dir, 'cifar100') };
  for (const [name, files] of [['cifar10', CIFAR10], ['cifar100', CIFAR100]] as const) {
    fs.mkdirSync(folders[name], { recursive: true });
    for (const [file, data] of Object.entries(files)) fs.writeFileSync(path.join(folders[name], file), data);
  }
  await fc.assert(
    fc.asyncProperty(cifarCase, async ({ name, file, bytes }) => {
      const target = path.join(folders[name], file);
      fs.writeFileSync(target, bytes);
      try {
        const result = await parsesOrRejectsAsync(() => loadCifar({ name, source: folders[name], recordCounts: COUNTS }), DataError);
        if (result.ok) {
          assert.ok(result.value.train.labels.every((label) => label < result.value.numClasses));
          assert.equal(result.value.classNames.length, result.value.numClasses);
        }
      } finally {
        fs.writeFileSync(target, (name === 'cifar10' ? CIFAR10 : CIFAR100)[file]);
      }
    }),
    fuzzOptions(500),
  );
});

test('fuzz: loadCifar from a damaged .tar.gz gives the data or a DataError', async () => {
  const archive = Buffer.concat([
    ...Object.entries(CIFAR10).map(([name, data]) => member(`cifar-10-batches-bin/${name}`, data)),
    Buffer.alloc(1024),
  ]);
  const file = path.join(dir, 'cifar-10-binary.tar.gz');
  await fc.assert(
    fc.asyncProperty(mutatedBytes([archive, zlib.gzipSync(archive)], archive.length), async (bytes) => {
      fs.writeFileSync(file, bytes);
      await parsesOrRejectsAsync(() => loadCifar({ name: 'cifar10', source: file, recordCounts: COUNTS }), DataError);
    }),
    fuzzOptions(400),
  );
});
