// Reading tensors back: always asynchronously, because a GPU backend (webgpu) has no synchronous
// readback in Node (tfjs's readSync there needs an OffscreenCanvas). On wasm and cpu the data is
// already in memory, and awaiting it costs a microtask. A read that fails because the GPU device
// was lost says so (backend/device-faults.ts), rather than with the backend's bare rejection.

import type * as tf from '@tensorflow/tfjs';
import { deviceFaultOr } from '../backend/device-faults';

/** The values of `t`, as the backend holds them (a view that a later read may invalidate). */
export async function readValues(t: tf.Tensor): Promise<tf.TypedArray> {
  try {
    return (await t.data()) as tf.TypedArray;
  } catch (error) {
    throw await deviceFaultOr(error);
  }
}

/** The first value of `t` (a scalar, or a one-element tensor). */
export async function readScalar(t: tf.Tensor): Promise<number> {
  return (await readValues(t))[0]!;
}

/** A copy of `t`'s values as float32. */
export async function readFloats(t: tf.Tensor): Promise<Float32Array> {
  return Float32Array.from(await readValues(t));
}
