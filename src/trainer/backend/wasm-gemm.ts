// A batched matrix product of our own in wasm SIMD, with fused multiply-adds where the runtime
// has relaxed SIMD (wasm-fma.ts): for the Winograd convs' element-wise products (winograd.ts).
//
// Why: XNNPACK's wasm GEMM kernels issue a multiply and an add per lane; the FMA ceiling of the
// machines measured is about twice the plain one (bench/ceiling.ts), and the Winograd products
// are ~75% of a Winograd conv's time.
//
// What: C_e = A_e B_e for e < batch, all row-major f32: A_e [M x K], B_e [K x N], C_e [M x N],
// N % 8 == 0; rows [m0, m1) only, so that the threads of wasm-pool.ts split the rows. Blocked
// for the caches: 64 rows of A at a time (64 x K floats in L2) against each 8-column panel of
// B (K x 8 floats in L1), in 6 x 8 register tiles (12 f32x4 accumulators + 2 of B + 1 of A: V8
// keeps wasm values in the 16 xmm registers on x64, so bigger tiles spill; a remainder of 1-5
// rows in 1 x 8 tiles).

import { assemble, forLoop, I32, op, V128, wasmApi, type Func, type WasmMemory } from './wasm-assembler';
import { kernelPool } from './wasm-pool';

const ROW_BLOCK = 64;
/** Register tile: rows x (4 * COLS) floats. */
const ROWS = 6, COLS = 2;

/** The loads and multiply-adds of one k step of a rows x 8 tile, then the pointer steps. */
function kStep(rows: number, fma: boolean, p: { pa: number[]; pb: number; ldb: number; bv: number[]; av: number; acc: number[][] }): number[] {
  const code: number[] = [];
  p.bv.forEach((b, c) => code.push(...op.get(p.pb), ...op.vLoadAt(16 * c), ...op.set(b)));
  for (let r = 0; r < rows; r++) {
    code.push(...op.get(p.pa[r]), ...op.vLoad32Splat, ...op.set(p.av));
    for (let c = 0; c < COLS; c++) {
      const acc = p.acc[r][c];
      if (fma) code.push(...op.get(p.av), ...op.get(p.bv[c]), ...op.get(acc), ...op.f32x4RelaxedMadd, ...op.set(acc));
      else code.push(...op.get(p.av), ...op.get(p.bv[c]), ...op.f32x4Mul, ...op.get(acc), ...op.f32x4Add, ...op.set(acc));
    }
    code.push(...op.get(p.pa[r]), ...op.i32(4), ...op.i32Add, ...op.set(p.pa[r]));
  }
  code.push(...op.get(p.pb), ...op.get(p.ldb), ...op.i32Add, ...op.set(p.pb));
  return code;
}

/**
 * gemm(a, b, c, m0, m1, k, n4 (N*4 bytes), batch, strideA, strideB, strideC (bytes per e)).
 * Locals are laid out by hand: params 0-10, then the i32s, then the v128s.
 */
function gemm(fma: boolean): Func {
  const [A, B, C, M0, M1, K, N4, BATCH, SA, SB, SC] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const [E, RB, REND, J, I, KK, PB, LDA, AE, BE, CE, PC] = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22];
  const pa = Array.from({ length: ROWS }, (_, r) => 23 + r);
  const i32Count = 12 + ROWS;
  const bv = Array.from({ length: COLS }, (_, c) => 11 + i32Count + c), av = 11 + i32Count + COLS;
  const acc = Array.from({ length: ROWS }, (_, r) => Array.from({ length: COLS }, (_, c) => av + 1 + COLS * r + c));
  const v128Count = COLS + 1 + ROWS * COLS;
  const get = op.get;
  const tile = (rows: number): number[] => [
    // pa[r] = aE + (i + r) * lda; pb = bE + j
    ...Array.from({ length: rows }, (_, r) => [...get(AE), ...get(I), ...op.i32(r), ...op.i32Add, ...get(LDA), ...op.i32Mul, ...op.i32Add, ...op.set(pa[r])]).flat(),
    ...get(BE), ...get(J), ...op.i32Add, ...op.set(PB),
    ...acc.slice(0, rows).flat().flatMap((v) => [...op.vZero, ...op.set(v)]),
    ...forLoop(KK, op.i32(0), get(K), op.i32(1), kStep(rows, fma, { pa, pb: PB, ldb: N4, bv, av, acc })),
    // c row i + r, columns j..j+15
    ...Array.from({ length: rows }, (_, r) => [
      ...get(CE), ...get(I), ...op.i32(r), ...op.i32Add, ...get(N4), ...op.i32Mul, ...op.i32Add, ...get(J), ...op.i32Add, ...op.set(PC),
      ...acc[r].flatMap((v, c) => [...get(PC), ...get(v), ...op.vStoreAt(16 * c)]),
    ]).flat(),
  ];
  const body = [
    ...get(K), ...op.i32(4), ...op.i32Mul, ...op.set(LDA),
    ...forLoop(E, op.i32(0), get(BATCH), op.i32(1), [
      ...get(A), ...get(E), ...get(SA), ...op.i32Mul, ...op.i32Add, ...op.set(AE),
      ...get(B), ...get(E), ...get(SB), ...op.i32Mul, ...op.i32Add, ...op.set(BE),
      ...get(C), ...get(E), ...get(SC), ...op.i32Mul, ...op.i32Add, ...op.set(CE),
      ...forLoop(RB, get(M0), get(M1), op.i32(ROW_BLOCK), [
        // rEnd = min(rb + ROW_BLOCK, m1)
        ...get(RB), ...op.i32(ROW_BLOCK), ...op.i32Add, ...get(M1), ...get(RB), ...op.i32(ROW_BLOCK), ...op.i32Add, ...get(M1), ...op.i32LtS, ...op.select, ...op.set(REND),
        ...forLoop(J, op.i32(0), get(N4), op.i32(16 * COLS), [
          ...get(RB), ...op.set(I),
          // full tiles while i + ROWS <= rEnd, then single rows
          ...op.block, ...op.loop,
          ...get(I), ...op.i32(ROWS), ...op.i32Add, ...get(REND), ...op.i32GtS, ...op.brIf(1),
          ...tile(ROWS),
          ...get(I), ...op.i32(ROWS), ...op.i32Add, ...op.set(I),
          ...op.br(0),
          ...op.end, ...op.end,
          ...forLoop(I, null, get(REND), op.i32(1), tile(1)),
        ]),
      ]),
    ]),
  ];
  return { name: 'gemm', params: 11, locals: [...new Array<number>(i32Count).fill(I32), ...new Array<number>(v128Count).fill(V128)], body };
}

/** The module of the product (imports the backend's memory; `shared` for the threaded build's). */
export function gemmModule(fma: boolean, shared: boolean): Uint8Array {
  return assemble([gemm(fma)], shared);
}

/** Arguments of one call: see gemm above (byte offsets; n % 8 == 0). */
export function gemmArgs(a: number, b: number, c: number, m0: number, m1: number, k: number, n: number, batch: number,
  strideA: number, strideB: number, strideC: number): number[] {
  return [a, b, c, m0, m1, k, 4 * n, batch, strideA, strideB, strideC];
}

/** C_e = A_e B_e for e < batch (byte offsets; strides in bytes; n % 8 == 0), on every thread of the pool. */
export type BatchedGemm = (a: number, b: number, c: number, m: number, k: number, n: number, batch: number,
  strideA: number, strideB: number, strideC: number) => void;

const runners = new Map<string, WeakMap<WasmMemory, BatchedGemm | null>>();

/**
 * The product on `memory` with `threads` threads (a pool of workers where the memory is shared,
 * else the calling thread alone), FMA if `fma`; null where the module does not compile.
 */
export function batchedGemm(memory: WasmMemory, fma: boolean, threads: number): BatchedGemm | null {
  const key = `${fma}/${threads}`;
  const cache = runners.get(key) ?? new WeakMap<WasmMemory, BatchedGemm | null>();
  runners.set(key, cache);
  if (cache.has(memory)) return cache.get(memory)!;
  let runner: BatchedGemm | null = null;
  try {
    if (!wasmApi) throw new Error('no WebAssembly');
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const bytes = gemmModule(fma, shared);
    const pool = kernelPool(memory, bytes, threads);
    const own = (new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } }).exports as { gemm: (...args: number[]) => void }).gemm;
    runner = (a, b, c, m, k, n, batch, sa, sb, sc) => {
      if (!pool) return own(...gemmArgs(a, b, c, 0, m, k, n, batch, sa, sb, sc));
      // Rows in equal shares, whole register tiles each.
      const share = Math.ceil(m / pool.threads / ROWS) * ROWS;
      const args = Array.from({ length: pool.threads }, (_, t) =>
        gemmArgs(a, b, c, Math.min(m, t * share), Math.min(m, (t + 1) * share), k, n, batch, sa, sb, sc));
      pool.run('gemm', args);
    };
  } catch {
    runner = null; // no SIMD, or no relaxed SIMD for fma
  }
  cache.set(memory, runner);
  return runner;
}
