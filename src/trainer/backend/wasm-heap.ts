// Training kernels for the wasm backend that work directly on its heap, in JavaScript.
//
// Why JavaScript: the stock wasm kernels we would otherwise compose these from are generic C
// loops or JS loops that copy their whole input first (measured at batch 64 on a 64x32x32x64
// activation, one thread: Transpose 93 ms, Sum over the leading axes 67 ms, a strided Slice
// 12 ms, Identity 15-30 ms; a broadcast multiply 8 ms, a matMul reduction 2-8 ms). A plain JS
// loop over the heap that reads each input once and writes each output once costs a few ms for
// such a tensor, and it replaces long chains of those ops. The heavy arithmetic (the filter
// gradient's matrix products) goes to XNNPACK through the stock BatchMatMul kernel, on views of
// the heap, or to our GEMM where XNNPACK is slow (see filterGradOurGemm).
//
// Heap views: a tensor here is a TensorInfo whose dataId the wasm backend maps to an offset in its
// heap. `view()` registers a second TensorInfo pointing into another tensor's memory, for one
// kernel call, and `dropView()` unregisters it without freeing the memory. Views never leave
// this file. Typed arrays over the heap are taken only after every allocation of a step (an
// allocation may grow the heap, which replaces its ArrayBuffer).
//
// Every kernel here is compared with the cpu backend in test/unit/wasm-kernels.test.ts.

import * as tf from '@tensorflow/tfjs';
import { backend_util, type DataType, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs';
import { isWasmMemory, simdKernels, type SimdKernels, type WasmMemory } from './wasm-simd';
import type { GemmShape } from './wasm-gemm';

type ConvInfo = ReturnType<typeof backend_util.computeConv2DInfo>;
/** Our batched GEMM (wasm-gemm.ts, from winograd.ts's ourProductKernels): byte offsets into the heap. */
type Gemm = (a: number, b: number, c: number, shape: GemmShape) => void;

interface WasmData {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: DataType;
  refCount: number;
}

/** The parts of tfjs-backend-wasm's BackendWasm used here (not in its typings). */
export interface WasmBackend {
  dataIdMap: { get(dataId: object): WasmData | undefined; delete(dataId: object): boolean };
  wasm: { tfjs: { disposeData(id: number): void }; wasmMemory?: unknown; asm?: { memory?: unknown } };
  makeOutput(shape: number[], dtype: DataType, memoryOffset?: number): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  incRef(dataId: object): void;
  disposeData(dataId: object, force?: boolean): boolean;
}

export function asWasm(backend: unknown): WasmBackend {
  const b = backend as Partial<WasmBackend> | null;
  if (!b || typeof b.typedArrayFromHeap !== 'function' || !b.dataIdMap || !b.wasm)
    throw new Error('wasm heap kernel called on a backend that is not tfjs-backend-wasm');
  return b as WasmBackend;
}

export function f32(backend: WasmBackend, info: TensorInfo): Float32Array {
  if (info.dtype !== 'float32') throw new Error(`wasm heap kernel: expected float32, got ${info.dtype}`);
  return backend.typedArrayFromHeap(info) as Float32Array;
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Byte offset of a tensor's data in the heap. */
export function offsetOf(backend: WasmBackend, info: TensorInfo): number {
  const data = backend.dataIdMap.get(info.dataId);
  if (!data) throw new Error('wasm heap kernel: unknown tensor');
  return data.memoryOffset;
}

/** Our SIMD kernels on this backend's memory (null: no SIMD, use the general paths). */
function simdOf(backend: WasmBackend): SimdKernels | null {
  if (!heapTuning.simd) return null;
  const memory = memoryOf(backend);
  return memory ? simdKernels(memory) : null;
}

/** The backend's WebAssembly.Memory (null if this build hides it). */
export function memoryOf(backend: WasmBackend): WasmMemory | null {
  const memory = backend.wasm.wasmMemory ?? backend.wasm.asm?.memory;
  return isWasmMemory(memory) ? memory : null;
}

/** A float32 TensorInfo over `shape` elements of `base`'s memory, starting at element `offset`. */
export function view(backend: WasmBackend, base: TensorInfo, offset: number, shape: number[]): TensorInfo {
  const data = backend.dataIdMap.get(base.dataId);
  if (!data) throw new Error('wasm heap kernel: unknown tensor');
  if (offset + size(shape) > size(base.shape)) throw new Error('wasm heap kernel: view out of bounds');
  return backend.makeOutput(shape, 'float32', data.memoryOffset + 4 * offset);
}

/** Unregisters a view (its memory belongs to the tensor it views). */
export function dropView(backend: WasmBackend, v: TensorInfo): void {
  const data = backend.dataIdMap.get(v.dataId);
  if (!data) return;
  backend.dataIdMap.delete(v.dataId);
  // Runs the C side's disposal callbacks (e.g. drops an XNNPACK operator cached on this id).
  backend.wasm.tfjs.disposeData(data.id);
}

// ---------------------------------------------------------------- Identity

/**
 * Identity without a copy, as on the cpu backend: the output shares the input's memory. The
 * engine clones every tensor it saves for the backward pass (engine.saveTensorsForBackwardMode),
 * and the stock wasm Identity copies each one. Sharing is safe: no kernel writes into its inputs.
 */
export const identityKernel: KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as TensorInfo;
  asWasm(backend).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
};

// ---------------------------------------------------------------- reductions

/**
 * Sum (or mean) over a contiguous block of axes that is not innermost, e.g. [0, 1, 2] of an NHWC
 * tensor (bias and BatchNorm gradients) or [1, 2] (global average pooling): the stock kernel
 * transposes the reduced axes to the end first, with its slow generic transpose. Leading axes go
 * to columnSums; middle ones (small: global pooling) to a JS loop accumulating in float64.
 * Returns null for the cases left to the stock kernel (innermost axes, non-contiguous axes,
 * other dtypes).
 */
export function reduceOuter(backend: WasmBackend, add: KernelFunc, x: TensorInfo, axes: number[], keepDims: boolean, mean: boolean): TensorInfo | null {
  if (x.dtype !== 'float32') return null;
  const rank = x.shape.length;
  const ax = [...new Set(axes.map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
  if (ax.length === 0) return null;
  for (let i = 1; i < ax.length; i++) if (ax[i] !== ax[i - 1] + 1) return null;
  const first = ax[0], last = ax[ax.length - 1];
  if (last === rank - 1) return null; // innermost: the stock kernel needs no transpose
  const outer = size(x.shape.slice(0, first));
  const red = size(x.shape.slice(first, last + 1));
  const inner = size(x.shape.slice(last + 1));
  const outShape = keepDims ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d)) : x.shape.filter((_, i) => i < first || i > last);
  if (outer === 1) {
    // Leading axes: pairwise column sums on XNNPACK.
    const sums = columnSums(backend, add, x, inner);
    if (mean) {
      const s = f32(backend, sums);
      for (let i = 0; i < inner; i++) s[i] /= red;
    }
    return { ...sums, shape: outShape };
  }
  const out = backend.makeOutput(outShape, 'float32');
  const xs = f32(backend, x), os = f32(backend, out);
  const acc = new Float64Array(inner);
  const scale = mean ? 1 / red : 1;
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    let p = o * red * inner;
    for (let r = 0; r < red; r++) {
      for (let i = 0; i < inner; i++) acc[i] += xs[p + i];
      p += inner;
    }
    const q = o * inner;
    for (let i = 0; i < inner; i++) os[q + i] = acc[i] * scale;
  }
  return out;
}

/**
 * Column sums of x viewed as [rows, cols] (the sum over every axis but the last when cols is the
 * last dimension), by pairwise halving: the top half of the rows plus the bottom half, on
 * XNNPACK's Add (SIMD, on the thread pool), with both halves as views, until one row is left
 * (~log2(rows) adds of shrinking size: about one pass over x in all). Several times faster than
 * the stock Sum (which transposes first) or a JS loop, and pairwise summation is more accurate
 * than a running sum. An odd row out is set aside and added at the end.
 */
export function columnSums(backend: WasmBackend, add: KernelFunc, x: TensorInfo, cols: number): TensorInfo {
  const total = size(x.shape);
  if (cols <= 0 || total % cols !== 0) throw new Error('columnSums: shape mismatch');
  const run = (a: TensorInfo, b: TensorInfo): TensorInfo =>
    add({ inputs: { a, b }, backend: backend as never, attrs: {} }) as TensorInfo;
  let rows = total / cols;
  let cur = x; // owned by us once it is an intermediate
  let owned = false;
  let spare: TensorInfo | null = null; // sum of the odd rows set aside
  const dispose = (t: TensorInfo) => backend.disposeData(t.dataId);
  try {
    while (rows > 1) {
      const half = rows >> 1;
      if (rows % 2 === 1) {
        const last = view(backend, cur, (rows - 1) * cols, [cols]);
        try {
          if (spare === null) {
            const zero = view(backend, cur, (rows - 1) * cols, [cols]);
            try {
              spare = copyOf(backend, zero);
            } finally {
              dropView(backend, zero);
            }
          } else {
            const next = run(spare, last);
            dispose(spare);
            spare = next;
          }
        } finally {
          dropView(backend, last);
        }
      }
      const a = view(backend, cur, 0, [half, cols]);
      const b = view(backend, cur, half * cols, [half, cols]);
      let next: TensorInfo;
      try {
        next = run(a, b);
      } finally {
        dropView(backend, a);
        dropView(backend, b);
      }
      if (owned) dispose(cur);
      cur = next;
      owned = true;
      rows = half;
    }
    let result: TensorInfo;
    if (spare !== null) {
      const c = view(backend, cur, 0, [cols]);
      try {
        result = run(c, spare);
      } finally {
        dropView(backend, c);
      }
      if (owned) dispose(cur);
    } else {
      result = owned ? cur : copyOf(backend, x);
    }
    owned = false;
    return { ...result, shape: [cols] };
  } catch (error) {
    if (owned) dispose(cur);
    throw error;
  } finally {
    if (spare !== null) dispose(spare);
  }
}

function copyOf(backend: WasmBackend, x: TensorInfo): TensorInfo {
  const out = backend.makeOutput([...x.shape], 'float32');
  f32(backend, out).set(f32(backend, x));
  return out;
}

// ---------------------------------------------------------------- slices

/**
 * x[begin : begin + size] of a 32-bit tensor as native block copies on the heap, each run as long
 * as the trailing axes the slice keeps whole allow. The stock wasm Slice copies one innermost row
 * at a time through a new subarray each (measured: cropping a 64x34x34x64 activation to 32x32,
 * the input gradient of ResNet-18's first strided conv, took 66 ms: 65,536 copies of 64 floats;
 * here 2,048 copies of 2,048).
 */
export function sliceHeap(backend: WasmBackend, x: TensorInfo, begin: readonly number[], extent: readonly number[]): TensorInfo | null {
  const memory = memoryOf(backend);
  const rank = x.shape.length;
  if (!memory || rank === 0 || (x.dtype !== 'float32' && x.dtype !== 'int32') || extent.some((d) => d === 0)) return null;
  let inner = rank - 1; // the innermost axis the slice cuts; the axes after it are copied whole
  while (inner > 0 && begin[inner] === 0 && extent[inner] === x.shape[inner]) inner--;
  const strides = x.shape.map((_, d) => size(x.shape.slice(d + 1)));
  const run = extent[inner] * strides[inner];
  const out = backend.makeOutput([...extent], x.dtype);
  const heap = new Int32Array(memory.buffer);
  const from = offsetOf(backend, x) / 4, to = offsetOf(backend, out) / 4;
  const index = new Array<number>(inner).fill(0); // position among the runs, axes 0..inner-1
  for (let dst = 0, count = size(extent.slice(0, inner)); count > 0; count--, dst += run) {
    let src = begin[inner] * strides[inner];
    for (let d = 0; d < inner; d++) src += (begin[d] + index[d]) * strides[d];
    heap.copyWithin(to + dst, from + src, from + src + run);
    for (let d = inner - 1; d >= 0 && ++index[d] === extent[d]; d--) index[d] = 0;
  }
  return out;
}

// ---------------------------------------------------------------- row selection

/**
 * out[i] = x[rows[i]] (rows of a 2D float32 tensor), or zeros where rows[i] < 0: native block
 * copies on the heap (filter flips and sub-filter banks of the conv input gradient).
 */
export function selectRowsHeap(backend: WasmBackend, x: TensorInfo, rows: readonly number[]): TensorInfo {
  const [n, len] = x.shape;
  const out = backend.makeOutput([rows.length, len], 'float32');
  const xs = f32(backend, x), os = f32(backend, out);
  rows.forEach((r, i) => {
    if (r >= 0 && r < n) os.set(xs.subarray(r * len, (r + 1) * len), i * len);
    else os.fill(0, i * len, (i + 1) * len);
  });
  return out;
}

// ---------------------------------------------------------------- transposes

/**
 * Transpose that swaps the last two axes (the only kind our kernels and the dense gradients
 * ask for: filter [kh, kw, ci, co] -> [kh, kw, co, ci], matrix transposes) of a 32-bit tensor,
 * on our wasm kernel; the stock Transpose is a generic per-element index loop (~20 ns per
 * element). Returns null for other permutations, dtypes, or without SIMD kernels.
 */
export function transposeLastTwo(backend: WasmBackend, x: TensorInfo, perm: number[]): TensorInfo | null {
  const rank = x.shape.length;
  if (rank < 2 || perm.length !== rank || (x.dtype !== 'float32' && x.dtype !== 'int32')) return null;
  for (let i = 0; i < rank - 2; i++) if (perm[i] !== i) return null;
  if (perm[rank - 2] !== rank - 1 || perm[rank - 1] !== rank - 2) return null;
  const simd = simdOf(backend);
  if (!simd) return null;
  const a = x.shape[rank - 2], b = x.shape[rank - 1];
  const outShape = [...x.shape.slice(0, rank - 2), b, a];
  const out = backend.makeOutput(outShape, x.dtype);
  simd.swapLastTwo(offsetOf(backend, x), offsetOf(backend, out), size(x.shape) / Math.max(a * b, 1), a, b);
  return out;
}

// ---------------------------------------------------------------- max pooling

/**
 * Input gradient of maxPool (NHWC, dilation 1): dy goes to the FIRST maximum of each window in
 * row-major order, padding never wins, and a window without a maximum (all NaN) sends nothing:
 * the cpu backend's rule (maxPoolPositions + maxPoolBackprop).
 */
export function maxPoolBackprop(backend: WasmBackend, dy: TensorInfo, x: TensorInfo, info: ConvInfo): TensorInfo {
  const [n, h, w, c] = x.shape;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const dx = backend.makeOutput([n, h, w, c], 'float32');
  const xs = f32(backend, x), dys = f32(backend, dy), dxs = f32(backend, dx);
  if (kh === sh && kw === sw && dh === 1 && dw === 1 && top === 0 && left === 0 && oh * sh <= h && ow * sw <= w) {
    const simd = kh === 2 && kw === 2 && h === 2 * oh && c % 4 === 0 ? simdOf(backend) : null;
    if (simd) {
      if (ow * sw < w) dxs.fill(0); // the columns no window reads
      simd.maxPoolGrad2x2(offsetOf(backend, x), offsetOf(backend, dy), offsetOf(backend, dx), n * oh, ow, w, c);
    } else {
      tilingWindows(xs, dys, dxs);
    }
    return dx;
  }
  dxs.fill(0);
  const best = new Float32Array(c);
  const where = new Int32Array(c);
  let o = 0; // flat index of (b, y, q, 0) in dy
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let q = 0; q < ow; q++, o += c) {
        best.fill(-Infinity);
        where.fill(-1);
        for (let i = 0; i < kh; i++) {
          const iy = y * sh - top + i * dh;
          if (iy < 0 || iy >= h) continue;
          for (let j = 0; j < kw; j++) {
            const ix = q * sw - left + j * dw;
            if (ix < 0 || ix >= w) continue;
            const base = ((b * h + iy) * w + ix) * c;
            for (let k = 0; k < c; k++) {
              const v = xs[base + k];
              if (v > best[k]) {
                best[k] = v;
                where[k] = base + k;
              }
            }
          }
        }
        for (let k = 0; k < c; k++) if (where[k] >= 0) dxs[where[k]] += dys[o + k];
      }
    }
  }
  return dx;

  /**
   * Windows that tile the input without overlap or padding (2x2 stride 2, the common case):
   * every input element belongs to at most one window, so each is written once, in one pass,
   * with no zero fill and no accumulation.
   */
  function tilingWindows(xs: Float32Array, dys: Float32Array, dxs: Float32Array): void {
    if (oh * sh < h || ow * sw < w) dxs.fill(0); // rows/columns no window reads
    const taps = kh * kw;
    const offsets = new Int32Array(taps); // of each tap from the window's first element
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) offsets[i * kw + j] = (i * w + j) * c;
    let o = 0;
    for (let b = 0; b < n; b++) {
      for (let y = 0; y < oh; y++) {
        for (let q = 0; q < ow; q++, o += c) {
          const base = ((b * h + y * sh) * w + q * sw) * c;
          for (let k = 0; k < c; k++) {
            let best = -Infinity, first = -1;
            for (let t = 0; t < taps; t++) {
              const v = xs[base + offsets[t] + k];
              if (v > best) {
                best = v;
                first = t;
              }
            }
            const g = dys[o + k];
            for (let t = 0; t < taps; t++) dxs[base + offsets[t] + k] = t === first ? g : 0;
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------- conv filter gradient

/**
 * Reduction steps per matrix product: about 2^22 elements of the P block (16 MB), at least 4096.
 * Measured with 2 threads (batch 64, 32x32 input): per-call costs (operator creation, packing
 * dy's block) make short blocks slow (1024 steps: +50% on a 64-channel 32x32 layer); 4096 to
 * 16384 steps are best or tied at every ResNet-18 stage; one product over all 65,536 steps of
 * that layer is 2.2x slower, but best for the 3-channel stem (27 rows).
 */
export const heapTuning = {
  filterGradElements: 1 << 22,
  filterGradMinSteps: 4096,
  filterGradMaxSteps: 1 << 16,
  /** Filter gradients with up to this many rows (KH*KW*Ci) go to our GEMM instead of XNNPACK's. */
  filterGradOurGemmRows: 128,
  /** Use our SIMD kernels where they apply (tests turn this off to check the general paths). */
  simd: true,
};

/**
 * Weight gradient of y = conv2d(x, w) (NHWC, any stride, padding and dilation):
 *   dw[(kh,kw,ci), co] = sum_m P[(kh,kw,ci), m] dy[m, co],  m = (n, oh, ow),
 * with P the transposed im2col matrix of x. XNNPACK's GEMM does not block the reduction axis,
 * so one product with K = N*OH*OW (65,536 at batch 64 on 32x32) runs at half its speed; the
 * reduction is cut into blocks of m (the P block built here, the dy block a view: rows of dy are
 * contiguous), one product each, summed with XNNPACK's Add. The P block is the transposed im2col
 * matrix because XNNPACK reads the left operand as it is but repacks the right one on every call
 * (dy's block is the small one). Filling it is the JS part of this kernel.
 */
export function convFilterGrad(backend: WasmBackend, matMul: KernelFunc, add: KernelFunc, x: TensorInfo, dy: TensorInfo, info: ConvInfo, gemm: Gemm | null): TensorInfo {
  const co = dy.shape[3];
  const g = patchGeometry(x, info);
  const rows = g.kh * g.kw * g.ci;
  if (gemm && co % 8 === 0 && rows <= heapTuning.filterGradOurGemmRows) return filterGradOurGemm(backend, gemm, x, dy, g);
  let acc = null as TensorInfo | null; // the sum so far (written by the block callback)
  try {
    patchBlocks(backend, x, g, (scratch, m0, mc) => {
      const a = view(backend, scratch, 0, [rows, mc]);
      const bv = view(backend, dy, m0 * co, [mc, co]);
      let r: TensorInfo;
      try {
        r = matMul({ inputs: { a, b: bv }, backend: backend as never, attrs: { transposeA: false, transposeB: false } }) as TensorInfo;
      } finally {
        dropView(backend, a);
        dropView(backend, bv);
      }
      if (acc === null) {
        acc = r;
      } else {
        const sum = add({ inputs: { a: acc, b: r }, backend: backend as never, attrs: {} }) as TensorInfo;
        backend.disposeData(acc.dataId);
        backend.disposeData(r.dataId);
        acc = sum;
      }
    });
  } catch (error) {
    if (acc !== null) backend.disposeData(acc.dataId);
    throw error;
  }
  if (acc === null) throw new Error('conv filter gradient of an empty batch');
  return { ...acc, shape: [g.kh, g.kw, g.ci, co] };
}

/**
 * convFilterGrad on our GEMM (wasm-gemm.ts, every thread), each block's product accumulated into
 * the one output. For products with few rows XNNPACK is slow (it repacks the whole dy block on
 * every call). Measured per layer at batch 64, 2 threads (XNNPACK / ours, ms): the stems 32x32
 * 3->32 9.7 / 3.5 and 3->64 51 / 8.9; 1x1 16->96 5.9 / 2.5, 1x1 stride 2 64->128 13.5 / 10.4,
 * 128->256 8.5 / 7.6; with more rows XNNPACK wins (1x1 stride 2 256->512 6.3 / 7.4, 3x3 stride
 * 2 64->128 50 / 60): so up to 128 rows (heapTuning.filterGradOurGemmRows).
 */
function filterGradOurGemm(backend: WasmBackend, gemm: Gemm, x: TensorInfo, dy: TensorInfo, g: PatchGeometry): TensorInfo {
  const co = dy.shape[3];
  const out = backend.makeOutput([g.kh, g.kw, g.ci, co], 'float32');
  try {
    patchBlocks(backend, x, g, (scratch, m0, mc) =>
      gemm(offsetOf(backend, scratch), offsetOf(backend, dy) + 4 * m0 * co, offsetOf(backend, out),
        { m: g.kh * g.kw * g.ci, k: mc, n: co, batch: 1, strideA: 0, strideB: 0, strideC: 0, accumulate: m0 > 0 }));
  } catch (error) {
    backend.disposeData(out.dataId);
    throw error;
  }
  return out;
}

/**
 * The reduction of convFilterGrad in blocks of output positions (heapTuning): for each block
 * [m0, m0 + mc), x's patches filled into one scratch buffer (fillPatches, rows of length mc),
 * then `each` with it. The scratch is freed at the end, also when `each` throws.
 */
function patchBlocks(backend: WasmBackend, x: TensorInfo, g: PatchGeometry, each: (scratch: TensorInfo, m0: number, mc: number) => void): void {
  const rows = g.kh * g.kw * g.ci;
  const total = x.shape[0] * g.oh * g.ow;
  const { filterGradElements, filterGradMinSteps, filterGradMaxSteps } = heapTuning;
  const steps = Math.min(filterGradMaxSteps, Math.max(filterGradMinSteps, Math.floor(filterGradElements / rows)));
  const block = Math.max(1, Math.min(total, steps));
  const scratch = backend.makeOutput([rows * block], 'float32');
  try {
    for (let m0 = 0; m0 < total; m0 += block) {
      const mc = Math.min(block, total - m0);
      fillPatches({ backend, simd: simdOf(backend), x, scratch, xs: f32(backend, x), ps: f32(backend, scratch), m0, mc, g });
      each(scratch, m0, mc);
    }
  } finally {
    backend.disposeData(scratch.dataId);
  }
}

/** The shapes convFilterGrad's patches are gathered with (NHWC input, kernel, strides, output). */
interface PatchGeometry {
  h: number;
  w: number;
  ci: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  top: number;
  left: number;
  oh: number;
  ow: number;
}

function patchGeometry(x: TensorInfo, info: ConvInfo): PatchGeometry {
  const [, h, w, ci] = x.shape;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  return { h, w, ci, kh, kw, sh, sw, dh, dw, top, left, oh, ow };
}

/** One block of convFilterGrad: positions [m0, m0 + mc) of x's patches into scratch (ps, its heap view). */
interface PatchBlock {
  backend: WasmBackend;
  /** Gathers in our wasm kernel when there is SIMD, else in JS. */
  simd: SimdKernels | null;
  x: TensorInfo;
  scratch: TensorInfo;
  xs: Float32Array;
  ps: Float32Array;
  m0: number;
  mc: number;
  g: PatchGeometry;
}

/**
 * P[(tap, c), m - m0] for m in [m0, m0 + mc), row length mc; zero where the tap reads padding.
 * Gathers run in our wasm kernel where there is SIMD, else in JS. With stride and dilation 1
 * on outputs at least 8x8, only tap (0, 0) is gathered whole: the row of tap
 * (i, j + 1) is the row of tap (i, j) moved left by one column, and the row of tap (i + 1, j)
 * the row of tap (i, j) moved left by one output row (one native copyWithin each), except
 * where that move crosses an output row, an image or the block's end: those few entries are
 * gathered directly.
 */
function fillPatches(block: PatchBlock): void {
  const { ps, m0, mc } = block;
  const { ci, kh, kw, sh, sw, dh, dw, oh, ow } = block.g;
  // Moves pay off on wide outputs: the entries gathered directly are ~1/ow + 1/oh of each row.
  const shifted = sh === 1 && sw === 1 && dh === 1 && dw === 1 && kh * kw > 1 && ow >= 8 && oh >= 8;
  if (!shifted) {
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) gatherTap(block, i, j, 0, mc);
    return;
  }
  gatherTap(block, 0, 0, 0, mc);
  const { columnFixes, rowFixes } = moveFixes(m0, mc, oh, ow);
  const row = (i: number, j: number, c: number) => ((i * kw + j) * ci + c) * mc;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      if (i === 0 && j === 0) continue;
      const fromLeft = i === 0; // first row of taps: move from (0, j - 1); then from (i - 1, j)
      const step = fromLeft ? 1 : ow;
      for (let c = 0; c < ci; c++) {
        const dst = row(i, j, c);
        const src = fromLeft ? row(0, j - 1, c) : row(i - 1, j, c);
        if (mc > step) ps.copyWithin(dst, src + step, src + mc);
      }
      if (fromLeft) for (const m of columnFixes) gatherTap(block, i, j, m, 1);
      else for (const [start, count] of rowFixes) gatherTap(block, i, j, start, count);
    }
  }
}

/**
 * Entries a move cannot give, gathered directly: for a column move, the last column of each
 * output row and the block's last entry; for a row move, the last output row of each image
 * and the block's last ow entries (as [start, count] runs).
 */
function moveFixes(m0: number, mc: number, oh: number, ow: number): { columnFixes: number[]; rowFixes: [number, number][] } {
  const columnFixes: number[] = [];
  for (let m = (ow - 1 - (m0 % ow) + ow) % ow; m < mc; m += ow) columnFixes.push(m);
  if (columnFixes[columnFixes.length - 1] !== mc - 1) columnFixes.push(mc - 1);
  const rowFixes: [number, number][] = [];
  const image = oh * ow;
  const r = m0 % image; // the block starts r positions into an image
  if (r > image - ow) rowFixes.push([0, Math.min(image - r, mc)]); // ...inside its last output row
  let start = image - ow - r;
  if (start < 0) start += image;
  for (; start < mc; start += image) rowFixes.push([start, Math.min(ow, mc - start)]);
  const tail = Math.max(0, mc - ow);
  rowFixes.push([tail, mc - tail]); // may overlap a run above: gathered twice, same values
  return { columnFixes, rowFixes };
}

/** Tap (i, j), positions [m, m + count) of the block, gathered for every channel. */
function gatherTap(block: PatchBlock, i: number, j: number, m: number, count: number): void {
  const { backend, simd, xs, ps, m0, mc } = block;
  const { h, w, ci, kw, sh, sw, dh, dw, top, left, oh, ow } = block.g;
  const p = m0 + m;
  const b0 = Math.floor(p / (oh * ow)), y0 = Math.floor(p / ow) % oh, q0 = p % ow;
  const rowBase = (i * kw + j) * ci * mc + m;
  if (simd) {
    simd.gatherTap(offsetOf(backend, block.x), offsetOf(backend, block.scratch) + 4 * rowBase, count, mc, ci, b0, y0, q0, oh, ow, h, w, sh, sw,
      i * dh - top, j * dw - left);
    return;
  }
  let b = b0, y = y0, q = q0;
  for (let k = 0; k < count; k++) {
    const iy = y * sh - top + i * dh;
    const ix = q * sw - left + j * dw;
    let d = rowBase + k;
    if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
      const src = ((b * h + iy) * w + ix) * ci;
      for (let c = 0; c < ci; c++, d += mc) ps[d] = xs[src + c];
    } else {
      for (let c = 0; c < ci; c++, d += mc) ps[d] = 0;
    }
    if (++q === ow) {
      q = 0;
      if (++y === oh) {
        y = 0;
        b++;
      }
    }
  }
}

// ---------------------------------------------------------------- conv input gradient by rows

/**
 * dx of a conv (NHWC, dilation 1, Ci % 4 == 0) from cols = dy W^T, [N*OH*OW, KH*KW*Ci] with row m's
 * taps in im2row's order: each tap's Ci values added where the forward conv read them (our SIMD
 * kernel rowsToImage, taps on padding skipped). Null without SIMD kernels.
 */
export function rowsToImageHeap(backend: WasmBackend, cols: TensorInfo, info: ConvInfo): TensorInfo | null {
  const simd = simdOf(backend);
  if (!simd) return null;
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow } = info;
  const dx = backend.makeOutput([n, h, w, ci], 'float32');
  f32(backend, dx).fill(0);
  simd.rowsToImage(offsetOf(backend, cols), offsetOf(backend, dx), n, h, w, ci, oh, ow,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left);
  return dx;
}

// ---------------------------------------------------------------- conv with few input channels

/** Input channels up to which conv2d goes through im2col + one GEMM (see convFewChannels). */
export const FEW_CHANNELS = 4;

/**
 * conv2d (NHWC, dilation 1) for inputs with few channels (the RGB or grey stem conv) as one
 * XNNPACK GEMM on the im2col matrix: XNNPACK's conv runs a 3-channel stem at a fraction of its
 * speed on wider layers (measured: a 64x32x32x3 -> 32 conv, 57 M multiply-adds, took as long as
 * a 64x16x16x32 -> 64 one with 302 M). Returns null where it does not apply (no SIMD kernels,
 * more channels, dilation).
 */
export function convFewChannels(backend: WasmBackend, matMul: KernelFunc, x: TensorInfo, filter: TensorInfo, info: ConvInfo): TensorInfo | null {
  const [n, h, w, ci] = x.shape;
  const co = filter.shape[3];
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  const simd = simdOf(backend);
  if (!simd || ci > FEW_CHANNELS || info.dilationHeight !== 1 || info.dilationWidth !== 1 || x.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  const k = kh * kw * ci;
  const rows = n * oh * ow;
  const patches = backend.makeOutput([rows, k], 'float32');
  const wv = view(backend, filter, 0, [k, co]);
  try {
    simd.im2row(offsetOf(backend, x), offsetOf(backend, patches), n, h, w, ci, oh, ow, kh, kw, sh, sw, info.padInfo.top, info.padInfo.left);
    const out = matMul({ inputs: { a: patches, b: wv }, backend: backend as never, attrs: { transposeA: false, transposeB: false } }) as TensorInfo;
    return { ...out, shape: [n, oh, ow, co] };
  } finally {
    dropView(backend, wv);
    backend.disposeData(patches.dataId);
  }
}

// ---------------------------------------------------------------- BatchNorm (training mode)

/** Kernel names of the fused training-mode BatchNorm (registered for 'wasm' only). */
export const BATCH_NORM_TRAIN = 'WasLabBatchNormTrain';
export const BATCH_NORM_TRAIN_GRAD = 'WasLabBatchNormTrainGrad';

/** Column sums (columnSums) of a tensor over every axis but the last, as a Tensor [C]. */
function sumAllButLast(x: tf.Tensor, add: KernelFunc): tf.Tensor1D {
  const c = x.shape[x.rank - 1];
  return tf.engine().makeTensorFromTensorInfo(columnSums(asWasm(tf.backend()), add, x, c)) as tf.Tensor1D;
}

/**
 * Training-mode BatchNorm over the last axis with batch statistics:
 *   y = (x - mean) / sqrt(var + eps) * gamma + beta,  mean/var (biased) over all other axes.
 * Outputs y, mean, variance. Built from XNNPACK's elementwise ops (SIMD, thread pool) and
 * pairwise column sums: ~5 passes over x, against ~20 generic ops (moments, FusedBatchNorm, whose
 * wasm kernel is a scalar loop ~7x slower than a broadcast multiply) before.
 */
export function makeBatchNormTrainKernel(add: () => KernelFunc): KernelFunc {
  return ({ inputs, attrs, backend: b }) => {
    const epsilon = (attrs as unknown as { epsilon: number }).epsilon;
    const backend = asWasm(b);
    const x0 = inputs.x as TensorInfo;
    const simd = x0 && x0.shape[x0.shape.length - 1] % 4 === 0 ? simdOf(backend) : null;
    if (simd) return batchNormTrainSimd(backend, simd, x0, inputs.gamma as TensorInfo, inputs.beta as TensorInfo, epsilon);
    return tf.tidy(() => {
      const x = asTensorInfo(inputs.x), gamma = asTensorInfo(inputs.gamma), beta = asTensorInfo(inputs.beta);
      const c = x.shape[x.rank - 1];
      const m = x.size / c;
      const x2 = tf.reshape(x, [m, c]);
      const mean = tf.mul(sumAllButLast(x2, add()), 1 / m);
      const variance = tf.mul(sumAllButLast(tf.squaredDifference(x2, mean), add()), 1 / m);
      const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, epsilon)));
      const shift = tf.sub(beta, tf.mul(mean, scale));
      const y = tf.reshape(tf.add(tf.mul(x2, scale), shift), x.shape);
      return [y, mean, variance];
    });
  };
}

/**
 * Gradient of the training-mode BatchNorm's y (through the batch statistics too):
 *   d = x - mean,  dbeta = sum(dy),  dgamma = sum(dy * d) * invstd,
 *   dx = gamma * invstd * (dy - dbeta / M - d * invstd^2 * sum(dy * d) / M).
 * Inputs dy, x, mean, variance, gamma; outputs dx, dgamma, dbeta.
 */
export function makeBatchNormTrainGradKernel(add: () => KernelFunc): KernelFunc {
  return ({ inputs, attrs, backend: b }) => {
    const epsilon = (attrs as unknown as { epsilon: number }).epsilon;
    const backend = asWasm(b);
    const x0 = inputs.x as TensorInfo;
    const simd = x0 && x0.shape[x0.shape.length - 1] % 4 === 0 ? simdOf(backend) : null;
    if (simd) {
      const { dy, mean, variance, gamma } = inputs as Record<string, TensorInfo>;
      return batchNormTrainGradSimd(backend, simd, dy, x0, mean, variance, gamma, epsilon);
    }
    return tf.tidy(() => {
      const dy = asTensorInfo(inputs.dy), x = asTensorInfo(inputs.x);
      const mean = asTensorInfo(inputs.mean), variance = asTensorInfo(inputs.variance), gamma = asTensorInfo(inputs.gamma);
      const c = x.shape[x.rank - 1];
      const m = x.size / c;
      const x2 = tf.reshape(x, [m, c]), dy2 = tf.reshape(dy, [m, c]);
      const d = tf.sub(x2, mean);
      const dbeta = sumAllButLast(dy2, add());
      const dyd = sumAllButLast(tf.mul(dy2, d), add());
      const invstd = tf.rsqrt(tf.add(variance, epsilon));
      const a = tf.mul(gamma, invstd);
      const bq = tf.mul(tf.mul(a, tf.square(invstd)), -1 / m).mul(dyd);
      const c0 = tf.mul(a, dbeta).mul(-1 / m);
      const dx = tf.reshape(tf.add(tf.add(tf.mul(dy2, a), tf.mul(d, bq)), c0), x.shape);
      return [dx, tf.mul(dyd, invstd), dbeta];
    });
  };
}

/**
 * Training-mode BatchNorm forward on our SIMD kernels (C % 4 == 0): one pass for the statistics
 * (sums of x - x[0] and its square, per channel, f32 over 32 rows then f64; shifting by the first
 * row keeps E[u^2] - E[u]^2 from cancelling), one pass for y = x * scale + shift.
 */
function batchNormTrainSimd(backend: WasmBackend, simd: SimdKernels, x: TensorInfo, gamma: TensorInfo, beta: TensorInfo, epsilon: number): TensorInfo[] {
  const c = x.shape[x.shape.length - 1];
  const m = size(x.shape) / c;
  const y = backend.makeOutput([...x.shape], 'float32');
  const meanOut = backend.makeOutput([c], 'float32');
  const varOut = backend.makeOutput([c], 'float32');
  const work = backend.makeOutput([7 * c], 'float32'); // shift [c] | acc1 f64 [c] | acc2 f64 [c] | scale [c] | offset [c]
  try {
    const base = offsetOf(backend, work);
    const ws = f32(backend, work);
    ws.set(f32(backend, x).subarray(0, c), 0);
    ws.fill(0, c, 5 * c);
    simd.columnStats(offsetOf(backend, x), m, c, base, base + 4 * c, base + 12 * c);
    const acc = new Float64Array(ws.buffer, ws.byteOffset + 4 * c, 2 * c);
    const gs = f32(backend, gamma), bs = f32(backend, beta), ms = f32(backend, meanOut), vs = f32(backend, varOut);
    for (let k = 0; k < c; k++) {
      const shifted = acc[k] / m;
      const variance = Math.max(acc[c + k] / m - shifted * shifted, 0);
      const mean = ws[k] + shifted;
      const scale = gs[k] / Math.sqrt(variance + epsilon);
      ms[k] = mean;
      vs[k] = variance;
      ws[5 * c + k] = scale;
      ws[6 * c + k] = bs[k] - mean * scale;
    }
    simd.scaleShift(offsetOf(backend, x), offsetOf(backend, y), m, c, base + 20 * c, base + 24 * c);
  } finally {
    backend.disposeData(work.dataId);
  }
  return [y, meanOut, varOut];
}

/** The gradient of batchNormTrainSimd: one pass for sum(dy), sum(dy * (x - mean)), one for dx. */
function batchNormTrainGradSimd(
  backend: WasmBackend, simd: SimdKernels, dy: TensorInfo, x: TensorInfo, mean: TensorInfo, variance: TensorInfo, gamma: TensorInfo, epsilon: number,
): TensorInfo[] {
  const c = x.shape[x.shape.length - 1];
  const m = size(x.shape) / c;
  const dx = backend.makeOutput([...x.shape], 'float32');
  const dgOut = backend.makeOutput([c], 'float32');
  const dbOut = backend.makeOutput([c], 'float32');
  const work = backend.makeOutput([7 * c], 'float32'); // acc1 f64 [c] | acc2 f64 [c] | a [c] | b [c] | c [c]
  try {
    const base = offsetOf(backend, work);
    const ws = f32(backend, work);
    ws.fill(0, 0, 4 * c);
    simd.columnGradStats(offsetOf(backend, x), offsetOf(backend, dy), m, c, offsetOf(backend, mean), base, base + 8 * c);
    const acc = new Float64Array(ws.buffer, ws.byteOffset, 2 * c);
    const ms = f32(backend, mean), vs = f32(backend, variance), gs = f32(backend, gamma);
    const dg = f32(backend, dgOut), db = f32(backend, dbOut);
    for (let k = 0; k < c; k++) {
      const dsum = acc[k], dxc = acc[c + k];
      const invstd = 1 / Math.sqrt(vs[k] + epsilon);
      const a = gs[k] * invstd;
      const bq = -a * invstd * invstd * (dxc / m);
      ws[4 * c + k] = a;
      ws[5 * c + k] = bq;
      ws[6 * c + k] = -a * (dsum / m) - bq * ms[k];
      dg[k] = dxc * invstd;
      db[k] = dsum;
    }
    simd.scaleShift2(offsetOf(backend, dy), offsetOf(backend, x), offsetOf(backend, dx), m, c, base + 16 * c, base + 20 * c, base + 24 * c);
  } finally {
    backend.disposeData(work.dataId);
  }
  return [dx, dgOut, dbOut];
}

/** A kernel input as a Tensor usable by tf ops (engine-level callers pass Tensors already). */
function asTensorInfo(info: TensorInfo | undefined): tf.Tensor {
  if (info == null) throw new Error('wasm heap kernel: missing input');
  return info instanceof tf.Tensor ? info : tf.engine().makeTensorFromTensorInfo(info);
}

/** Registers the gradient of BATCH_NORM_TRAIN (global, like every tfjs gradient). Idempotent. */
export function registerBatchNormTrainGradient(): void {
  if (tf.getGradient(BATCH_NORM_TRAIN)) return;
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAIN,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [x, gamma, mean, variance] = saved;
      const dy = Array.isArray(dys) ? dys[0] : dys;
      // One kernel gives all three gradients; computed here (not in the closures) because the
      // engine runs each closure in its own tidy, which would dispose the other two.
      const [dx, dgamma, dbeta] = tf.engine().runKernel(
        BATCH_NORM_TRAIN_GRAD, { dy, x, mean, variance, gamma }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
    },
  });
}
