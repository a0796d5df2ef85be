// Kernels we supply on the webgpu backend, where the stock one differs from the cpu backend.
//
// MaxPoolGrad: where several taps of a window hold its maximum (ReLU zeros make such ties common),
// the stock webgpu kernel sends the gradient to the last of them, the cpu backend (and our wasm
// kernel) to the first. Either is a valid subgradient, but the same network then trains on
// different numbers per backend: measured on GoogLeNet, a whole train step's gradients drifted
// 7% from cpu's. Ours takes the first, as a composition of strided slices: for each tap in
// row-major order, the windows whose maximum it holds and no earlier tap did take dy there.
// test/unit/webgpu-grads.test.ts checks it against cpu, ties included. Only rank-4 ops: the stock
// webgpu Pad of a 6-D tensor emits invalid WGSL ("cannot index type 'vec6'") and computes garbage.

import * as tf from '@tensorflow/tfjs';
import { backend_util, MaxPoolGrad, type KernelFunc, type MaxPoolGradAttrs, type TensorInfo } from '@tensorflow/tfjs';

type T4 = tf.Tensor4D;
type Shape4 = [number, number, number, number];
type PoolInfo = ReturnType<typeof backend_util.computePool2DInfo>;

const BACKEND = 'webgpu';

/** dy [N,OH,OW,C] -> [N,OH*sH,OW*sW,C] with dy at (i*sH, j*sW) and zeros elsewhere, in rank-4 pads. */
function spreadByStride(dy: T4, sH: number, sW: number): T4 {
  const [n, oh, ow, c] = dy.shape;
  const rows: T4 = sH === 1 ? dy : tf.reshape(tf.pad(tf.reshape(dy, [n * oh, 1, ow, c]), [[0, 0], [0, sH - 1], [0, 0], [0, 0]]), [n, oh * sH, ow, c]);
  if (sW === 1) return rows;
  return tf.reshape(tf.pad(tf.reshape(rows, [n * oh * sH, ow, 1, c]), [[0, 0], [0, 0], [0, sW - 1], [0, 0]]), [n, oh * sH, ow * sW, c]);
}

/** dx of y = maxPool(x): dy at the first tap of each window that holds the window's maximum. */
export function firstMaxPoolGrad(dy: T4, x: T4, info: PoolInfo): T4 {
  const [n, h, w, c] = x.shape;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;
  // Padding never wins a window: -Infinity, as the forward pass treats it.
  const ph = Math.max(h + top, (oh - 1) * sh + kh), pw = Math.max(w + left, (ow - 1) * sw + kw);
  const padded = tf.pad(x, [[0, 0], [top, ph - h - top], [left, pw - w - left], [0, 0]], -Infinity);
  const tap = (i: number, j: number) => tf.stridedSlice(padded, [0, i, j, 0], [n, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, c], [1, sh, sw, 1]) as T4;
  const taps = Array.from({ length: kh * kw }, (_, t) => tap(Math.floor(t / kw), t % kw));
  const max = taps.reduce((a, b) => tf.maximum(a, b));
  let taken = tf.zeros(max.shape, 'bool');
  let dxPadded = tf.zeros([n, ph, pw, c]) as T4;
  taps.forEach((values, t) => {
    const first = tf.logicalAnd(tf.equal(values, max), tf.logicalNot(taken));
    taken = tf.logicalOr(taken, first);
    const spread = spreadByStride(tf.where(first, dy, tf.zerosLike(dy)), sh, sw);
    const [i, j] = [Math.floor(t / kw), t % kw];
    dxPadded = tf.add(dxPadded, tf.pad(spread, [[0, 0], [i, ph - i - oh * sh], [j, pw - j - ow * sw], [0, 0]]));
  });
  return tf.slice(dxPadded, [0, top, left, 0], [n, h, w, c]);
}

const maxPoolGradKernel: KernelFunc = ({ inputs, attrs }) => {
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as MaxPoolGradAttrs;
  const dy = inputs.dy as TensorInfo | undefined, x = inputs.input as TensorInfo | undefined;
  if (dy == null || x == null) throw new Error('webgpu training kernel: MaxPoolGrad needs dy and input');
  const info = backend_util.computePool2DInfo(x.shape as Shape4, filterSize, strides, 1, pad, dimRoundingMode);
  return tf.tidy(() => firstMaxPoolGrad(wrap(dy), wrap(x), info));
};

function wrap(info: TensorInfo): T4 {
  return (info instanceof tf.Tensor ? info : tf.engine().makeTensorFromTensorInfo(info)) as T4;
}

/** Registers our kernels for 'webgpu' (replacing the stock ones). Idempotent. */
export function registerWebgpuTrainingKernels(): void {
  if (tf.getKernel(MaxPoolGrad, BACKEND)?.kernelFunc === maxPoolGradKernel) return;
  if (tf.getKernel(MaxPoolGrad, BACKEND)) tf.unregisterKernel(MaxPoolGrad, BACKEND);
  tf.registerKernel({ kernelName: MaxPoolGrad, backendName: BACKEND, kernelFunc: maxPoolGradKernel });
}
