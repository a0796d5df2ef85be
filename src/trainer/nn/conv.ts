// A conv layer whose kernel can be replaced by a shadow weight SW = alpha * T(W) (WAS.md).
// The transform acts on the k x k plane only, as one (k*k) x (k*k) matrix on the reshaped
// kernel, so autodiff gives dL/dW = T^T(alpha dL/dSW) and dL/dalpha = <T(W), dL/dSW> exactly.

import * as tf from '@tensorflow/tfjs';
import { planeMatrix, type KernelTransform } from '../was/transforms';
import type { Initializer } from './initializer';

export type Padding = number | 'same' | 'valid';

export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride?: number;
  padding?: Padding;
  bias?: boolean;
  /** Depthwise conv (one filter per input channel; outChannels must equal inChannels). */
  depthwise?: boolean;
  /** In the model's WAS preset (WAS.md: which layers the reference transforms). */
  wasPreset?: boolean;
  /** 'torch-default' for convs without BatchNorm (LeNet), else kaiming normal fan-out. */
  init?: 'kaiming' | 'torch-default';
}

/** How the convs of one forward pass pick their kernels (the conv part of nn/context.ts). */
export interface ConvPass {
  /**
   * 'shadow': transformed convs use SW = alpha * T(W) with T from `transformFor` (training, DOM);
   * 'plain': they use alpha * W, the identity transform (AOM).
   */
  readonly weights: 'shadow' | 'plain';
  /** The transform of a shadow conv for this call; called once per transformed conv per pass. */
  readonly transformFor: (conv: Conv2d) => KernelTransform;
}

/** What a conv needs of its model's ParamStore (nn/params.ts): its variables, and the list it joins. */
export interface ConvStore {
  param(name: string, shape: number[], init: Initializer): tf.Variable;
  readonly convs: Conv2d[];
}

export class Conv2d {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly k: number;
  readonly stride: number;
  readonly padding: Padding;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly depthwise: boolean;
  readonly wasPreset: boolean;
  /** Set by enableShadow(): the layer's learnable WAS scale. */
  alpha: tf.Variable | null = null;

  constructor(
    private readonly store: ConvStore,
    readonly name: string,
    options: Conv2dOptions,
  ) {
    this.k = options.kernel;
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 'same';
    this.inChannels = options.inChannels;
    this.outChannels = options.outChannels;
    this.depthwise = options.depthwise ?? false;
    this.wasPreset = options.wasPreset ?? false;
    if (this.depthwise && this.inChannels !== this.outChannels)
      throw new Error(`${name}: a depthwise conv needs inChannels === outChannels`);
    const outDim = this.depthwise ? 1 : this.outChannels;
    const fanIn = this.k * this.k * (this.depthwise ? 1 : this.inChannels);
    const fanOut = this.k * this.k * this.outChannels;
    const torchDefault = options.init === 'torch-default';
    this.kernel = store.param(
      `${name}.kernel`,
      [this.k, this.k, this.inChannels, outDim],
      torchDefault ? { kind: 'torch-default', fanIn } : { kind: 'kaiming-normal-out', fanOut },
    );
    this.bias = options.bias
      ? store.param(`${name}.bias`, [this.outChannels], torchDefault ? { kind: 'torch-default', fanIn } : { kind: 'constant', value: 0 })
      : null;
    store.convs.push(this);
  }

  /** Give this layer shadow weights: a learnable alpha, initialised U[0, 1) as in the reference. */
  enableShadow(): void {
    if (this.alpha) return;
    if (this.k < 2) throw new Error(`${this.name}: a ${this.k}x${this.k} conv has no spatial plane to transform`);
    this.alpha = this.store.param(`${this.name}.alpha`, [], { kind: 'uniform', lo: 0, hi: 1 });
  }

  get shadowed(): boolean {
    return this.alpha !== null;
  }

  // Both take any ConvPass, a whole ForwardContext included (the type parameter lets one be
  // written in place without its other fields counting as excess).

  /**
   * The kernel this pass uses: W, alpha * W (plain mode), or alpha * T(W) (shadow mode), computed
   * as (alpha M) W: one pass over the kernel forward and two backward (wasm-kernels.ts), where
   * alpha * (M W) took four more.
   */
  effectiveKernel<Pass extends ConvPass>(ctx: Pass): tf.Tensor4D {
    const w = this.kernel as tf.Tensor4D;
    if (!this.alpha) return w;
    if (ctx.weights === 'plain') return tf.mul(this.alpha, w);
    return transformKernel(w, ctx.transformFor(this), this.alpha);
  }

  apply<Pass extends ConvPass>(x: tf.Tensor4D, ctx: Pass): tf.Tensor4D {
    const w = this.effectiveKernel(ctx);
    const y = this.depthwise
      ? tf.depthwiseConv2d(x, w, this.stride, this.padding)
      : tf.conv2d(x, w, this.stride, this.padding);
    return this.bias ? tf.add(y, this.bias) : y;
  }
}

/**
 * T(W) for a kernel [k, k, cin, cout]: one matrix product with the plane matrix A (x) B; with a
 * scale, alpha T(W) as (alpha (A (x) B)) W (T is linear).
 */
export function transformKernel(w: tf.Tensor4D, t: KernelTransform, scale?: tf.Tensor): tf.Tensor4D {
  const [kh, kw, cin, cout] = w.shape;
  if (kh !== t.k || kw !== t.k) throw new Error(`transform for k=${t.k} applied to a ${kh}x${kw} kernel`);
  const n = kh * kw;
  const plane = tf.tensor2d(planeMatrix(t), [n, n]);
  const m = scale ? tf.mul(scale, plane) : plane;
  return tf.matMul(m, tf.reshape(w, [n, cin * cout])).reshape([kh, kw, cin, cout]);
}
