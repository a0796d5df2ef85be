/**
 * Training kernels for the TensorFlow.js wasm backend.
 *
 * Why: @tensorflow/tfjs-backend-wasm 4.22 is an inference backend. Training
 * our CNNs on it needs kernels that it
 *  - lacks: Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter and
 *    DepthwiseConv2dNativeBackpropInput ("kernel ... not registered");
 *  - gets wrong: MaxPoolGrad starts its running max at FLT_MIN, so windows
 *    whose maximum is <= 0 lose their gradient (and ties go to the last
 *    maximum; cpu/TF use the first);
 *  - runs pathologically slowly: Conv2DBackpropInput (naive loop, ~25x the
 *    forward conv), BatchMatMul with transposeA/B (every dense gradient,
 *    ~10x an explicit transpose + plain matMul), Tile (every BatchNorm
 *    backward, ~13x a broadcast multiply), Sum/Mean over leading axes (a
 *    generic transpose first: ~15x an elementwise op), Identity (copies every
 *    tensor the engine saves for the backward pass), Conv2D on 1-4 input
 *    channels (the stem conv: as slow as a layer with 5x its arithmetic), a
 *    Slice that is not one block (a copy per innermost row), products with
 *    few rows (XNNPACK repacks the right operand on every call), a Cast to
 *    the dtype a tensor already has (a copy).
 *
 * The replacements here are compositions of a few large, fast wasm ops
 * (XNNPACK convs/matMuls, pads, 4D slices, reshapes) for the input gradients
 * (dy convolved with the flipped filter; strided ones as one product and its
 * scatter, or a sub-pixel decomposition) and the depthwise gradients; the
 * rest work on the heap directly (wasm-heap.ts: the filter gradient as
 * blocked GEMMs on an im2col block, the max-pool gradient, Sum/Mean,
 * Identity, a fused training-mode BatchNorm and its gradient, the
 * few-channel conv, the strided input gradient's scatter), some through our own
 * SIMD wasm kernels (wasm-simd.ts). 3x3 stride-1 convs from 32 channels
 * (forward, input and filter gradients) run as Winograd convs on our kernels
 * (winograd.ts). Sizes and padding come from
 * backend_util.computeConv2DInfo / computePool2DInfo with the engine's attrs,
 * as on cpu. test/unit/wasm-kernels.test.ts, wasm-heap.test.ts,
 * wasm-simd.test.ts and winograd.test.ts check every kernel here against cpu.
 *
 * Call registerWasmTrainingKernels() (idempotent) before training on 'wasm';
 * it may run before tf.setBackend('wasm').
 */
import * as tf from '@tensorflow/tfjs';
// Import the wasm backend here so its stock kernels are registered before we
// override some of them (a later import would silently win otherwise).
import '@tensorflow/tfjs-backend-wasm';
import {
  asWasm,
  BATCH_NORM_TRAIN,
  BATCH_NORM_TRAIN_GRAD,
  convFewChannels,
  convFilterGrad,
  identityKernel,
  makeBatchNormTrainGradKernel,
  makeBatchNormTrainKernel,
  maxPoolBackprop,
  reduceOuter,
  rowsToImageHeap,
  registerBatchNormTrainGradient,
  selectRowsHeap,
  sliceHeap,
  transposeLastTwo,
  f32,
  offsetOf,
  type WasmBackend,
} from './wasm-heap';
import { convFilterGradWinograd, convWinograd, ourProductKernels, winogradChoice, winogradTuning } from './winograd';
import { enableRelaxedSimd } from './wasm-fma';
import type { WinogradKernels } from './winograd-kernels';
import {
  Add,
  backend_util,
  BatchMatMul,
  BatchMatMulAttrs,
  Cast,
  CastAttrs,
  Conv2D,
  Conv2DAttrs,
  Conv2DBackpropFilter,
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropInput,
  Conv2DBackpropInputAttrs,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropFilterAttrs,
  DepthwiseConv2dNativeBackpropInput,
  DepthwiseConv2dNativeBackpropInputAttrs,
  Identity,
  KernelConfig,
  KernelFunc,
  MaxPoolGrad,
  Mean,
  Sum,
  MaxPoolGradAttrs,
  Slice,
  SliceAttrs,
  slice_util,
  TensorInfo,
  Tile,
  TileAttrs,
  Transpose,
  TransposeAttrs,
} from '@tensorflow/tfjs';

const BACKEND = 'wasm';

type T4 = tf.Tensor4D;
type Shape4 = [number, number, number, number];
type Pads4 = [[number, number], [number, number], [number, number], [number, number]];
type ConvInfo = ReturnType<typeof backend_util.computeConv2DInfo>;

/** Wraps a kernel input as a Tensor usable by tf ops (no copy). */
function asTensor(info: TensorInfo | undefined, name: string): tf.Tensor {
  if (info == null) throw new Error(`wasm training kernel: missing input '${name}'`);
  // Engine-level callers pass real Tensors; other callers may pass bare
  // TensorInfos, which get a tracked wrapper (disposed by the caller's tidy).
  return info instanceof tf.Tensor ? info : tf.engine().makeTensorFromTensorInfo(info);
}

function as4(info: TensorInfo | undefined, name: string): T4 {
  return asTensor(info, name) as T4;
}

function nhwcToNchw(x: T4): T4 {
  return tf.transpose(x, [0, 3, 1, 2]);
}

function nchwToNhwc(x: T4): T4 {
  return tf.transpose(x, [0, 2, 3, 1]);
}

/**
 * Turns signed pads into a cropped tensor plus non-negative explicit pads.
 * A negative pad means "that many rows/cols at this edge are not used".
 */
function cropForPads(x: T4, top: number, bottom: number, left: number, right: number): [T4, Pads4] {
  const [n, h, w, c] = x.shape;
  const ct = Math.max(0, -top), cb = Math.max(0, -bottom);
  const cl = Math.max(0, -left), cr = Math.max(0, -right);
  const cropped = ct || cb || cl || cr ? tf.slice(x, [0, ct, cl, 0], [n, h - ct - cb, w - cl - cr, c]) : x;
  const pads: Pads4 = [
    [0, 0],
    [Math.max(0, top), Math.max(0, bottom)],
    [Math.max(0, left), Math.max(0, right)],
    [0, 0],
  ];
  return [cropped, pads];
}

function hasPadding(pads: Pads4): boolean {
  return pads.some(([a, b]) => a !== 0 || b !== 0);
}

/** dy [N,OH,OW,C] -> [N,OH*sH,OW*sW,C] with dy at (i*sH, j*sW) and zeros elsewhere. */
function zeroDilate(dy: T4, sH: number, sW: number): T4 {
  if (sH === 1 && sW === 1) return dy;
  const [n, oh, ow, c] = dy.shape;
  const spread = tf.pad(tf.reshape(dy, [n, oh, 1, ow, 1, c]), [
    [0, 0], [0, 0], [0, sH - 1], [0, 0], [0, sW - 1], [0, 0],
  ]);
  return tf.reshape(spread, [n, oh * sH, ow * sW, c]);
}

/** Row gather: out[i] = x[rows[i]], or zeros where rows[i] < 0 (heap block copies). */
function selectRows(x: tf.Tensor2D, rows: readonly number[]): tf.Tensor2D {
  return tf.engine().makeTensorFromTensorInfo(selectRowsHeap(asWasm(tf.backend()), x, rows)) as tf.Tensor2D;
}

/** Spatially flipped filter: out[kh,kw,...] = f[KH-1-kh, KW-1-kw, ...]. */
function flipSpatial(f: T4): T4 {
  const [kh, kw, a, b] = f.shape;
  const taps = kh * kw;
  const rows = Array.from({ length: taps }, (_, i) => taps - 1 - i);
  return tf.reshape(selectRows(tf.reshape(f, [taps, a * b]), rows), [kh, kw, a, b]);
}

/**
 * Input gradient of y = conv2d(x, w) (NHWC, dilation 1): the correlation of
 * dy with the spatially flipped, in/out-transposed filter.
 */
function convInputGrad(dy: T4, filter: T4, info: ConvInfo): T4 {
  const { inHeight: h, inWidth: w, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const [n, oh, ow] = dy.shape;
  const [, , ci, co] = filter.shape;
  if (kh === 1 && kw === 1 && sh * sw > 1) {
    // Strided pointwise conv: the 1x1 product at low resolution, then spread
    // out to the stride grid (dx[o*s - top] = dy[o] w^T, zeros elsewhere).
    const z = zeroDilate(tf.conv2d(dy, tf.transpose(filter, [0, 1, 3, 2]) as T4, 1, 'valid'), sh, sw);
    const [zc, pads] = cropForPads(z, -top, h + top - oh * sh, -left, w + left - ow * sw);
    return hasPadding(pads) ? tf.pad(zc, pads) : zc;
  }
  if (sh !== sw || sh === 1) {
    // Stride 1 (or, rarely, unequal strides: convolve the zero-dilated dy).
    const wt = flipSpatial(tf.transpose(filter, [0, 1, 3, 2])); // [KH,KW,Co,Ci]
    const dyd = zeroDilate(dy, sh, sw);
    const [dyc, pads] = cropForPads(dyd, kh - 1 - top, h + top - oh * sh, kw - 1 - left, w + left - ow * sw);
    return tf.conv2d(dyc, wt, 1, pads);
  }
  if (ci % 4 === 0) {
    const dx = inputGradByRows(dy, filter, info);
    if (dx) return dx;
  }
  // Sub-pixel decomposition for stride s: writing i + top = q*s + r,
  //   dx[i] = sum_j dy[q - j] * w[j*s + r],  j = 0..J-1, J = ceil(K/s),
  // i.e. for every phase r a stride-1 correlation of dy with a sub-filter.
  // All s*s phases go into the output channels of ONE conv (4x fewer
  // multiply-adds than convolving a zero-dilated dy for 3x3 / stride 2), and
  // a transpose interleaves them back to full resolution.
  const s = sh;
  const jh = Math.ceil(kh / s), jw = Math.ceil(kw / s);
  // Sub-filter bank [JH, JW, Co, s*s*Ci]: channel (rh*s + rw)*Ci + c of tap
  // (a, b) is w[(JH-1-a)*s + rh, (JW-1-b)*s + rw, c, :] (zero past the edge).
  const rows: number[] = [];
  for (let a = 0; a < jh; a++) {
    for (let b = 0; b < jw; b++) {
      for (let rh = 0; rh < s; rh++) {
        for (let rw = 0; rw < s; rw++) {
          const fh = (jh - 1 - a) * s + rh, fw = (jw - 1 - b) * s + rw;
          rows.push(fh < kh && fw < kw ? fh * kw + fw : -1);
        }
      }
    }
  }
  const wt = tf.reshape(tf.transpose(filter, [0, 1, 3, 2]), [kh * kw, co * ci]) as tf.Tensor2D;
  const bank = tf.reshape(selectRows(wt, rows), [jh, jw, s * s, co, ci]);
  const wsub = tf.reshape(tf.transpose(bank, [0, 1, 3, 2, 4]), [jh, jw, co, s * s * ci]) as T4;
  // Phase outputs q = 0..Q-1 cover padded-input rows 0..Q*s-1 ⊇ [top, top+H).
  const qh = Math.ceil((h + top) / s), qw = Math.ceil((w + left) / s);
  const [dyc, pads] = cropForPads(dy, jh - 1, qh - oh, jw - 1, qw - ow);
  const z = tf.conv2d(dyc, wsub, 1, pads); // [N, QH, QW, (rh, rw, Ci)]
  // Interleave: [N*QH, QW, rh, (rw,Ci)] -> [N*QH, rh, QW, (rw,Ci)] = [N, QH*s, QW*s, Ci].
  const zi = tf.transpose(tf.reshape(z, [n * qh, qw, s, s * ci]), [0, 2, 1, 3]);
  const full = tf.reshape(zi, [n, qh * s, qw * s, ci]) as T4;
  return tf.slice(full, [0, top, left, 0], [n, h, w, ci]);
}

/**
 * Strided input gradient as one product and its scatter: cols = dy W^T, [N*OH*OW, KH*KW*Ci] (an
 * XNNPACK product), each row's taps added where the forward conv read them (rowsToImageHeap).
 * Every multiply-add is needed, where the sub-pixel decomposition below computes 16 taps for a
 * 3x3 stride-2 kernel's 9 (measured on ResNet-18's three strided 3x3 convs, batch 64, 2 threads:
 * 72-84 ms each by sub-pixels, 37-44 ms here). Null without SIMD kernels.
 */
function inputGradByRows(dy: T4, filter: T4, info: ConvInfo): T4 | null {
  const [kh, kw, ci, co] = filter.shape;
  const [n, oh, ow] = dy.shape;
  const wt = tf.transpose(tf.reshape(filter, [kh * kw * ci, co]));
  const cols = tf.matMul(tf.reshape(dy, [n * oh * ow, co]), wt);
  const dx = rowsToImageHeap(asWasm(tf.backend()), cols, info);
  return dx && (tf.engine().makeTensorFromTensorInfo(dx) as T4);
}

/**
 * Weight gradient of a depthwise conv (filter [KH,KW,C,M], NHWC):
 *   dw[kh,kw,c,m] = sum_{n,oh,ow} xpad[n, oh*s + kh*d, ow*s + kw*d, c] * dy[n,oh,ow,c*M+m]
 * computed as ONE depthwise conv over a [1,H,W,N*C*M] image with dy^T as the
 * (stride-dilated) filter, then a sum over N. (Measured faster on wasm than
 * per-tap products + reductions or an im2col batched matMul.)
 */
function depthwiseFilterGrad(x: T4, dy: T4, filterShape: Shape4, info: ConvInfo): T4 {
  const [n, h, w, c] = x.shape;
  const [kh, kw, , m] = filterShape;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;
  const bottom = (oh - 1) * sh + (kh - 1) * dh + 1 - h - top;
  const right = (ow - 1) * sw + (kw - 1) * dw + 1 - w - left;
  let xm: T4 = x;
  if (m > 1) xm = tf.reshape(tf.tile(tf.reshape(x, [n, h, w, c, 1]), [1, 1, 1, 1, m]), [n, h, w, c * m]);
  const [xc, pads] = cropForPads(xm, top, bottom, left, right);
  const [, hc, wc] = xc.shape;
  const cm = c * m;
  const xt = tf.reshape(tf.transpose(xc, [1, 2, 0, 3]), [1, hc, wc, n * cm]) as T4;
  const dyt = tf.reshape(tf.transpose(dy, [1, 2, 0, 3]), [oh, ow, n * cm, 1]) as T4;
  // Output position k reads input k*d + o*s: stride d, dilation s (one of
  // them is 1, as the forward op requires).
  const r = tf.depthwiseConv2d(xt, dyt, [dh, dw], pads, 'NHWC', [sh, sw]); // [1,KH,KW,N*CM]
  return tf.reshape(tf.sum(tf.reshape(r, [kh * kw, n, cm]), 1), [kh, kw, c, m]);
}

/**
 * Input gradient of a depthwise conv: a depthwise conv of the zero-dilated dy
 * with the spatially flipped filter (summed over the channel multiplier).
 */
function depthwiseInputGrad(dy: T4, filter: T4, info: ConvInfo): T4 {
  const { inHeight: h, inWidth: w, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { effectiveFilterHeight: ekh, effectiveFilterWidth: ekw } = info;
  const { top, left } = info.padInfo;
  const [n, oh, ow, cm] = dy.shape;
  const [kh, kw, c, m] = filter.shape;
  const wf = tf.reshape(flipSpatial(filter), [kh, kw, cm, 1]) as T4;
  const dyd = zeroDilate(dy, sh, sw);
  const [dyc, pads] = cropForPads(dyd, ekh - 1 - top, h + top - oh * sh, ekw - 1 - left, w + left - ow * sw);
  const z = tf.depthwiseConv2d(dyc, wf, 1, pads, 'NHWC', [dh, dw]); // [N,H,W,C*M]
  return m === 1 ? z : (tf.sum(tf.reshape(z, [n, h, w, c, m]), 4) as T4);
}

// ---------------------------------------------------------------- kernels

const conv2DBackpropFilterKernel: KernelFunc = ({ inputs, attrs, backend }) => {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
  const fmt = backend_util.convertConv2DDataFormat(dataFormat);
  const wasm = asWasm(backend);
  if (fmt === 'channelsFirst') {
    // Rare (our models are NHWC): transposed copies, then the NHWC kernel.
    return tf.tidy(() => {
      const x = nchwToNhwc(as4(inputs.x, 'x')), dy = nchwToNhwc(as4(inputs.dy, 'dy'));
      const info = backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
      return tf.engine().makeTensorFromTensorInfo(convFilterGrad(wasm, stockKernel(BatchMatMul), stockKernel(Add), x, dy, info, ourProductKernels(wasm)?.gemm ?? null));
    });
  }
  const x = inputs.x as TensorInfo, dy = inputs.dy as TensorInfo;
  const info = backend_util.computeConv2DInfo(
    x.shape as Shape4, filterShape, strides, 1, pad, dimRoundingMode, false, fmt);
  const winograd = winogradChoice(info, filterShape[2], filterShape[3]);
  const viaWinograd = winograd ? convFilterGradWinograd(wasm, x, dy, info, winograd) : null;
  if (viaWinograd) return viaWinograd;
  return convFilterGrad(wasm, stockKernel(BatchMatMul), stockKernel(Add), x, dy, info, ourProductKernels(wasm)?.gemm ?? null);
};

const conv2DBackpropInputKernel: KernelFunc = ({ inputs, attrs }) => {
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as Conv2DBackpropInputAttrs;
  return tf.tidy(() => {
    let dy = as4(inputs.dy, 'dy');
    const filter = as4(inputs.filter, 'filter');
    const fmt = backend_util.convertConv2DDataFormat(dataFormat);
    const info = backend_util.computeConv2DInfo(
      inputShape, filter.shape, strides, 1, pad, dimRoundingMode, false, fmt);
    if (fmt === 'channelsFirst') dy = nchwToNhwc(dy);
    const dx = convInputGrad(dy, filter, info);
    return fmt === 'channelsFirst' ? nhwcToNchw(dx) : dx;
  });
};

const depthwiseBackpropFilterKernel: KernelFunc = ({ inputs, attrs }) => {
  const { strides, dilations, pad, dimRoundingMode, filterShape } =
    attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
  return tf.tidy(() => {
    const x = as4(inputs.x, 'x'), dy = as4(inputs.dy, 'dy');
    const info = backend_util.computeConv2DInfo(
      x.shape, filterShape, strides, dilations, pad, dimRoundingMode, true);
    return depthwiseFilterGrad(x, dy, filterShape, info);
  });
};

const depthwiseBackpropInputKernel: KernelFunc = ({ inputs, attrs }) => {
  const { strides, dilations, pad, dimRoundingMode, inputShape } =
    attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
  return tf.tidy(() => {
    const dy = as4(inputs.dy, 'dy'), filter = as4(inputs.filter, 'filter');
    const info = backend_util.computeConv2DInfo(
      inputShape, filter.shape, strides, dilations, pad, dimRoundingMode, true);
    return depthwiseInputGrad(dy, filter, info);
  });
};

const maxPoolGradKernel: KernelFunc = ({ inputs, attrs, backend }) => {
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as MaxPoolGradAttrs;
  const dy = inputs.dy as TensorInfo, x = inputs.input as TensorInfo;
  if (dy == null || x == null) throw new Error('wasm training kernel: MaxPoolGrad needs dy and input');
  const info = backend_util.computePool2DInfo(x.shape as Shape4, filterSize, strides, 1, pad, dimRoundingMode);
  return maxPoolBackprop(asWasm(backend), dy, x, info);
};

/**
 * Conv2D wrapper: 3x3 stride-1 convs as Winograd convs where winogradChoice picks one (winograd.ts),
 * inputs with few channels as im2col + GEMM (see convFewChannels); the rest stock.
 */
function makeConv2DKernel(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { strides, pad, dataFormat, dilations, dimRoundingMode } = args.attrs as unknown as Conv2DAttrs;
    const x = args.inputs.x as TensorInfo, filter = args.inputs.filter as TensorInfo;
    if (!x || !filter || x.shape.length !== 4 || backend_util.convertConv2DDataFormat(dataFormat) !== 'channelsLast') return stock(args);
    const info = backend_util.computeConv2DInfo(x.shape as Shape4, filter.shape as Shape4, strides, dilations, pad, dimRoundingMode, false, 'channelsLast');
    const winograd = winogradChoice(info, x.shape[3], filter.shape[3]);
    const viaWinograd = winograd ? convWinograd(asWasm(args.backend), stockKernel(BatchMatMul), x, filter, info, winograd) : null;
    if (viaWinograd) return viaWinograd;
    return convFewChannels(asWasm(args.backend), stockKernel(BatchMatMul), x, filter, info) ?? stock(args);
  };
}

/** Transpose wrapper: swaps of the last two axes on our wasm kernel (see transposeLastTwo). */
function makeTransposeKernel(stock: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const { perm } = args.attrs as unknown as TransposeAttrs;
    if (!x || x.shape.some((d) => d === 0)) return stock(args);
    return transposeLastTwo(asWasm(args.backend), x, [...perm]) ?? stock(args);
  };
}

/** Sum and Mean over non-innermost axes in one pass (see reduceOuter); the rest to the stock kernel. */
function makeReduceKernel(stock: KernelFunc, mean: boolean): KernelFunc {
  return (args) => {
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[] | null; keepDims: boolean };
    const x = args.inputs.x as TensorInfo;
    if (axis == null || x == null) return stock(args); // all axes: innermost
    const axes = Array.isArray(axis) ? axis : [axis];
    return reduceOuter(asWasm(args.backend), stockKernel(Add), x, axes, keepDims, mean) ?? stock(args);
  };
}

function lastTwoSwapped(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

/**
 * BatchMatMul wrapper: transposed products (used by every dense gradient)
 * are rewritten as plain products plus explicit transposes, choosing the
 * variant that moves the fewest elements:
 *   A B^T = (B A^T)^T,  A^T B = (B^T A)^T,  A^T B^T = (B A)^T.
 * The plain product re-enters this kernel with no transposes and goes to the
 * stock wasm implementation, or to our GEMM (see fewRowsProduct).
 */
function makeBatchMatMulKernel(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
    const { a: ai, b: bi } = args.inputs;
    const ours = fewRowsProduct(args);
    if (ours) return ours;
    if ((!transposeA && !transposeB) || !ai || !bi || ai.dtype !== 'float32' || bi.dtype !== 'float32' ||
      ai.shape.some((d) => d === 0) || bi.shape.some((d) => d === 0)) return stock(args);
    return tf.tidy(() => {
      const a = asTensor(ai, 'a'), b = asTensor(bi, 'b');
      const t = (x: tf.Tensor) => tf.transpose(x, lastTwoSwapped(x.rank));
      const aRows = a.shape[a.rank - (transposeA ? 1 : 2)];
      const bCols = b.shape[b.rank - (transposeB ? 2 : 1)];
      const outSize = (Math.max(a.size / (a.shape[a.rank - 1] * a.shape[a.rank - 2]),
        b.size / (b.shape[b.rank - 1] * b.shape[b.rank - 2]))) * aRows * bCols;
      if (transposeA && transposeB) {
        return outSize <= a.size + b.size ? t(tf.matMul(b, a)) : tf.matMul(t(a), t(b));
      }
      if (transposeB) {
        return b.size <= a.size + outSize ? tf.matMul(a, t(b)) : t(tf.matMul(b, t(a)));
      }
      return a.size <= b.size + outSize ? tf.matMul(t(a), b) : t(tf.matMul(t(b), a));
    });
  };
}

/** Products with up to this many rows go to our kernels (see fewRowsProduct). */
const FEW_ROWS = 16;
/** A B^T with few rows on both sides goes to rowDots from this reduction length. */
const LONG_REDUCTION = 1024;

/**
 * A single (unbatched) product with few rows on our kernels (wasm-gemm.ts, every thread); null
 * where none applies. Why: XNNPACK packs the right operand anew on every call, which dominates a
 * product with few rows: the WAS transform of every 3x3 kernel is a [9 x 9] x [9 x Ci*Co]
 * product (nn/conv.ts) and its kernel gradient another, on our GEMM (B's columns a multiple of
 * 8; A B or A^T B); the gradient of its [9 x 9] matrix is A B^T of two [9 x Ci*Co], on rowDots.
 */
function fewRowsProduct({ inputs, attrs, backend }: Parameters<KernelFunc>[0]): TensorInfo | null {
  const { transposeA, transposeB } = attrs as unknown as BatchMatMulAttrs;
  const a = inputs.a as TensorInfo, b = inputs.b as TensorInfo;
  if (!a || !b || (transposeA && transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const single = (x: TensorInfo) => x.shape.length >= 2 && x.shape.slice(0, -2).every((d) => d === 1);
  if (!single(a) || !single(b)) return null;
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [m, k, n] = [transposeA ? ac : ar, transposeA ? ar : ac, transposeB ? br : bc];
  if ((transposeB ? bc : br) !== k || m > FEW_ROWS || m === 0 || k === 0 || n === 0) return null;
  const wasm = asWasm(backend);
  const rank = Math.max(a.shape.length, b.shape.length);
  const outShape = [...new Array<number>(rank - 2).fill(1), m, n];
  const kernels = ourProductKernels(wasm);
  if (!kernels) return null;
  if (transposeB) return n <= FEW_ROWS && k % 4 === 0 && k >= LONG_REDUCTION ? rowDotsProduct(wasm, kernels, a, b, m, n, k, outShape) : null;
  if (n % 8 !== 0) return null;
  const out = wasm.makeOutput(outShape, 'float32');
  kernels.gemm(offsetOf(wasm, a), offsetOf(wasm, b), offsetOf(wasm, out), { m, k, n, batch: 1, strideA: 0, strideB: 0, strideC: 0, transposeA });
  return out;
}

/** C = A B^T (A [m x k], B [n x k]) on rowDots: each thread's f32x4 partial sums, then summed here. */
function rowDotsProduct(wasm: WasmBackend, kernels: WinogradKernels, a: TensorInfo, b: TensorInfo, m: number, n: number, k: number, outShape: number[]): TensorInfo {
  const partials = wasm.makeOutput([kernels.threads * m * n * 4], 'float32');
  try {
    f32(wasm, partials).fill(0);
    kernels.rowDots(offsetOf(wasm, a), offsetOf(wasm, b), offsetOf(wasm, partials), m, n, k);
    const out = wasm.makeOutput(outShape, 'float32');
    const [p, c] = [f32(wasm, partials), f32(wasm, out)];
    for (let e = 0; e < m * n; e++) {
      let sum = 0;
      for (let t = 0; t < kernels.threads; t++) for (let lane = 0; lane < 4; lane++) sum += p[(t * m * n + e) * 4 + lane];
      c[e] = sum;
    }
    return out;
  } finally {
    wasm.disposeData(partials.dataId);
  }
}

/**
 * Cast wrapper: a cast to the dtype the tensor already has shares its buffer (identityKernel); the
 * stock Cast copies it. Every Multiply's gradient casts its other input to float32 (the ReLU
 * gradient's step, the WAS kernel T(W) in alpha's gradient): a copy of an activation each.
 */
function makeCastKernel(stock: KernelFunc): KernelFunc {
  return (args) => (args.inputs.x?.dtype === (args.attrs as unknown as CastAttrs).dtype ? identityKernel(args) : stock(args));
}

/** Slice wrapper: slices that are not one contiguous block as block copies (see sliceHeap). */
function makeSliceKernel(stock: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const { begin, size } = args.attrs as unknown as SliceAttrs;
    if (!x) return stock(args);
    const [b, e] = slice_util.parseSliceParams(x, begin, size);
    if (slice_util.isSliceContinous(x.shape, b, e)) return stock(args);
    return sliceHeap(asWasm(args.backend), x, b, e) ?? stock(args);
  };
}

/** XNNPACK's binary ops broadcast up to this rank. */
const MAX_BROADCAST_RANK = 6;

/**
 * Tile wrapper: the stock wasm Tile is a generic per-element loop (~13x slower
 * than a broadcast; it sits in every BatchNorm backward pass, which tiles
 * 1/sqrt(var) and the scale up to the activation shape). Tile is rewritten
 * as x viewed as [.., 1, d_i, ..] times ones [.., r_i, 1, ..] (exact: x * 1),
 * then a reshape. Other dtypes and shapes needing > 6 dims go to the stock kernel.
 */
function makeTileKernel(stock: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs.x;
    const { reps } = args.attrs as unknown as TileAttrs;
    if (!x || (x.dtype !== 'float32' && x.dtype !== 'int32') || reps.length !== x.shape.length) return stock(args);
    const xView: number[] = [], onesShape: number[] = [], outShape: number[] = [];
    x.shape.forEach((d, i) => {
      const r = reps[i];
      outShape.push(d * r);
      if (r === 1) {
        xView.push(d);
        onesShape.push(1);
      } else if (d === 1) {
        xView.push(1);
        onesShape.push(r);
      } else {
        xView.push(1, d);
        onesShape.push(r, 1);
      }
    });
    if (xView.length > MAX_BROADCAST_RANK) return stock(args);
    return tf.tidy(() => {
      const xt = asTensor(x, 'x');
      return tf.reshape(tf.mul(tf.reshape(xt, xView), tf.ones(onesShape, xt.dtype)), outShape);
    });
  };
}

/** Kernel functions installed by this module, to keep registration idempotent. */
const ours = new WeakSet<KernelFunc>();
/** The stock wasm kernels our wrappers replaced (our kernels call some of them directly). */
const stockKernels = new Map<string, KernelFunc>();

function stockKernel(name: string): KernelFunc {
  const k = stockKernels.get(name) ?? tf.getKernel(name, BACKEND)?.kernelFunc;
  if (!k) throw new Error(`wasm training kernel: no stock ${name} kernel`);
  return k;
}

function install(config: KernelConfig): void {
  const existing = tf.getKernel(config.kernelName, config.backendName);
  if (existing && ours.has(existing.kernelFunc)) return;
  if (existing) tf.unregisterKernel(config.kernelName, config.backendName);
  ours.add(config.kernelFunc);
  tf.registerKernel(config);
}

/**
 * Registers (for backend 'wasm') the kernels CNN training needs that the
 * stock wasm backend lacks or runs pathologically slowly. Idempotent.
 */
export function registerWasmTrainingKernels(): void {
  // Relaxed SIMD must be on before our kernels compile (wasm-fma.ts); the log line says which.
  winogradTuning.fma = enableRelaxedSimd().on;
  const simple: [string, KernelFunc][] = [
    [Conv2DBackpropFilter, conv2DBackpropFilterKernel],
    [Conv2DBackpropInput, conv2DBackpropInputKernel],
    [DepthwiseConv2dNativeBackpropFilter, depthwiseBackpropFilterKernel],
    [DepthwiseConv2dNativeBackpropInput, depthwiseBackpropInputKernel],
    [MaxPoolGrad, maxPoolGradKernel],
    [Identity, identityKernel],
    [BATCH_NORM_TRAIN, makeBatchNormTrainKernel(() => stockKernel(Add))],
    [BATCH_NORM_TRAIN_GRAD, makeBatchNormTrainGradKernel(() => stockKernel(Add))],
  ];
  for (const [kernelName, kernelFunc] of simple) install({ kernelName, backendName: BACKEND, kernelFunc });
  registerBatchNormTrainGradient();

  // Wrappers around stock kernels, which they call for the cases they leave
  // alone. They keep the stock setup/dispose hooks: the engine runs the
  // registered config's setupFunc on setBackend, and the stock kernelFunc needs it.
  const wrappers: [string, (stock: KernelFunc) => KernelFunc][] = [
    [BatchMatMul, makeBatchMatMulKernel],
    [Tile, makeTileKernel],
    [Conv2D, makeConv2DKernel],
    [Transpose, makeTransposeKernel],
    [Slice, makeSliceKernel],
    [Cast, makeCastKernel],
    [Sum, (stock) => makeReduceKernel(stock, false)],
    [Mean, (stock) => makeReduceKernel(stock, true)],
  ];
  for (const [kernelName, wrap] of wrappers) {
    const stock = tf.getKernel(kernelName, BACKEND);
    if (!stock || ours.has(stock.kernelFunc)) continue;
    stockKernels.set(kernelName, stock.kernelFunc);
    install({
      kernelName,
      backendName: BACKEND,
      kernelFunc: wrap(stock.kernelFunc),
      setupFunc: stock.setupFunc,
      disposeFunc: stock.disposeFunc,
    });
  }
}

/** Names of the kernels registered by registerWasmTrainingKernels (for logs/tests). */
export const WASM_TRAINING_KERNELS: readonly string[] = [
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  MaxPoolGrad,
  Identity,
  BATCH_NORM_TRAIN,
  BATCH_NORM_TRAIN_GRAD,
  BatchMatMul,
  Tile,
  Sum,
  Mean,
  Conv2D,
  Transpose,
  Slice,
  Cast,
];
