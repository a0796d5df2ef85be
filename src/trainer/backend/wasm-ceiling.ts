// The "wasm ceiling": the multiply-add throughput our wasm SIMD code can reach on one core, as a
// microkernel that does nothing else (no loads in its loop), for `npm run bench` to run on every
// core at once (bench/ceiling.ts) and to set each model's achieved multiply-adds per second
// against.
//
// The loop updates 16 independent f32x4 accumulators, acc = acc * a + b, enough chains to hide
// the latency of a multiply followed by an add (or of one FMA) on the CPUs measured. The plain
// variant is the instruction mix of XNNPACK's wasm GEMM kernels and of ours (a multiply and an
// add per lane); the FMA variant uses relaxed SIMD's f32x4.relaxed_madd (wasm-fma.ts).

import { assemble, forLoop, I32, op, V128 } from './wasm-assembler';

/** Accumulators per iteration (f32x4 each). */
const CHAINS = 16;
/** Multiply-adds per loop iteration. */
export const CEILING_MACS_PER_ITERATION = CHAINS * 4;

/**
 * A module exporting peak(iterations, out): the loop above, then the accumulators stored at byte
 * offset `out` (so that the work is not optimised away; 256 bytes). Imports env.memory (1 page).
 */
export function ceilingModule(fma: boolean): Uint8Array {
  const [ITERS, OUT, I, A, B] = [0, 1, 2, 3, 4];
  const acc = Array.from({ length: CHAINS }, (_, j) => 5 + j);
  const step = (v: number) => (fma
    ? [...op.get(v), ...op.get(A), ...op.get(B), ...op.f32x4RelaxedMadd, ...op.set(v)]
    : [...op.get(v), ...op.get(A), ...op.f32x4Mul, ...op.get(B), ...op.f32x4Add, ...op.set(v)]);
  const body = [
    ...op.f32(0.999), ...op.f32x4Splat, ...op.set(A),
    ...op.f32(0.001), ...op.f32x4Splat, ...op.set(B),
    ...acc.flatMap((v, j) => [...op.f32(j / CHAINS), ...op.f32x4Splat, ...op.set(v)]),
    ...forLoop(I, op.i32(0), op.get(ITERS), op.i32(1), acc.flatMap(step)),
    ...acc.flatMap((v, j) => [...op.get(OUT), ...op.i32(16 * j), ...op.i32Add, ...op.get(v), ...op.vStore]),
  ];
  return assemble([{ name: 'peak', params: 2, locals: [I32, V128, V128, ...acc.map(() => V128)], body }], false);
}
