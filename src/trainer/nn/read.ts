// Reading tensors back: always asynchronously, because a GPU backend (webgpu) has no synchronous
// readback in Node (tfjs's readSync there needs an OffscreenCanvas). On wasm and cpu the data is
// already in memory, and awaiting it costs a microtask.

import type * as tf from '@tensorflow/tfjs';

/** The first value of `t` (a scalar, or a one-element tensor). */
export async function readScalar(t: tf.Tensor): Promise<number> {
  return (await t.data())[0]!;
}

/** A copy of `t`'s values as float32 (a view of a backend's memory could move under a later read). */
export async function readFloats(t: tf.Tensor): Promise<Float32Array> {
  return Float32Array.from((await t.data()) as Float32Array);
}
