// 3x3 stride-1 convolutions as Winograd convolutions on the wasm backend's heap.
//
// Why: 94% of a ResNet-18 step on wasm is convolutions in XNNPACK's 128-bit kernels; F(4x4, 3x3)
// does the same conv with 4x fewer multiply-adds (F(2x2, 3x3): 2.25x), as (m+2)^2 plain matrix
// products (winograd-kernels.ts has the algorithm). The input gradient of a 3x3 stride-1 conv is
// itself such a conv (dy with the flipped filter, wasm-kernels.ts), so it comes through here too;
// the filter gradient has its own Winograd form (convFilterGradWinograd below).
//
// How: filter and input transforms, the (m+2)^2 products in one call of our batched GEMM
// (wasm-gemm.ts), and the output transform reading the products through a table of their
// offsets: all our wasm SIMD kernels, on every thread (winograd-kernels.ts, wasm-pool.ts; FMA
// where the runtime has relaxed SIMD). Where our GEMM does not apply (Co % 8 != 0), one XNNPACK
// GEMM per tile element on views of the transformed buffers (the stock BatchMatMul runs batched
// products as a scalar loop, so each element is its own 2D product): measured 2-3x slower than
// ours at 32-64 channels (XNNPACK's per-call set-up and its short reductions).
//
// Which convs: `winogradChoice` is a fixed rule, not a timing taken at start, so that two runs of
// the same config compute the same bits (resume and determinism tests compare them). The rule
// comes from per-layer timings on this project's 2-core machine (see winogradChoice).

import { backend_util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { dropView, f32, memoryOf, offsetOf, view, type WasmBackend } from './wasm-heap';
import { F2X2, F4X4, winogradKernels, type WinogradKernels, type WinogradTransform } from './winograd-kernels';

type ConvInfo = ReturnType<typeof backend_util.computeConv2DInfo>;

/** Overrides the rule: off, 2 or 4 (F(2x2) / F(4x4) wherever it applies); anything else: the rule. */
export const WINOGRAD_ENV = 'WAS_LAB_WINOGRAD';

type WinogradMode = 'auto' | 'off' | 2 | 4;

function modeFromEnv(value: string | undefined): WinogradMode {
  const v = value?.trim();
  return v === 'off' ? 'off' : v === '2' ? 2 : v === '4' ? 4 : 'auto';
}

/** Switches for tests and measurements; the defaults are the rule used in training. */
export const winogradTuning = {
  /** 'auto': winogradChoice's rule; 'off': never; 2 or 4: F(2x2) or F(4x4) wherever it applies. */
  mode: modeFromEnv(process.env[WINOGRAD_ENV]),
  /** Use relaxed-SIMD multiply-adds where the runtime has them (wasm-fma.ts). */
  fma: false,
  /** Matrix products: ours on every thread (wasm-gemm.ts), or XNNPACK's (see ourProductKernels). */
  gemm: 'ours' as 'ours' | 'xnnpack',
};

/** Convs computed here since start, per transform (tests check that a path was really taken). */
export const winogradCounts = { f2: 0, f4: 0 };

/** Whether a conv is one Winograd computes here: 3x3, stride 1, dilation 1, channels % 4 == 0. */
export function winogradApplies(info: ConvInfo, ci: number, co: number): boolean {
  return info.filterHeight === 3 && info.filterWidth === 3 && info.strideHeight === 1 && info.strideWidth === 1 &&
    info.dilationHeight === 1 && info.dilationWidth === 1 && ci % 4 === 0 && co % 4 === 0 && info.outHeight >= 2 && info.outWidth >= 2;
}

/**
 * The transform for a conv, or null for the direct conv. Measured per layer (batch 64, 2 threads,
 * forward conv; direct / F(2x2) / F(4x4) in ms): 32x32 64->64 182 / 143 / 68, 16x16 128->128
 * 134 / 100 / 62, 8x8 256->256 148 / 114 / 82, 4x4 512->512 181 / 122 / 90, 2x2 512->512
 * 41 / 29 / 79, 16x16 32->64 21 / 22 / 11; 16x16 16->32 2.6 / 4.5 / 4.2, 32x32 8->16 5.4 / 6.0 /
 * 6.1. So: from 32 channels in and out, F(4x4) on outputs of 4x4 and up, F(2x2) on 2x2 and 3x3
 * (F(4x4) would compute mostly padding there); thinner layers direct, and output channels that
 * are not a multiple of 8 too (our GEMM's tile; XNNPACK's per-element products are slower). The
 * filter gradients measured the same way (direct / F(2x2) / F(4x4): 32x32 64->64 409 / 266 /
 * 243, 4x4 512->512 326 / 212 / 164, 2x2 512->512 96 / 59 / 151) follow the same rule.
 */
export function winogradChoice(info: ConvInfo, ci: number, co: number): WinogradTransform | null {
  const { mode } = winogradTuning;
  if (mode === 'off' || !winogradApplies(info, ci, co)) return null;
  if (mode === 2) return F2X2;
  if (mode === 4) return F4X4;
  if (Math.min(ci, co) < 32 || co % 8 !== 0) return null;
  return Math.min(info.outHeight, info.outWidth) >= 4 ? F4X4 : F2X2;
}

/** Our products (wasm-gemm.ts) on every thread, for other kernels too; null without SIMD or when turned off. */
export function ourProductKernels(backend: WasmBackend): WinogradKernels | null {
  const memory = memoryOf(backend);
  if (winogradTuning.gemm !== 'ours' || !memory) return null;
  return winogradKernels(memory, winogradTuning.fma, getThreadsCount());
}

/** conv2d(x, filter) with transform f (x NHWC float32, filter [3,3,Ci,Co]); null without SIMD. */
export function convWinograd(backend: WasmBackend, matMul: KernelFunc, x: TensorInfo, filter: TensorInfo, info: ConvInfo, f: WinogradTransform): TensorInfo | null {
  const memory = memoryOf(backend);
  const kernels = memory ? winogradKernels(memory, winogradTuning.fma, getThreadsCount()) : null;
  if (!kernels || x.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  const [n, h, w, ci] = x.shape;
  const co = filter.shape[3];
  const { outHeight: oh, outWidth: ow } = info;
  const th = Math.ceil(oh / f.m), tw = Math.ceil(ow / f.m);
  const tiles = n * th * tw, elements = f.alpha * f.alpha;
  const owned: TensorInfo[] = [];
  const make = (shape: number[], dtype: 'float32' | 'int32' = 'float32') => {
    const t = backend.makeOutput(shape, dtype);
    owned.push(t);
    return t;
  };
  try {
    const v = make([elements * ci * co]);
    const u = make([elements * tiles * ci]);
    const zero = make([ci]);
    f32(backend, zero).fill(0);
    kernels.filterTransform(f, offsetOf(backend, filter), offsetOf(backend, v), ci, co);
    kernels.inputTransform(f, offsetOf(backend, x), offsetOf(backend, u), offsetOf(backend, zero), n, h, w, ci, th, tw, info.padInfo.top, info.padInfo.left);
    const sizes = { elements, tiles, ci, co };
    let offsets = ourProducts(backend, kernels, u, v, sizes, make);
    if (!offsets) {
      const products = elementProducts(backend, matMul, u, v, sizes);
      owned.push(...products);
      offsets = products.map((p) => offsetOf(backend, p));
    }
    winogradCounts[f.m === 2 ? 'f2' : 'f4']++;
    return outputStep(backend, kernels, f, offsets, { n, oh, ow, co, th, tw }, make);
  } finally {
    for (const t of owned) backend.disposeData(t.dataId);
  }
}

/**
 * M_e = U_e V_e for every tile element e in one buffer, on our batched GEMM (all threads); returns
 * each element's byte offset for the output transform's table, or null where it does not apply.
 */
function ourProducts(backend: WasmBackend, kernels: WinogradKernels, u: TensorInfo, v: TensorInfo,
  s: { elements: number; tiles: number; ci: number; co: number }, make: (shape: number[]) => TensorInfo): number[] | null {
  if (winogradTuning.gemm !== 'ours' || s.co % 8 !== 0) return null;
  const m = make([s.elements * s.tiles * s.co]);
  kernels.gemm(offsetOf(backend, u), offsetOf(backend, v), offsetOf(backend, m),
    { m: s.tiles, k: s.ci, n: s.co, batch: s.elements, strideA: 4 * s.tiles * s.ci, strideB: 4 * s.ci * s.co, strideC: 4 * s.tiles * s.co });
  return Array.from({ length: s.elements }, (_, e) => offsetOf(backend, m) + 4 * e * s.tiles * s.co);
}

/** M_e = U_e V_e for each tile element e: [tiles x Ci] x [Ci x Co], one XNNPACK GEMM each. */
function elementProducts(backend: WasmBackend, matMul: KernelFunc, u: TensorInfo, v: TensorInfo,
  s: { elements: number; tiles: number; ci: number; co: number }): TensorInfo[] {
  const out: TensorInfo[] = [];
  try {
    for (let e = 0; e < s.elements; e++) {
      const a = view(backend, u, e * s.tiles * s.ci, [s.tiles, s.ci]);
      const b = view(backend, v, e * s.ci * s.co, [s.ci, s.co]);
      try {
        out.push(matMul({ inputs: { a, b }, backend: backend as never, attrs: { transposeA: false, transposeB: false } }) as TensorInfo);
      } finally {
        dropView(backend, a);
        dropView(backend, b);
      }
    }
  } catch (error) {
    for (const t of out) backend.disposeData(t.dataId);
    throw error;
  }
  return out;
}

/** The output transform over the products (addressed through a table of their byte offsets). */
function outputStep(backend: WasmBackend, kernels: WinogradKernels, f: WinogradTransform, products: number[],
  s: { n: number; oh: number; ow: number; co: number; th: number; tw: number },
  make: (shape: number[], dtype?: 'float32' | 'int32') => TensorInfo): TensorInfo {
  const table = make([products.length], 'int32');
  const sink = make([s.co]);
  const y = backend.makeOutput([s.n, s.oh, s.ow, s.co], 'float32');
  // Typed views of the heap only after the last allocation (an allocation may grow it).
  const offsets = backend.typedArrayFromHeap(table) as Int32Array;
  products.forEach((p, e) => (offsets[e] = p));
  kernels.outputTransform(f, offsetOf(backend, table), offsetOf(backend, y), offsetOf(backend, sink), s.n, s.oh, s.ow, s.co, s.th, s.tw);
  return y;
}

/**
 * The filter gradient of y = conv2d(x, w) (3x3, stride 1) with transform f, on our GEMM:
 *   dw = G^T [ sum over tiles U_e^T (A dy A^T)_e ] G
 * (U: x's input transform; A dy A^T: each m x m tile of dy, zero past the output's edge). Null
 * where it does not apply (no SIMD, Co % 8 != 0).
 */
export function convFilterGradWinograd(backend: WasmBackend, x: TensorInfo, dy: TensorInfo, info: ConvInfo, f: WinogradTransform): TensorInfo | null {
  const memory = memoryOf(backend);
  const [n, h, w, ci] = x.shape;
  const co = dy.shape[3];
  const kernels = memory ? winogradKernels(memory, winogradTuning.fma, getThreadsCount()) : null;
  if (!kernels || co % 8 !== 0 || x.dtype !== 'float32' || dy.dtype !== 'float32') return null;
  const { outHeight: oh, outWidth: ow } = info;
  const th = Math.ceil(oh / f.m), tw = Math.ceil(ow / f.m);
  const tiles = n * th * tw, elements = f.alpha * f.alpha;
  const owned = [elements * tiles * ci, elements * tiles * co, Math.max(ci, co), elements * ci * co].map((size) => backend.makeOutput([size], 'float32'));
  const [u, g, zero, dv] = owned;
  try {
    f32(backend, zero).fill(0);
    kernels.inputTransform(f, offsetOf(backend, x), offsetOf(backend, u), offsetOf(backend, zero), n, h, w, ci, th, tw, info.padInfo.top, info.padInfo.left);
    kernels.gradTransform(f, offsetOf(backend, dy), offsetOf(backend, g), offsetOf(backend, zero), n, oh, ow, co, th, tw);
    kernels.gemm(offsetOf(backend, u), offsetOf(backend, g), offsetOf(backend, dv),
      { m: ci, k: tiles, n: co, batch: elements, strideA: 4 * tiles * ci, strideB: 4 * tiles * co, strideC: 4 * ci * co, transposeA: true });
    const dw = backend.makeOutput([3, 3, ci, co], 'float32');
    kernels.filterGradTransform(f, offsetOf(backend, dv), offsetOf(backend, dw), ci, co);
    winogradCounts[f.m === 2 ? 'f2' : 'f4']++;
    return dw;
  } finally {
    for (const t of owned) backend.disposeData(t.dataId);
  }
}
