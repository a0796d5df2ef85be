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
 *    backward, ~13x a broadcast multiply).
 *
 * The replacements are compositions of a few large, fast wasm ops (XNNPACK
 * convs/matMuls, transposes, pads, 4D slices, reshapes): no per-element JS
 * loops, transposed matMuls, strided or >4D slices, reverse or gather (all
 * slow generic code on wasm). Filter gradients are ONE convolution with the
 * batch as the reduction axis and dy as the (stride-dilated) filter; input
 * gradients convolve dy with the flipped filter, strided ones via a sub-pixel
 * decomposition. Sizes and padding come from backend_util.computeConv2DInfo /
 * computePool2DInfo with the engine's attrs, as on cpu.
 * test/unit/wasm-kernels.test.ts checks every kernel here against cpu.
 *
 * Call registerWasmTrainingKernels() (idempotent) before training on 'wasm';
 * it may run before tf.setBackend('wasm').
 */
import * as tf from '@tensorflow/tfjs';
// Import the wasm backend here so its stock kernels are registered before we
// override some of them (a later import would silently win otherwise).
import '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  BatchMatMul,
  BatchMatMulAttrs,
  Conv2DBackpropFilter,
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropInput,
  Conv2DBackpropInputAttrs,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropFilterAttrs,
  DepthwiseConv2dNativeBackpropInput,
  DepthwiseConv2dNativeBackpropInputAttrs,
  KernelConfig,
  KernelFunc,
  MaxPoolGrad,
  MaxPoolGradAttrs,
  TensorInfo,
  Tile,
  TileAttrs,
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

/**
 * x[:, o*sH - top, q*sW - left, :] for o < oh, q < ow (zero outside x), as
 * [N, oh, ow, C]. Uses reshape + a contiguous slice: wasm strided slices are
 * a slow generic loop.
 */
function subsample(x: T4, sh: number, sw: number, top: number, left: number, oh: number, ow: number): T4 {
  const [n, h, w, c] = x.shape;
  const [xc, pads] = cropForPads(x, top, oh * sh - h - top, left, ow * sw - w - left);
  const xp = hasPadding(pads) ? tf.pad(xc, pads) : xc; // [N, oh*sh, ow*sw, C]
  if (sh === 1 && sw === 1) return xp;
  const rows = tf.reshape(xp, [n * oh, sh, ow, sw * c]);
  return tf.reshape(tf.slice(rows, [0, 0, 0, 0], [n * oh, 1, ow, c]), [n, oh, ow, c]);
}

/**
 * Row gather as a product with a 0/1 selection matrix: out[i] = x[rows[i]],
 * or zeros where rows[i] < 0. Used on filters only: exact for finite values
 * (a non-finite weight would smear NaN over its column) and several times
 * faster than wasm's reverse/gather kernels.
 */
function selectRows(x: tf.Tensor2D, rows: readonly number[]): tf.Tensor2D {
  const n = x.shape[0];
  const sel = new Float32Array(rows.length * n);
  rows.forEach((r, i) => {
    if (r >= 0) sel[i * n + r] = 1;
  });
  return tf.matMul(tf.tensor2d(sel, [rows.length, n]), x);
}

/** Spatially flipped filter: out[kh,kw,...] = f[KH-1-kh, KW-1-kw, ...]. */
function flipSpatial(f: T4): T4 {
  const [kh, kw, a, b] = f.shape;
  const taps = kh * kw;
  const rows = Array.from({ length: taps }, (_, i) => taps - 1 - i);
  return tf.reshape(selectRows(tf.reshape(f, [taps, a * b]), rows), [kh, kw, a, b]);
}

/**
 * Weight gradient of y = conv2d(x, w) (NHWC, dilation 1):
 *   dw[kh,kw,ci,co] = sum_{n,oh,ow} xpad[n, oh*sH+kh, ow*sW+kw, ci] * dy[n,oh,ow,co]
 * which is itself a convolution: input x^T [Ci,H,W,N] (batch=Ci, channels=N),
 * filter dy^T [OH,OW,N,Co] dilated by the forward stride, output [Ci,KH,KW,Co].
 */
function convFilterGrad(x: T4, dy: T4, info: ConvInfo): T4 {
  const [n, h, w, ci] = x.shape;
  const co = dy.shape[3];
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;
  if (kh === 1 && kw === 1) {
    // Pointwise conv: dw = xs^T dy over the pixels the forward pass read,
    // with an explicit transpose of the narrower operand (transposed matMuls
    // are slow on wasm).
    const m = n * oh * ow;
    const xs = tf.reshape(subsample(x, sh, sw, top, left, oh, ow), [m, ci]);
    const dy2 = tf.reshape(dy, [m, co]);
    const g = ci <= co ? tf.matMul(tf.transpose(xs), dy2) : tf.transpose(tf.matMul(tf.transpose(dy2), xs));
    return tf.reshape(g, [1, 1, ci, co]);
  }
  // Rows/cols of the padded input the forward pass actually read.
  const bottom = (oh - 1) * sh + kh - h - top;
  const right = (ow - 1) * sw + kw - w - left;
  const [xc, pads] = cropForPads(x, top, bottom, left, right);
  const xt = tf.transpose(xc, [3, 1, 2, 0]); // [Ci, H, W, N]
  const dyt = tf.transpose(dy, [1, 2, 0, 3]); // [OH, OW, N, Co]
  const r = tf.conv2d(xt, dyt, 1, pads, 'NHWC', [sh, sw]); // [Ci, KH, KW, Co]
  return tf.transpose(r, [1, 2, 0, 3]);
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

/**
 * Input gradient of maxPool: dy goes to the FIRST maximum of each window in
 * row-major order (the cpu backend's rule; padding never wins). The stock wasm
 * kernel starts its running max at FLT_MIN (the smallest positive float), so
 * windows whose maximum is <= 0 send their gradient nowhere, and it breaks
 * ties towards the last maximum.
 *
 * Per window tap (i, j): mask = (x at that tap == y) and no earlier tap
 * matched; the masked dy is scattered back. Taps are grouped by stride phase
 * (i mod s, j mod s): within a phase they overlap on the low-resolution grid,
 * where shifted copies are summed; the phases are then interleaved.
 */
function maxPoolBackprop(dy: T4, x: T4, y: T4, info: ConvInfo): T4 {
  const [n, h, w, c] = x.shape;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;
  const ah = Math.ceil(kh / sh), aw = Math.ceil(kw / sw); // taps per phase
  const qh = oh + ah - 1, qw = ow + aw - 1; // low-resolution grid of each phase
  // Padded input (padding = -inf, never a maximum) laid out as
  // [N, QH, sh, QW*sw*C]: padded row q*sh + rh.
  const [xc, pads] = cropForPads(x, top, qh * sh - h - top, left, qw * sw - w - left);
  const xp = hasPadding(pads) ? tf.pad(xc, pads, -Infinity) : xc;
  const rows = tf.reshape(xp, [n, qh, sh, qw * sw * c]);
  /** x at tap (a*sh + rh, b*sw + rw) of every window: [N, OH, OW, C] (4D slices only: wasm's 5D+ slice is slow). */
  const tap = (a: number, rh: number, b: number, rw: number): T4 => {
    const r = tf.slice(rows, [0, a, rh, 0], [n, oh, 1, qw * sw * c]);
    const cols = tf.slice(tf.reshape(r, [n * oh, qw, sw, c]), [0, b, rw, 0], [n * oh, ow, 1, c]);
    return tf.reshape(cols, [n, oh, ow, c]);
  };
  // Masked gradients, taps in row-major order so the first maximum wins.
  const grads = new Map<number, T4>();
  let taken: tf.Tensor | null = null;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const eq = tf.equal(tap(Math.floor(i / sh), i % sh, Math.floor(j / sw), j % sw), y);
      const first: tf.Tensor = taken ? tf.logicalAnd(eq, tf.logicalNot(taken)) : eq;
      taken = taken ? tf.logicalOr(taken, eq) : eq;
      grads.set(i * kw + j, tf.mul(dy, tf.cast(first, 'float32')));
    }
  }
  // Per phase: tap (a*sh + rh) puts window o's gradient at grid row o + a.
  const phase = (rh: number, rw: number): T4 => {
    let acc: T4 | null = null;
    for (let a = 0; a * sh + rh < kh; a++) {
      for (let b = 0; b * sw + rw < kw; b++) {
        const g = grads.get((a * sh + rh) * kw + (b * sw + rw)) as T4;
        const placed = ah === 1 && aw === 1 ? g : tf.pad(g, [[0, 0], [a, ah - 1 - a], [b, aw - 1 - b], [0, 0]]);
        acc = acc ? (tf.add(acc, placed) as T4) : placed;
      }
    }
    return acc ?? (tf.zeros([n, qh, qw, c]) as T4);
  };
  let full: T4; // gradient in padded coordinates, [N, QH*sh, QW*sw, C]
  if (sh === 1 && sw === 1) {
    full = phase(0, 0);
  } else {
    const phaseRows: tf.Tensor[] = [];
    for (let rh = 0; rh < sh; rh++) {
      const phaseCols: T4[] = [];
      for (let rw = 0; rw < sw; rw++) phaseCols.push(phase(rh, rw));
      phaseRows.push(tf.stack(phaseCols, 3)); // [N, QH, QW, sw, C]
    }
    full = tf.reshape(tf.stack(phaseRows, 2), [n, qh * sh, qw * sw, c]); // [N, QH, sh, QW, sw, C]
  }
  const [dxc, dxPads] = cropForPads(full, -top, h + top - qh * sh, -left, w + left - qw * sw);
  return hasPadding(dxPads) ? tf.pad(dxc, dxPads) : dxc;
}

// ---------------------------------------------------------------- kernels

const conv2DBackpropFilterKernel: KernelFunc = ({ inputs, attrs }) => {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
  return tf.tidy(() => {
    let x = as4(inputs.x, 'x'), dy = as4(inputs.dy, 'dy');
    const fmt = backend_util.convertConv2DDataFormat(dataFormat);
    const info = backend_util.computeConv2DInfo(
      x.shape, filterShape, strides, 1, pad, dimRoundingMode, false, fmt);
    if (fmt === 'channelsFirst') {
      x = nchwToNhwc(x);
      dy = nchwToNhwc(dy);
    }
    return convFilterGrad(x, dy, info);
  });
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

const maxPoolGradKernel: KernelFunc = ({ inputs, attrs }) => {
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as MaxPoolGradAttrs;
  return tf.tidy(() => {
    const dy = as4(inputs.dy, 'dy'), x = as4(inputs.input, 'input'), y = as4(inputs.output, 'output');
    const info = backend_util.computePool2DInfo(x.shape, filterSize, strides, 1, pad, dimRoundingMode);
    return maxPoolBackprop(dy, x, y, info);
  });
};

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
 * stock wasm implementation.
 */
function makeBatchMatMulKernel(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
    const { a: ai, b: bi } = args.inputs;
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
  const simple: [string, KernelFunc][] = [
    [Conv2DBackpropFilter, conv2DBackpropFilterKernel],
    [Conv2DBackpropInput, conv2DBackpropInputKernel],
    [DepthwiseConv2dNativeBackpropFilter, depthwiseBackpropFilterKernel],
    [DepthwiseConv2dNativeBackpropInput, depthwiseBackpropInputKernel],
    [MaxPoolGrad, maxPoolGradKernel],
  ];
  for (const [kernelName, kernelFunc] of simple) install({ kernelName, backendName: BACKEND, kernelFunc });

  // Wrappers around stock kernels, which they call for the cases they leave
  // alone. They keep the stock setup/dispose hooks: the engine runs the
  // registered config's setupFunc on setBackend, and the stock kernelFunc needs it.
  const wrappers: [string, (stock: KernelFunc) => KernelFunc][] = [
    [BatchMatMul, makeBatchMatMulKernel],
    [Tile, makeTileKernel],
  ];
  for (const [kernelName, wrap] of wrappers) {
    const stock = tf.getKernel(kernelName, BACKEND);
    if (!stock || ours.has(stock.kernelFunc)) continue;
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
  BatchMatMul,
  Tile,
];
