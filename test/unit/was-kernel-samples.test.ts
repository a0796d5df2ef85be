// The WAS view's samples of one layer (src/trainer/was/kernel-samples.ts): which planes are
// read, and shadow kernels alpha * T(W) drawn from the layer's distribution, each checked against
// a shift or crop written out by hand here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/trainer/rng';
import { channelsPerLayer, kernelPlane, kernelReportDue, roundForReport, sampleChannels, shadowSamples } from '../../src/trainer/was/kernel-samples';
import { REFERENCE_PARAMS } from '../../src/trainer/was/transforms';

/** A 3x3 plane 1..9, row-major. */
const PLANE = [1, 2, 3, 4, 5, 6, 7, 8, 9];

/** The plane moved by (dy, dx): output (i, j) reads input (i - dy, j - dx), zero outside. */
function shiftedByHand(plane: number[], k: number, dy: number, dx: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      const p = i - dy;
      const q = j - dx;
      out.push(p >= 0 && p < k && q >= 0 && q < k ? plane[p * k + q] : 0);
    }
  return out;
}

test('channels: the first, middle and last pair, the same every time; a depthwise conv pairs a channel with itself', () => {
  assert.deepEqual(sampleChannels(16, 32, false), [
    { in: 0, out: 0 },
    { in: 8, out: 16 },
    { in: 15, out: 31 },
  ]);
  assert.deepEqual(sampleChannels(1, 6, false), [
    { in: 0, out: 0 },
    { in: 0, out: 3 },
    { in: 0, out: 5 },
  ]);
  assert.deepEqual(sampleChannels(1, 1, false), [{ in: 0, out: 0 }]);
  assert.deepEqual(sampleChannels(4, 4, true, 2), [
    { in: 0, out: 0 },
    { in: 3, out: 3 },
  ]);
});

test('kernelPlane reads (i, j) of one channel pair from a [k, k, in, out] kernel', () => {
  const k = 3;
  const cin = 2;
  const cout = 3;
  // Each value encodes its own index: 1000 i + 100 j + 10 c + o.
  const kernel = new Float32Array(k * k * cin * cout);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) for (let c = 0; c < cin; c++) for (let o = 0; o < cout; o++) kernel[((i * k + j) * cin + c) * cout + o] = 1000 * i + 100 * j + 10 * c + o;
  assert.deepEqual(Array.from(kernelPlane(kernel, k, cin, cout, 1, 2)), [12, 112, 212, 1012, 1112, 1212, 2012, 2112, 2212]);
});

test('shift samples: alpha * W beside alpha * W moved by each drawn shift, within the training range', () => {
  const alpha = 0.5;
  const samples = shadowSamples(PLANE, 3, alpha, { family: 'shift', params: REFERENCE_PARAMS, rng: new Rng(3), samples: 40 });
  assert.deepEqual(samples.plain, [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5]);
  assert.equal(samples.shadows.length, 40);
  const seen = new Set<string>();
  for (const { transform, kernel } of samples.shadows) {
    assert.equal(transform.kind, 'shift');
    if (transform.kind !== 'shift') continue;
    // translate 0.3 on 3 taps: round(U(-0.9, 0.9)) is -1, 0 or 1.
    assert.ok(Math.abs(transform.dy) <= 1 && Math.abs(transform.dx) <= 1);
    assert.deepEqual(kernel, shiftedByHand(PLANE, 3, transform.dy, transform.dx).map((x) => alpha * x));
    seen.add(`${transform.dy},${transform.dx}`);
  }
  assert.ok(seen.size >= 5, `40 draws cover several shifts (${[...seen].join(' ')})`);
  // The one hand-checked case: down by one row.
  assert.deepEqual(shiftedByHand(PLANE, 3, 1, 0), [0, 0, 0, 1, 2, 3, 4, 5, 6]);
});

test('crop samples: a 2-row window resized back to 3 rows is the bilinear interpolation written out', () => {
  // With scale 0.5-0.67 every crop that fits is smaller than the plane: 2x2, 2x3 or 3x2 windows.
  const params = { ...REFERENCE_PARAMS, cropScale: [0.5, 0.67] as const };
  const samples = shadowSamples(PLANE, 3, 1, { family: 'crop', params, rng: new Rng(11), samples: 12 });
  for (const { transform, kernel } of samples.shadows) {
    assert.equal(transform.kind, 'crop');
    if (transform.kind !== 'crop') continue;
    // Resize `size` taps from `start` to 3: source index (i + 0.5) * size / 3 - 0.5, clamped at 0.
    const resize = (start: number, size: number) =>
      [0, 1, 2].map((i) => {
        const src = Math.max((i + 0.5) * (size / 3) - 0.5, 0);
        const p0 = Math.floor(src);
        return { p0: start + p0, p1: start + Math.min(p0 + 1, size - 1), f: src - p0 };
      });
    const rows = resize(transform.top, transform.height);
    const cols = resize(transform.left, transform.width);
    const at = (r: number, c: number) => PLANE[r * 3 + c];
    const want = rows.flatMap((r) =>
      cols.map((c) => {
        const top = at(r.p0, c.p0) * (1 - c.f) + at(r.p0, c.p1) * c.f;
        const bottom = at(r.p1, c.p0) * (1 - c.f) + at(r.p1, c.p1) * c.f;
        return roundForReport(top * (1 - r.f) + bottom * r.f);
      }),
    );
    kernel.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 2e-3 * Math.max(1, Math.abs(want[i])), `${JSON.stringify(transform)}: ${kernel} vs ${want}`));
  }
});

test('reported numbers keep 4 significant digits', () => {
  assert.equal(roundForReport(0.123456), 0.1235);
  assert.equal(roundForReport(-12345.6), -12350);
  assert.equal(roundForReport(0), 0);
});

test('kernelReport reads the planes of a real conv and a depthwise conv, scaled by their alphas', async () => {
  const tf = await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  const { ParamStore } = await import('../../src/trainer/nn/params');
  const { Conv2d } = await import('../../src/trainer/nn/conv');
  const { kernelReport } = await import('../../src/trainer/train/kernel-report');
  const { DEFAULTS } = await import('../../src/shared/config');
  const store = new ParamStore(new Rng(1), 1e-5);
  const conv = new Conv2d(store, 'conv', { inChannels: 4, outChannels: 6, kernel: 3 });
  const depthwise = new Conv2d(store, 'dw', { inChannels: 5, outChannels: 5, kernel: 5, depthwise: true });
  new Conv2d(store, 'plain', { inChannels: 2, outChannels: 2, kernel: 3 });
  conv.enableShadow();
  depthwise.enableShadow();
  try {
    const config = { ...DEFAULTS, was: { ...DEFAULTS.was, transform: 'shift' as const } };
    const report = (await kernelReport({ config, model: { store } }, 4, 99))!;
    assert.equal(report.epoch, 4);
    assert.deepEqual(report.layers.map((l) => [l.layer, l.k]), [['conv', 3], ['dw', 5]], 'only the transformed layers');
    for (const [layer, c] of [[report.layers[0], conv], [report.layers[1], depthwise]] as const) {
      const alpha = c.alpha!.dataSync()[0];
      assert.equal(layer.alpha, alpha);
      const w = c.kernel.arraySync() as number[][][][];
      for (const channel of layer.channels) {
        const out = c.depthwise ? 0 : channel.out;
        if (c.depthwise) assert.equal(channel.in, channel.out);
        const want = w.flatMap((row) => row.map((taps) => roundForReport(alpha * taps[channel.in][out])));
        assert.deepEqual(channel.plain, want, `${layer.layer} (${channel.in}, ${channel.out})`);
      }
    }
    assert.deepEqual(report.layers[1].channels.map((c) => c.in), [0, 2, 4]);
    assert.equal(await kernelReport({ config: { ...config, was: { ...config.was, transform: 'none' } }, model: { store } }, 1, 1), null, 'a plain model reports nothing');
  } finally {
    store.dispose();
  }
});

test('reports stay small: fewer channels per layer in deep networks, about 20 reports in a long run', () => {
  assert.deepEqual([1, 8, 9, 16, 32, 100].map(channelsPerLayer), [3, 3, 2, 1, 1, 1]);
  const due = (epochs: number) => Array.from({ length: epochs }, (_, i) => i + 1).filter((e) => kernelReportDue(e, epochs));
  assert.deepEqual(due(3), [1, 2, 3]);
  assert.equal(due(20).length, 20);
  assert.deepEqual(due(45), [3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45]);
  const long = due(500);
  assert.equal(long.length, 20);
  assert.deepEqual([long[0], long.at(-1)], [25, 500]);
  assert.deepEqual(due(501).slice(-2), [494, 501], 'the last epoch always');
});
