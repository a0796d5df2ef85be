// Batches: validation hold-out, epoch order, normalisation, pad-4 crop + flip augmentation.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BatchMaker,
  drawCropFlip,
  epochOrder,
  normalizationTable,
  orderBatches,
  resolveAugment,
  sequentialRanges,
  splitTrainValidation,
  writeImage,
} from '../../src/trainer/data/batches';
import { Rng } from '../../src/trainer/rng';
import { DataError, type ImageSplit } from '../../src/trainer/data/types';

/** count images of h x w x c whose bytes encode (image, y, x, channel). */
function patternSplit(count: number, h: number, w: number, c: number): ImageSplit {
  const images = new Uint8Array(count * h * w * c);
  for (let i = 0; i < count; i++) {
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
      images[((i * h + y) * w + x) * c + k] = pixelValue(i, y, x, k);
    }
  }
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  return { images, labels, count };
}

/** Never 0, so zero padding is told apart from image content. */
const pixelValue = (i: number, y: number, x: number, k: number): number => 1 + ((i * 53 + y * 17 + x * 5 + k * 101) % 255);

const identity = (channels: number): { mean: number[]; std: number[] } => ({
  mean: new Array<number>(channels).fill(0),
  std: new Array<number>(channels).fill(1),
});

/** Back from identity-normalised floats to bytes. */
const toByte = (v: number): number => Math.round(v * 255);

describe('augment and order', () => {
  test("resolveAugment: 'auto' is on for CIFAR only; 'on'/'off' win", () => {
    assert.equal(resolveAugment('cifar10', 'auto'), true);
    assert.equal(resolveAugment('cifar100', 'auto'), true);
    assert.equal(resolveAugment('mnist', 'auto'), false);
    assert.equal(resolveAugment('fashion-mnist', 'auto'), false);
    assert.equal(resolveAugment('synthetic', 'auto'), false);
    assert.equal(resolveAugment('mnist', 'on'), true);
    assert.equal(resolveAugment('cifar10', 'off'), false);
  });

  test('epochOrder is a seeded permutation', () => {
    const a = epochOrder(1000, new Rng(1));
    assert.deepEqual(Array.from(a).sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
    assert.deepEqual(a, epochOrder(1000, new Rng(1)));
    assert.notDeepEqual(a, epochOrder(1000, new Rng(2)));
    assert.notDeepEqual(Array.from(a.subarray(0, 20)), Array.from({ length: 20 }, (_, i) => i));
  });

  test('orderBatches and sequentialRanges cover everything once', () => {
    const order = epochOrder(10, new Rng(3));
    const batches = [...orderBatches(order, 4)];
    assert.deepEqual(batches.map((b) => b.length), [4, 4, 2]);
    assert.deepEqual(batches.flatMap((b) => Array.from(b)), Array.from(order));
    assert.deepEqual([...orderBatches(order, 4, true)].map((b) => b.length), [4, 4]);
    assert.deepEqual([...sequentialRanges(10, 4)], [
      { start: 0, size: 4 },
      { start: 4, size: 4 },
      { start: 8, size: 2 },
    ]);
  });
});

describe('splitTrainValidation', () => {
  // One-byte images holding their own index, so every image can be traced.
  const count = 200;
  const split: ImageSplit = {
    images: Uint8Array.from({ length: count }, (_, i) => i),
    labels: Uint8Array.from({ length: count }, (_, i) => (i * 7) % 10),
    count,
  };

  test('disjoint, covers all, labels travel with images, seeded', () => {
    const { train, validation } = splitTrainValidation(split, 50, new Rng(11));
    assert.ok(validation);
    assert.equal(train.count, 150);
    assert.equal(validation.count, 50);
    assert.equal(train.images.length, 150);
    const trainIds = Array.from(train.images);
    const validationIds = Array.from(validation.images);
    const all = new Set([...trainIds, ...validationIds]);
    assert.equal(all.size, count, 'disjoint and covering');
    for (const part of [train, validation]) {
      for (let i = 0; i < part.count; i++) assert.equal(part.labels[i], (part.images[i] * 7) % 10);
    }
    // Kept in the original order, and not simply the last 50.
    assert.deepEqual(trainIds, [...trainIds].sort((a, b) => a - b));
    assert.notDeepEqual(validationIds, Array.from({ length: 50 }, (_, i) => 150 + i));
    assert.ok(validationIds[0] < 100, 'spread over the whole set');
    const again = splitTrainValidation(split, 50, new Rng(11));
    assert.deepEqual(again.validation?.images, validation.images);
    assert.notDeepEqual(splitTrainValidation(split, 50, new Rng(12)).validation?.images, validation.images);
    // Copies: the input is untouched.
    assert.deepEqual(Array.from(split.images), Array.from({ length: count }, (_, i) => i));
  });

  test('multi-byte images are moved whole', () => {
    const s = patternSplit(30, 3, 4, 2);
    const { train, validation } = splitTrainValidation(s, 10, new Rng(5));
    assert.ok(validation);
    const bytes = 3 * 4 * 2;
    const seen = new Set<number>();
    for (const part of [train, validation]) {
      for (let j = 0; j < part.count; j++) {
        const first = part.images[j * bytes];
        const source = Array.from({ length: 30 }, (_, i) => i).find((i) => pixelValue(i, 0, 0, 0) === first);
        assert.ok(source !== undefined);
        seen.add(source);
        assert.deepEqual(part.images.subarray(j * bytes, (j + 1) * bytes), s.images.subarray(source * bytes, (source + 1) * bytes));
        assert.equal(part.labels[j], s.labels[source]);
      }
    }
    assert.equal(seen.size, 30);
  });

  test('0 keeps everything for training; too many is a DataError', () => {
    const none = splitTrainValidation(split, 0, new Rng(1));
    assert.equal(none.validation, null);
    assert.equal(none.train, split);
    assert.throws(() => splitTrainValidation(split, 200, new Rng(1)), (err: unknown) => err instanceof DataError && /leaves no training images/.test(err.message));
    assert.throws(() => splitTrainValidation(split, -1, new Rng(1)), DataError);
  });
});

describe('BatchMaker', () => {
  test('normalises (v/255 - mean)/std per channel, NHWC, with Int32 labels', () => {
    const s = patternSplit(5, 4, 4, 3);
    const mean = [0.1, 0.5, 0.9];
    const std = [0.2, 0.25, 0.5];
    const maker = new BatchMaker({ height: 4, width: 4, channels: 3, mean, std }, 3);
    const batch = maker.make(s, [4, 0, 2], null);
    assert.equal(batch.size, 3);
    assert.equal(batch.pixels.length, 3 * 4 * 4 * 3);
    assert.deepEqual(Array.from(batch.labels), [4, 0, 2]);
    assert.ok(batch.labels instanceof Int32Array);
    [4, 0, 2].forEach((image, slot) => {
      for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) for (let k = 0; k < 3; k++) {
        const got = batch.pixels[((slot * 4 + y) * 4 + x) * 3 + k];
        const want = (pixelValue(image, y, x, k) / 255 - mean[k]) / std[k];
        assert.ok(Math.abs(got - want) < 1e-5, `slot ${slot} (${y},${x},${k}): ${got} vs ${want}`);
      }
    });
    // Evaluation range = the same images in order, never augmented.
    const range = maker.makeRange(s, 2, 3);
    const listed = Float32Array.from(maker.make(s, [2, 3, 4], null).pixels);
    assert.deepEqual(Float32Array.from(maker.makeRange(s, 2, 3).pixels), listed);
    assert.equal(range.size, 3);
    // A short last batch is a view of the right length.
    assert.equal(maker.make(s, [1], null).pixels.length, 48);
    assert.throws(() => maker.make(s, [0, 1, 2, 3], null), RangeError);
    assert.throws(() => maker.make(s, [5], null), RangeError);
  });

  test('flip mirrors each row', () => {
    const shape = { height: 5, width: 6, channels: 2 };
    const s = patternSplit(1, 5, 6, 2);
    const out = new Float32Array(5 * 6 * 2);
    writeImage(s.images, 0, shape, normalizationTable([0, 0], [1, 1]), out, 0, { offsetY: 0, offsetX: 0, flip: true });
    for (let y = 0; y < 5; y++) for (let x = 0; x < 6; x++) for (let k = 0; k < 2; k++) {
      assert.equal(toByte(out[(y * 6 + x) * 2 + k]), pixelValue(0, y, 5 - x, k));
    }
  });

  test('crop shifts the window and fills outside pixels with byte 0 (normalised)', () => {
    const shape = { height: 8, width: 8, channels: 3 };
    const s = patternSplit(1, 8, 8, 3);
    const mean = [0.4, 0.5, 0.6];
    const std = [0.2, 0.3, 0.4];
    const table = normalizationTable(mean, std);
    const out = new Float32Array(8 * 8 * 3);
    // offsetY 3: output row y shows source row y + 3; offsetX -4: column x shows x - 4.
    writeImage(s.images, 0, shape, table, out, 0, { offsetY: 3, offsetX: -4, flip: false });
    let padded = 0;
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) for (let k = 0; k < 3; k++) {
      const sy = y + 3;
      const sx = x - 4;
      const inside = sy < 8 && sx >= 0;
      const byte = inside ? pixelValue(0, sy, sx, k) : 0;
      if (!inside) padded++;
      const want = (byte / 255 - mean[k]) / std[k];
      assert.ok(Math.abs(out[(y * 8 + x) * 3 + k] - want) < 1e-5, `(${y},${x},${k})`);
    }
    // Rows 5..7 and columns 0..3 are padding: 64 - 5 * 4 = 44 pixels, 3 channels each.
    assert.equal(padded, 44 * 3);
    // Crop then flip, as RandomCrop then RandomHorizontalFlip: out(y, x) = src(y + dy, W-1-x + dx).
    writeImage(s.images, 0, shape, normalizationTable([0, 0, 0], [1, 1, 1]), out, 0, { offsetY: -1, offsetX: 2, flip: true });
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
      const sy = y - 1;
      const sx = 7 - x + 2;
      const want = sy >= 0 && sx < 8 ? pixelValue(0, sy, sx, 1) : 0;
      assert.equal(toByte(out[(y * 8 + x) * 3 + 1]), want, `flip+crop (${y},${x})`);
    }
  });

  test('drawCropFlip: offsets cover [-4, 4] uniformly, flip about half the time', () => {
    const rng = new Rng(9);
    const seen = new Map<number, number>();
    let flips = 0;
    const n = 9000;
    for (let i = 0; i < n; i++) {
      const d = drawCropFlip(rng, 4, true);
      seen.set(d.offsetY, (seen.get(d.offsetY) ?? 0) + 1);
      assert.ok(d.offsetX >= -4 && d.offsetX <= 4);
      if (d.flip) flips++;
    }
    assert.deepEqual([...seen.keys()].sort((a, b) => a - b), [-4, -3, -2, -1, 0, 1, 2, 3, 4]);
    for (const c of seen.values()) assert.ok(Math.abs(c - n / 9) < 150, `count ${c}`);
    assert.ok(Math.abs(flips / n - 0.5) < 0.03, `flip rate ${flips / n}`);
    assert.deepEqual(drawCropFlip(new Rng(1), 0, false), { offsetY: 0, offsetX: 0, flip: false });
  });

  test('augmented batches: the drawn crop/flip per image, deterministic for a seed', () => {
    const size = 32;
    const s = patternSplit(6, size, size, 3);
    const dataset = { height: size, width: size, channels: 3, ...identity(3) };
    const maker = new BatchMaker(dataset, 6);
    const indices = [5, 1, 3, 0, 2, 4];
    const batch = Float32Array.from(maker.make(s, indices, new Rng(42)).pixels);
    // Same seed, same batch; another seed, another batch; no rng, the plain images.
    assert.deepEqual(Float32Array.from(new BatchMaker(dataset, 6).make(s, indices, new Rng(42)).pixels), batch);
    assert.notDeepEqual(Float32Array.from(maker.make(s, indices, new Rng(43)).pixels), batch);
    const plain = Float32Array.from(maker.make(s, indices, null).pixels);
    assert.notDeepEqual(plain, batch);
    // Replaying the draws reproduces every pixel, padding included.
    const replay = new Rng(42);
    const table = normalizationTable([0, 0, 0], [1, 1, 1]);
    const one = new Float32Array(size * size * 3);
    const imageBytes = size * size * 3;
    let anyFlip = false;
    let anyShift = false;
    indices.forEach((image, slot) => {
      const aug = drawCropFlip(replay, 4, true);
      anyFlip ||= aug.flip;
      anyShift ||= aug.offsetX !== 0 || aug.offsetY !== 0;
      writeImage(s.images, image * imageBytes, { height: size, width: size, channels: 3 }, table, one, 0, aug);
      assert.deepEqual(batch.subarray(slot * imageBytes, (slot + 1) * imageBytes), one);
      // And by hand for one pixel: output (10, 20) channel 2.
      const sy = 10 + aug.offsetY;
      const sx = (aug.flip ? size - 1 - 20 : 20) + aug.offsetX;
      assert.equal(toByte(batch[slot * imageBytes + (10 * size + 20) * 3 + 2]), pixelValue(image, sy, sx, 2));
    });
    assert.ok(anyFlip && anyShift, 'seed 42 exercises both');
  });

  test('bad construction is refused', () => {
    assert.throws(() => new BatchMaker({ height: 2, width: 2, channels: 3, mean: [0], std: [1] }, 4), DataError);
    assert.throws(() => new BatchMaker({ height: 2, width: 2, channels: 1, mean: [0], std: [1] }, 0), DataError);
  });
});
