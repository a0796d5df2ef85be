// FLOPs of a network, counted exactly from its layer shapes by running its graph on shapes.
//
// What is counted: multiply-accumulates (MACs) per image, one per multiply-add, the convention
// of most CNN FLOPs tables:
// - conv: out_h * out_w * out_c * kh * kw * in_c, with kh x kw the taps it really applies (a 3x3
//   kernel fixed to a shift that zeroes a row is a 2x3 conv, see nn/conv-geometry.ts);
// - depthwise conv: out_h * out_w * c * kh * kw;
// - dense: in * out.
// What is not counted: biases, BatchNorm (it folds into the conv before it at inference),
// activations, pooling, residual adds, concatenation and padding. They are the same in AOM and
// DOM, so leaving them out only makes the DOM saving look larger by their (small) share; the
// same rule holds for every number this tool reports.

import type { Conv2d } from './conv';
import { axisPadding, convGeometry, fullWindow, outputSize, type KernelWindow } from './conv-geometry';
import type { Model } from './model';
import type { Ops } from './ops';

export interface LayerFlops {
  readonly name: string;
  readonly kind: 'conv' | 'depthwise' | 'dense';
  /** Taps applied (conv), null for dense. */
  readonly kernel: readonly [number, number] | null;
  /** Output shape per image: [h, w, c] or [units]. */
  readonly out: readonly number[];
  readonly macs: number;
}

export interface FlopsCount {
  /** MACs per image. */
  readonly total: number;
  /** Every conv and dense layer, in forward order. */
  readonly layers: readonly LayerFlops[];
}

/** The window of taps each conv applies; the default is the whole kernel (AOM). */
export type WindowFor = (conv: Conv2d) => KernelWindow;

type Shape = readonly number[];

export function countFlops(model: Pick<Model, 'forward' | 'spec'>, windowFor: WindowFor = (conv) => fullWindow(conv.k)): FlopsCount {
  const layers: LayerFlops[] = [];
  const ops = shapeOps(windowFor, (layer) => layers.push(layer));
  const { height, width, channels } = model.spec;
  model.forward.graph<Shape>([height, width, channels], ops);
  return { total: layers.reduce((sum, l) => sum + l.macs, 0), layers };
}

/** Ops on per-image shapes that report each conv's and dense layer's MACs. */
function shapeOps(windowFor: WindowFor, record: (layer: LayerFlops) => void): Ops<Shape> {
  const image = (x: Shape, what: string): [number, number, number] => {
    if (x.length !== 3) throw new Error(`${what} needs an image [h, w, c], got [${x}]`);
    return [x[0], x[1], x[2]];
  };
  return {
    conv(layer, x) {
      const [h, w, c] = image(x, layer.name);
      if (c !== layer.inChannels) throw new Error(`${layer.name} expects ${layer.inChannels} channels, got ${c}`);
      const g = convGeometry(layer, h, w, windowFor(layer));
      const [kh, kw] = g.kernel;
      const out = [g.out[0], g.out[1], layer.outChannels];
      const perOutput = kh * kw * (layer.depthwise ? 1 : layer.inChannels);
      record({ name: layer.name, kind: layer.depthwise ? 'depthwise' : 'conv', kernel: [kh, kw], out, macs: out[0] * out[1] * out[2] * perOutput });
      return out;
    },
    batchNorm(layer, x) {
      if (x[x.length - 1] !== layer.channels) throw new Error(`${layer.name} expects ${layer.channels} channels, got ${x[x.length - 1]}`);
      return x;
    },
    dense(layer, x) {
      if (x.length !== 1 || x[0] !== layer.inFeatures) throw new Error(`${layer.name} expects [${layer.inFeatures}], got [${x}]`);
      record({ name: layer.name, kind: 'dense', kernel: null, out: [layer.outFeatures], macs: layer.inFeatures * layer.outFeatures });
      return [layer.outFeatures];
    },
    relu: (x) => x,
    relu6: (x) => x,
    maxPool(x, size, stride, padding) {
      const [h, w, c] = image(x, 'maxPool');
      const [top, bottom] = axisPadding(padding, size, stride, h);
      const [left, right] = axisPadding(padding, size, stride, w);
      return [outputSize(h, size, stride, top, bottom), outputSize(w, size, stride, left, right), c];
    },
    add(a, b) {
      if (a.join() !== b.join()) throw new Error(`add of [${a}] and [${b}]`);
      return a;
    },
    concat(xs) {
      const [h, w] = image(xs[0], 'concat');
      return [h, w, xs.reduce((sum, x) => sum + image(x, 'concat')[2], 0)];
    },
    flatten: (x) => [x.reduce((a, b) => a * b, 1)],
    globalAvgPool: (x) => [image(x, 'globalAvgPool')[2]],
  };
}
