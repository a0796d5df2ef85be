// A batched matrix product of our own in wasm SIMD, with fused multiply-adds where the runtime
// has relaxed SIMD (wasm-fma.ts): for the Winograd convs' element-wise products (winograd.ts),
// and the products XNNPACK is slow at (few rows: wasm-heap.ts, wasm-kernels.ts).
//
// Why: XNNPACK's wasm GEMM kernels issue a multiply and an add per lane; the FMA ceiling of the
// machines measured is about twice the plain one (bench/ceiling.ts), and the Winograd products
// are ~75% of a Winograd conv's time. XNNPACK also packs its right operand on every call.
//
// What: C_e = A_e B_e for e < batch, all row-major f32: A_e [M x K], B_e [K x N], C_e [M x N],
// N % 8 == 0, or C_e += A_e B_e; rows [m0, m1) and a range of columns only, so that the threads
// of wasm-pool.ts split the rows (or the columns, for few rows). Blocked for the caches: 256
// steps of the reduction at a time, 64 rows of A at a time (64 KB, L2) against each 8-column
// panel of B (8 KB, L1), in 6 x 8 register tiles (12 f32x4 accumulators + 2 of B + 1 of A: V8
// keeps wasm values in the 16 xmm registers on x64, so bigger tiles spill; a remainder of 1-5
// rows in 1 x 8 tiles). Beside it rowDots: A B^T for few rows and a long reduction.

import { forLoop, I32, op, V128, type Func } from './wasm-assembler';

const ROW_BLOCK = 64;
/** Reduction steps per pass over C (A: 64 rows x 256 floats, 64 KB; B's panel: 256 x 8 floats, 8 KB). */
const K_BLOCK = 256;
/** Register tile: rows x (4 * COLS) floats. */
const ROWS = 6, COLS = 2;
/** gemm's parameters (see gemm). */
const PARAMS = 14;
/** Rows of a register tile: split rows between threads in multiples of it. */
export const GEMM_ROWS = ROWS;

/** Reduction steps unrolled in the inner loop: row pointers of A move once per UNROLL steps. */
const UNROLL = 4;

/**
 * The loads and multiply-adds of `count` k steps of a rows x 8 tile, then the pointer steps. A's
 * values are read at constant offsets from its row pointers (one pointer per row; transposed, one
 * for the tile), so the row pointers move once per `count` steps: the unrolled loop issues 12
 * multiply-adds per step with few scalar instructions beside them (measured on the Winograd
 * products of 8x8 256->256 and 32x32 64->64 layers, batch 64, 2 threads: 21-23 GMAC/s with a
 * pointer step per row and k, 28-32 unrolled).
 */
function kSteps(rows: number, fma: boolean, count: number, p: { pa: number[]; pb: number; lda: number; ldb: number; bv: number[]; av: number; acc: number[][]; transA: boolean }): number[] {
  const code: number[] = [];
  for (let u = 0; u < count; u++) {
    p.bv.forEach((b, c) => code.push(...op.get(p.pb), ...op.vLoadAt(16 * c), ...op.set(b)));
    for (let r = 0; r < rows; r++) {
      // A's row i + r at this k: its own pointer, u steps on; transposed, the r-th float of row k of the stored A
      if (p.transA) code.push(...op.get(p.pa[0]), ...op.vLoad32SplatAt(4 * r), ...op.set(p.av));
      else code.push(...op.get(p.pa[r]), ...op.vLoad32SplatAt(4 * u), ...op.set(p.av));
      for (let c = 0; c < COLS; c++) {
        const acc = p.acc[r][c];
        if (fma) code.push(...op.get(p.av), ...op.get(p.bv[c]), ...op.get(acc), ...op.f32x4RelaxedMadd, ...op.set(acc));
        else code.push(...op.get(p.av), ...op.get(p.bv[c]), ...op.f32x4Mul, ...op.get(acc), ...op.f32x4Add, ...op.set(acc));
      }
    }
    if (p.transA) code.push(...op.get(p.pa[0]), ...op.get(p.lda), ...op.i32Add, ...op.set(p.pa[0]));
    code.push(...op.get(p.pb), ...op.get(p.ldb), ...op.i32Add, ...op.set(p.pb));
  }
  if (!p.transA) for (let r = 0; r < rows; r++) code.push(...op.get(p.pa[r]), ...op.i32(4 * count), ...op.i32Add, ...op.set(p.pa[r]));
  return code;
}

/** Local variable indices of gemm (params 0-13, then i32s, then v128s). */
function gemmLocals() {
  const params = { A: 0, B: 1, C: 2, M0: 3, M1: 4, K: 5, N4: 6, BATCH: 7, SA: 8, SB: 9, SC: 10, ACCUM: 11, LDA: 12, NC4: 13 };
  const names = ['E', 'KB', 'KEND', 'KEND4', 'RB', 'REND', 'J', 'I', 'KK', 'PB', 'AE', 'BE', 'CE', 'PC'] as const;
  const i32 = Object.fromEntries(names.map((n, i) => [n, PARAMS + i])) as Record<(typeof names)[number], number>;
  const pa = Array.from({ length: ROWS }, (_, r) => PARAMS + names.length + r);
  const firstV128 = PARAMS + names.length + ROWS;
  const bv = Array.from({ length: COLS }, (_, c) => firstV128 + c), av = firstV128 + COLS;
  const acc = Array.from({ length: ROWS }, (_, r) => Array.from({ length: COLS }, (_, c) => av + 1 + COLS * r + c));
  const types = [...new Array<number>(names.length + ROWS).fill(I32), ...new Array<number>(COLS + 1 + ROWS * COLS).fill(V128)];
  return { ...params, ...i32, pa, bv, av, acc, types };
}

type GemmLocals = ReturnType<typeof gemmLocals>;

/** One rows x 8 tile of C at row i, columns j, over k in [kb, kEnd): C = (kb > 0 or accum ? C : 0) + A B. */
function gemmTile(rows: number, fma: boolean, transA: boolean, l: GemmLocals): number[] {
  const get = op.get;
  const steps = { pa: l.pa, pb: l.PB, lda: l.LDA, ldb: l.N4, bv: l.bv, av: l.av, acc: l.acc, transA };
  const cRow = (r: number) => [...get(l.CE), ...get(l.I), ...op.i32(r), ...op.i32Add, ...get(l.N4), ...op.i32Mul, ...op.i32Add, ...get(l.J), ...op.i32Add, ...op.set(l.PC)];
  // pa[r] = aE + (i + r) * lda + 4 kb; transposed: pa[0] = aE + kb * lda + 4 i
  const rowPointers = transA
    ? [...get(l.AE), ...get(l.KB), ...get(l.LDA), ...op.i32Mul, ...op.i32Add, ...get(l.I), ...op.i32(4), ...op.i32Mul, ...op.i32Add, ...op.set(l.pa[0])]
    : Array.from({ length: rows }, (_, r) => [
      ...get(l.AE), ...get(l.I), ...op.i32(r), ...op.i32Add, ...get(l.LDA), ...op.i32Mul, ...op.i32Add,
      ...get(l.KB), ...op.i32(4), ...op.i32Mul, ...op.i32Add, ...op.set(l.pa[r]),
    ]).flat();
  return [
    // pb = bE + kb * ldb + j
    ...rowPointers,
    ...get(l.BE), ...get(l.KB), ...get(l.N4), ...op.i32Mul, ...op.i32Add, ...get(l.J), ...op.i32Add, ...op.set(l.PB),
    // accumulators: C's values when adding to them, else zero
    ...get(l.KB), ...get(l.ACCUM), ...op.i32Or, ...op.ifThen,
    ...Array.from({ length: rows }, (_, r) => [...cRow(r), ...l.acc[r].flatMap((v, c) => [...get(l.PC), ...op.vLoadAt(16 * c), ...op.set(v)])]).flat(),
    ...op.else,
    ...l.acc.slice(0, rows).flat().flatMap((v) => [...op.vZero, ...op.set(v)]),
    ...op.end,
    // UNROLL steps at a time up to kEnd4 (kb plus a multiple of UNROLL), then one at a time
    ...forLoop(l.KK, get(l.KB), get(l.KEND4), op.i32(UNROLL), kSteps(rows, fma, UNROLL, steps)),
    ...forLoop(l.KK, null, get(l.KEND), op.i32(1), kSteps(rows, fma, 1, steps)),
    ...Array.from({ length: rows }, (_, r) => [...cRow(r), ...l.acc[r].flatMap((v, c) => [...get(l.PC), ...get(v), ...op.vStoreAt(16 * c)])]).flat(),
  ];
}

/**
 * gemm(a, b, c, m0, m1, k, n4 (N*4 bytes), batch, strideA, strideB, strideC (bytes per e), accum,
 * lda (bytes per row of the stored A), nc4 (bytes of each row of C computed, from b and c as
 * given)): C_e (+)= A_e B_e on rows [m0, m1), the reduction in blocks
 * of K_BLOCK (A's rows and B's panel stay in cache while a block runs). gemmTA: A_e stored
 * transposed ([K x M]: C_e (+)= A_e^T B_e).
 */
function gemm(fma: boolean, transA: boolean): Func {
  const l = gemmLocals();
  const get = op.get;
  const min = (a: number[], b: number[]) => [...a, ...b, ...a, ...b, ...op.i32LtS, ...op.select];
  const body = [
    ...forLoop(l.E, op.i32(0), get(l.BATCH), op.i32(1), [
      ...get(l.A), ...get(l.E), ...get(l.SA), ...op.i32Mul, ...op.i32Add, ...op.set(l.AE),
      ...get(l.B), ...get(l.E), ...get(l.SB), ...op.i32Mul, ...op.i32Add, ...op.set(l.BE),
      ...get(l.C), ...get(l.E), ...get(l.SC), ...op.i32Mul, ...op.i32Add, ...op.set(l.CE),
      ...forLoop(l.KB, op.i32(0), get(l.K), op.i32(K_BLOCK), [
        ...min([...get(l.KB), ...op.i32(K_BLOCK), ...op.i32Add], get(l.K)), ...op.set(l.KEND),
        ...get(l.KEND), ...get(l.KB), ...op.i32Sub, ...op.i32(-UNROLL), ...op.i32And, ...get(l.KB), ...op.i32Add, ...op.set(l.KEND4),
        ...forLoop(l.RB, get(l.M0), get(l.M1), op.i32(ROW_BLOCK), [
          ...min([...get(l.RB), ...op.i32(ROW_BLOCK), ...op.i32Add], get(l.M1)), ...op.set(l.REND),
          ...forLoop(l.J, op.i32(0), get(l.NC4), op.i32(16 * COLS), [
            ...get(l.RB), ...op.set(l.I),
            // full tiles while i + ROWS <= rEnd, then single rows
            ...op.block, ...op.loop,
            ...get(l.I), ...op.i32(ROWS), ...op.i32Add, ...get(l.REND), ...op.i32GtS, ...op.brIf(1),
            ...gemmTile(ROWS, fma, transA, l),
            ...get(l.I), ...op.i32(ROWS), ...op.i32Add, ...op.set(l.I),
            ...op.br(0),
            ...op.end, ...op.end,
            ...forLoop(l.I, null, get(l.REND), op.i32(1), gemmTile(1, fma, transA, l)),
          ]),
        ]),
      ]),
    ]),
  ];
  return { name: transA ? 'gemmTA' : 'gemm', params: PARAMS, locals: l.types, body };
}

/** Reduction floats per pass of rowDots: the m + n row pieces (1 KB each) stay in L1 meanwhile. */
const DOT_BLOCK = 256;

/**
 * rowDots(a, b, p, m, n, k0, k1, ld): for rows A_i (i < m) and B_j (j < n), all ld bytes apart,
 * P[i][j] (an f32x4, 4 partial sums) += sum over the floats [k0, k1) (byte offsets, multiples of
 * 16) of A_i * B_j: A B^T with few rows and a long reduction, as the gradient of a small matrix
 * that multiplies a large one needs (the WAS transform's (alpha M) W, nn/conv.ts). Blocked over
 * the reduction so that each pass reads A's and B's pieces from L1.
 */
function rowDots(fma: boolean): Func {
  const [A, B, P, M, N, K0, K1, LD] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [KB, KE, I, J, PA, PB, KK, PP] = [8, 9, 10, 11, 12, 13, 14, 15];
  const ACC = 16;
  const get = op.get;
  const madd = fma
    ? [...get(PA), ...op.vLoad, ...get(PB), ...op.vLoad, ...get(ACC), ...op.f32x4RelaxedMadd, ...op.set(ACC)]
    : [...get(PA), ...op.vLoad, ...get(PB), ...op.vLoad, ...op.f32x4Mul, ...get(ACC), ...op.f32x4Add, ...op.set(ACC)];
  const body = forLoop(KB, get(K0), get(K1), op.i32(4 * DOT_BLOCK), [
    // ke = min(kb + block, k1)
    ...get(KB), ...op.i32(4 * DOT_BLOCK), ...op.i32Add, ...get(K1),
    ...get(KB), ...op.i32(4 * DOT_BLOCK), ...op.i32Add, ...get(K1), ...op.i32LtU, ...op.select, ...op.set(KE),
    ...forLoop(I, op.i32(0), get(M), op.i32(1),
      forLoop(J, op.i32(0), get(N), op.i32(1), [
        ...get(A), ...get(I), ...get(LD), ...op.i32Mul, ...op.i32Add, ...get(KB), ...op.i32Add, ...op.set(PA),
        ...get(B), ...get(J), ...get(LD), ...op.i32Mul, ...op.i32Add, ...get(KB), ...op.i32Add, ...op.set(PB),
        ...op.vZero, ...op.set(ACC),
        ...forLoop(KK, get(KB), get(KE), op.i32(16), [
          ...madd,
          ...get(PA), ...op.i32(16), ...op.i32Add, ...op.set(PA),
          ...get(PB), ...op.i32(16), ...op.i32Add, ...op.set(PB),
        ]),
        // p[i][j] += acc
        ...get(P), ...get(I), ...get(N), ...op.i32Mul, ...get(J), ...op.i32Add, ...op.i32(16), ...op.i32Mul, ...op.i32Add, ...op.set(PP),
        ...get(PP), ...get(PP), ...op.vLoad, ...get(ACC), ...op.f32x4Add, ...op.vStore,
      ])),
  ]);
  return { name: 'rowDots', params: 8, locals: [...new Array<number>(8).fill(I32), V128], body };
}

/** The product's functions, gemm, gemmTA and rowDots, for a module that imports the backend's memory. */
export function gemmFuncs(fma: boolean): Func[] {
  return [gemm(fma, false), gemm(fma, true), rowDots(fma)];
}

/** The shape of one batched product: C_e = A_e B_e, e < batch. */
export interface GemmShape {
  m: number;
  k: number;
  n: number;
  batch: number;
  /** Bytes from one A_e, B_e, C_e to the next. */
  strideA: number;
  strideB: number;
  strideC: number;
  /** A_e stored transposed, [K x M]. */
  transposeA?: boolean;
  /** C_e += A_e B_e. */
  accumulate?: boolean;
}

/**
 * Arguments of one call for rows [m0, m1) and columns [n0, n1) (multiples of 8): see gemm above
 * (byte offsets; n % 8 == 0).
 */
export function gemmArgs(a: number, b: number, c: number, s: GemmShape, m0: number, m1: number, n0 = 0, n1 = s.n): number[] {
  const lda = 4 * (s.transposeA ? s.m : s.k);
  return [a, b + 4 * n0, c + 4 * n0, m0, m1, s.k, 4 * s.n, s.batch, s.strideA, s.strideB, s.strideC, s.accumulate ? 1 : 0, lda, 4 * (n1 - n0)];
}
