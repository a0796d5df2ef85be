// Winograd transforms for 3x3 convolutions, as our own wasm SIMD kernels (see winograd.ts for
// the convolution they make up).
//
// Why: a 3x3 stride-1 conv computes each m x m block of outputs from an (m+2) x (m+2) tile of
// input. Winograd's minimal filtering algorithm F(m x m, 3 x 3) (Lavin & Gray 2016) does it as
//   Y = A^T [ (G g G^T) (.) (B^T d B) ] A
// so that, summed over input channels, the (m+2)^2 element-wise products become (m+2)^2
// independent matrix products [tiles x Ci] x [Ci x Co]: 9 m^2 / (m+2)^2 fewer multiply-adds than
// the direct conv (F(2x2): 2.25x, F(4x4): 4x). The transforms are linear combinations with small
// constants, run here 4 channels at a time (NHWC keeps channels contiguous), one tile at a time:
//  - inputTransform:  x [N,H,W,Ci] -> U [(m+2)^2][T][Ci]   (B^T d B per tile, zero outside x)
//  - filterTransform: f [3,3,Ci,Co] -> V [(m+2)^2][Ci][Co]  (G g G^T per (ci, co))
//  - for the filter gradient dw = G^T [ sum over tiles U_e^T (A dy A^T)_e ] G: gradTransform
//    (dy's m x m tiles -> [(m+2)^2][T][Co]) and filterGradTransform (G^T dV G per (ci, co))
//  - outputTransform: M_e [T][Co] (one buffer per element e, by a table of byte offsets) ->
//                     y [N,OH,OW,Co]                     (A^T M A per tile, cropped at the edges)
// Tile addresses that fall outside the input read a zero row (`zero`, Ci floats); outputs past
// the edge go to a sink row (`sink`, Co floats): no branch in the channel loop. The module also
// holds the batched GEMM (wasm-gemm.ts), and every kernel runs on all threads of one worker pool
// (wasm-pool.ts): the tile transforms split by images, the filter transforms by columns, the
// products by rows.
// With `fma` the constant multiply-adds use relaxed SIMD's f32x4.relaxed_madd (see wasm-fma.ts).
// The matrices are the standard ones (interpolation points 0, +-1, +-2 and infinity).
// test/unit/winograd.test.ts checks the convolutions these make up against the cpu backend.

import { assemble, forLoop, I32, op, V128, wasmApi, type Func, type WasmMemory } from './wasm-assembler';
import { GEMM_ROWS, gemmArgs, gemmFuncs, type GemmShape } from './wasm-gemm';
import { kernelPool, type KernelPool } from './wasm-pool';

/** F(m x m, 3 x 3): output block m, tile alpha = m + 2, and its three matrices. */
export interface WinogradTransform {
  m: number;
  alpha: number;
  /** B^T (alpha x alpha), G (alpha x 3), A^T (m x alpha). */
  bt: number[][];
  g: number[][];
  at: number[][];
}

export const F2X2: WinogradTransform = {
  m: 2,
  alpha: 4,
  bt: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
  g: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
  at: [[1, 1, 1, 0], [0, 1, -1, -1]],
};

export const F4X4: WinogradTransform = {
  m: 4,
  alpha: 6,
  bt: [
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1],
  ],
  g: [
    [1 / 4, 0, 0],
    [-1 / 6, -1 / 6, -1 / 6],
    [-1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6],
    [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1],
  ],
  at: [
    [1, 1, 1, 1, 1, 0],
    [0, 1, -1, 2, -2, 0],
    [0, 1, 1, 4, 4, 0],
    [0, 1, -1, 8, -8, 1],
  ],
};

// ------------------------------------------------------------------ code generation

/** Local variables of one function: params first (all i32), then what `i32()`/`v128()` hand out. */
class Locals {
  readonly types: number[] = [];
  private readonly consts = new Map<number, number>();
  constructor(private readonly params: number) {}
  i32(): number {
    this.types.push(I32);
    return this.params + this.types.length - 1;
  }
  v128(): number {
    this.types.push(V128);
    return this.params + this.types.length - 1;
  }
  grid(rows: number, cols: number, kind: 'i32' | 'v128'): number[][] {
    return Array.from({ length: rows }, () => Array.from({ length: cols }, () => (kind === 'i32' ? this.i32() : this.v128())));
  }
  /** A v128 local holding c in every lane (set once by `constInit`). */
  splat(c: number): number {
    let l = this.consts.get(c);
    if (l === undefined) {
      l = this.v128();
      this.consts.set(c, l);
    }
    return l;
  }
  constInit(): number[] {
    return [...this.consts].flatMap(([c, l]) => [...op.f32(c), ...op.f32x4Splat, ...op.set(l)]);
  }
}

/** outs[i] = sum_j mat[i][j] * ins[j] over v128 locals (+-1 as adds and subtracts). */
function combine(mat: number[][], ins: number[], outs: number[], loc: Locals, fma: boolean): number[] {
  const code: number[] = [];
  mat.forEach((row, i) => {
    let first = true;
    row.forEach((c, j) => {
      if (c === 0) return;
      if (first && c === -1) code.push(...op.vZero, ...op.get(ins[j]), ...op.f32x4Sub);
      else if (first && c === 1) code.push(...op.get(ins[j]));
      else if (first) code.push(...op.get(ins[j]), ...op.get(loc.splat(c)), ...op.f32x4Mul);
      else if (c === 1) code.push(...op.get(ins[j]), ...op.f32x4Add);
      else if (c === -1) code.push(...op.get(ins[j]), ...op.f32x4Sub);
      else if (fma) code.push(...op.set(outs[i]), ...op.get(ins[j]), ...op.get(loc.splat(c)), ...op.get(outs[i]), ...op.f32x4RelaxedMadd);
      else code.push(...op.get(ins[j]), ...op.get(loc.splat(c)), ...op.f32x4Mul, ...op.f32x4Add);
      first = false;
    });
    if (first) code.push(...op.vZero);
    code.push(...op.set(outs[i]));
  });
  return code;
}

/** y = l x r^T over grids of v128 locals (x: rows x cols; l: rows' x rows; r: cols' x cols). */
function transform2d(l: number[][], x: number[][], r: number[][], loc: Locals, fma: boolean): { code: number[]; y: number[][] } {
  const t = loc.grid(l.length, x[0].length, 'v128');
  const y = loc.grid(l.length, r.length, 'v128');
  const code: number[] = [];
  // t = l x: column by column
  for (let k = 0; k < x[0].length; k++) code.push(...combine(l, x.map((row) => row[k]), t.map((row) => row[k]), loc, fma));
  // y = t r^T: row by row
  for (let i = 0; i < l.length; i++) code.push(...combine(r, t[i], y[i], loc, fma));
  return { code, y };
}

const add = (...parts: number[][]): number[] => [...parts[0], ...parts.slice(1).flatMap((p) => [...p, ...op.i32Add])];
const mul = (a: number[], b: number[]): number[] => [...a, ...b, ...op.i32Mul];
const get = op.get;
const inc = (v: number, by: number[]): number[] => [...get(v), ...by, ...op.i32Add, ...op.set(v)];

/**
 * Per tile, the byte address of each of its size x size positions: row ty*step + i and column
 * tx*step + k, each less `top` / `left` (code that subtracts an offset, or nothing), of image b in
 * `image` ([N, h, w, C], cb bytes per position); `fallback` where the position lies outside (the
 * zero row a transform reads, the sink an output writes). Locals and parameters by index.
 */
function tileAddresses(loc: Locals, size: number, step: number, p: {
  image: number; fallback: number; h: number; w: number; cb: number; b: number; ty: number; tx: number; top: number[]; left: number[];
}): { code: number[]; addr: number[][] } {
  const rowOk = loc.grid(1, size, 'i32')[0], rowAt = loc.grid(1, size, 'i32')[0];
  const colOk = loc.grid(1, size, 'i32')[0], colAt = loc.grid(1, size, 'i32')[0];
  const addr = loc.grid(size, size, 'i32');
  const code: number[] = [];
  for (let i = 0; i < size; i++) {
    // iy = ty*step - top + i: valid when 0 <= iy < h (unsigned compare); row start image + (b*h + iy)*w*cb
    const iy = [...mul(get(p.ty), op.i32(step)), ...p.top, ...op.i32(i), ...op.i32Add];
    code.push(...iy, ...get(p.h), ...op.i32LtU, ...op.set(rowOk[i]));
    code.push(...add(get(p.image), mul(mul(add(mul(get(p.b), get(p.h)), iy), get(p.w)), get(p.cb))), ...op.set(rowAt[i]));
    const ix = [...mul(get(p.tx), op.i32(step)), ...p.left, ...op.i32(i), ...op.i32Add];
    code.push(...ix, ...get(p.w), ...op.i32LtU, ...op.set(colOk[i]));
    code.push(...mul(ix, get(p.cb)), ...op.set(colAt[i]));
  }
  for (let i = 0; i < size; i++) {
    for (let k = 0; k < size; k++) {
      code.push(...add(get(rowAt[i]), get(colAt[k])), ...get(p.fallback), ...get(rowOk[i]), ...get(colOk[k]), ...op.i32And, ...op.select, ...op.set(addr[i][k]));
    }
  }
  return { code, addr };
}

/**
 * U[e][t][c] = (L d L^T)[e] for the size x size tile d of tile t = (b, ty, tx) read from x at
 * (ty*step - top, tx*step - left), zero outside x. The input transform: L = B^T, size alpha,
 * step m; the output gradient's (filter gradient): L = A (alpha x m), size m, step m.
 * params: x, u, zero, n, h, w, cb (C*4), th, tw, top, left, estride (T*cb), b0, b1 (the images
 * [b0, b1) only: the pool's threads split them; n is unused).
 */
function tileTransform(name: string, l: number[][], step: number, fma: boolean): Func {
  const [X, U, ZERO, , H, W, CB, TH, TW, TOP, LEFT, ES, B0, B1] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const loc = new Locals(14);
  const [B, TY, TX, G, UB, P] = [loc.i32(), loc.i32(), loc.i32(), loc.i32(), loc.i32(), loc.i32()];
  const n = l[0].length;
  const { code: perTile, addr } = tileAddresses(loc, n, step, {
    image: X, fallback: ZERO, h: H, w: W, cb: CB, b: B, ty: TY, tx: TX, top: [...get(TOP), ...op.i32Sub], left: [...get(LEFT), ...op.i32Sub],
  });
  const d = loc.grid(n, n, 'v128');
  const { code: math, y } = transform2d(l, d, l, loc, fma);
  const channels = forLoop(G, op.i32(0), get(CB), op.i32(16), [
    ...addr.flatMap((row, i) => row.flatMap((a, k) => [...get(a), ...get(G), ...op.i32Add, ...op.vLoad, ...op.set(d[i][k])])),
    ...math,
    ...add(get(UB), get(G)), ...op.set(P),
    ...y.flat().flatMap((v) => [...get(P), ...get(v), ...op.vStore, ...inc(P, get(ES))]),
  ]);
  const body = [
    ...add(get(U), mul(mul(mul(get(B0), get(TH)), get(TW)), get(CB))), ...op.set(UB),
    ...forLoop(B, get(B0), get(B1), op.i32(1),
      forLoop(TY, op.i32(0), get(TH), op.i32(1),
        forLoop(TX, op.i32(0), get(TW), op.i32(1), [...perTile, ...channels, ...inc(UB, get(CB))]))),
  ];
  return { name, params: 14, locals: loc.types, body: [...loc.constInit(), ...body] };
}

/**
 * y[b, ty*m + i, tx*m + k, c] = (A^T M A)[i][k] with M[e] read from table[e] + (t*Co)*4.
 * params: table (alpha^2 i32 byte offsets), y, sink, n, oh, ow, cb (Co*4), th, tw, b0, b1 (the
 * images [b0, b1) only; n is unused).
 */
function outputTransform(f: WinogradTransform, fma: boolean): Func {
  const [TABLE, Y, SINK, , OH, OW, CB, TH, TW, B0, B1] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const loc = new Locals(11);
  const [B, TY, TX, G, TOFF] = [loc.i32(), loc.i32(), loc.i32(), loc.i32(), loc.i32()];
  const n = f.alpha, m = f.m;
  const base = loc.grid(n, n, 'i32');
  const { code: perTile, addr } = tileAddresses(loc, m, m, { image: Y, fallback: SINK, h: OH, w: OW, cb: CB, b: B, ty: TY, tx: TX, top: [], left: [] });
  const v = loc.grid(n, n, 'v128');
  const { code: math, y } = transform2d(f.at, v, f.at, loc, fma);
  const channels = forLoop(G, op.i32(0), get(CB), op.i32(16), [
    ...base.flatMap((row, i) => row.flatMap((a, k) => [...add(get(a), get(TOFF), get(G)), ...op.vLoad, ...op.set(v[i][k])])),
    ...math,
    ...addr.flatMap((row, i) => row.flatMap((a, k) => [...add(get(a), get(G)), ...get(y[i][k]), ...op.vStore])),
  ]);
  const loadTable = base.flat().flatMap((l, e) => [...get(TABLE), ...op.i32(4 * e), ...op.i32Add, ...op.i32Load, ...op.set(l)]);
  const body = [
    ...loadTable,
    ...mul(mul(mul(get(B0), get(TH)), get(TW)), get(CB)), ...op.set(TOFF),
    ...forLoop(B, get(B0), get(B1), op.i32(1),
      forLoop(TY, op.i32(0), get(TH), op.i32(1),
        forLoop(TX, op.i32(0), get(TW), op.i32(1), [...perTile, ...channels, ...inc(TOFF, get(CB))]))),
  ];
  return { name: `outputTransform${f.m}`, params: 11, locals: loc.types, body: [...loc.constInit(), ...body] };
}

/**
 * V[e][j] = (L g L^T)[e] for each j of the Ci*Co filter columns (g [size][size][Ci*Co]). The
 * filter transform: L = G (alpha x 3); the filter gradient's way back: L = G^T (3 x alpha).
 * params: f, v, ccb (Ci*Co*4, a multiple of 16), g0, g1 (the column bytes [g0, g1) only).
 */
function columnTransform(name: string, l: number[][], fma: boolean): Func {
  const [F, V, CCB, G0, G1] = [0, 1, 2, 3, 4];
  const loc = new Locals(5);
  const [G, P] = [loc.i32(), loc.i32()];
  const taps = loc.grid(l[0].length, l[0].length, 'v128');
  const { code: math, y } = transform2d(l, taps, l, loc, fma);
  const body = forLoop(G, get(G0), get(G1), op.i32(16), [
    ...add(get(F), get(G)), ...op.set(P),
    ...taps.flat().flatMap((t) => [...get(P), ...op.vLoad, ...op.set(t), ...inc(P, get(CCB))]),
    ...math,
    ...add(get(V), get(G)), ...op.set(P),
    ...y.flat().flatMap((t) => [...get(P), ...get(t), ...op.vStore, ...inc(P, get(CCB))]),
  ]);
  return { name, params: 5, locals: loc.types, body: [...loc.constInit(), ...body] };
}

// ------------------------------------------------------------------ instances

export interface WinogradKernels {
  /** See tileTransform above: B^T d B (byte offsets; ci % 4 == 0). */
  inputTransform(f: WinogradTransform, x: number, u: number, zero: number, n: number, h: number, w: number, ci: number,
    th: number, tw: number, top: number, left: number): void;
  /** See outputTransform above (co % 4 == 0). */
  outputTransform(f: WinogradTransform, table: number, y: number, sink: number, n: number, oh: number, ow: number, co: number,
    th: number, tw: number): void;
  /** See columnTransform above: G g G^T (ci * co % 4 == 0). */
  filterTransform(f: WinogradTransform, filter: number, v: number, ci: number, co: number): void;
  /** See tileTransform above: A dy A^T of each m x m output tile, into [(m+2)^2][T][Co]. */
  gradTransform(f: WinogradTransform, dy: number, u: number, zero: number, n: number, oh: number, ow: number, co: number, th: number, tw: number): void;
  /** See columnTransform above: dw = G^T dV G, [(m+2)^2][Ci*Co] -> [3][3][Ci*Co]. */
  filterGradTransform(f: WinogradTransform, dv: number, dw: number, ci: number, co: number): void;
  /** The batched product of wasm-gemm.ts (n % 8 == 0). */
  gemm(a: number, b: number, c: number, shape: GemmShape): void;
  /**
   * A B^T for A [m x k] and B [n x k] (k % 4 == 0; rows k floats apart), as f32x4 partial sums:
   * `partials` holds threads * m * n * 4 zeroed floats, thread t's at t * m * n * 4 (see rowDots
   * in wasm-gemm.ts); C[i][j] is the sum of the 4 * threads floats of (i, j).
   */
  rowDots(a: number, b: number, partials: number, m: number, n: number, k: number): void;
  /** Threads the kernels run on (the number of rowDots' partial sums). */
  threads: number;
}

type Exports = Record<string, (...args: number[]) => void>;

/** Runs an export over [0, count) split into one range per thread (multiples of `align`). */
type Split = (name: string, count: number, align: number, args: (from: number, to: number) => number[]) => void;

function splitter(own: Exports, pool: KernelPool | null): Split {
  return (name, count, align, args) => {
    if (!pool) return own[name](...args(0, count));
    const share = Math.ceil(count / pool.threads / align) * align;
    pool.run(name, Array.from({ length: pool.threads }, (_, t) => args(Math.min(count, t * share), Math.min(count, (t + 1) * share))));
  };
}

function bindKernels(split: Split, threads: number): WinogradKernels {
  return {
    threads,
    rowDots: (a, b, partials, m, n, k) => {
      const blocks = k / 4; // reduction in f32x4 steps, split between the threads
      const share = Math.ceil(blocks / threads);
      split('rowDots', threads, 1, (t0) => [a, b, partials + 16 * m * n * t0, m, n, 16 * Math.min(blocks, t0 * share), 16 * Math.min(blocks, (t0 + 1) * share), 4 * k]);
    },
    inputTransform: (f, x, u, zero, n, h, w, ci, th, tw, top, left) => split(`inputTransform${f.m}`, n, 1,
      (b0, b1) => [x, u, zero, n, h, w, 4 * ci, th, tw, top, left, 4 * ci * n * th * tw, b0, b1]),
    outputTransform: (f, table, y, sink, n, oh, ow, co, th, tw) => split(`outputTransform${f.m}`, n, 1,
      (b0, b1) => [table, y, sink, n, oh, ow, 4 * co, th, tw, b0, b1]),
    filterTransform: (f, filter, v, ci, co) => split(`filterTransform${f.m}`, 4 * ci * co, 16, (g0, g1) => [filter, v, 4 * ci * co, g0, g1]),
    gradTransform: (f, dy, u, zero, n, oh, ow, co, th, tw) => split(`gradTransform${f.m}`, n, 1,
      (b0, b1) => [dy, u, zero, n, oh, ow, 4 * co, th, tw, 0, 0, 4 * co * n * th * tw, b0, b1]),
    filterGradTransform: (f, dv, dw, ci, co) => split(`filterGradTransform${f.m}`, 4 * ci * co, 16, (g0, g1) => [dv, dw, 4 * ci * co, g0, g1]),
    // Products with fewer rows than a register tile per thread split their columns instead (the
    // WAS transform's [9 x 9] x [9 x 262,144]: 2.0 ms by rows, 1.0 ms by columns on 2 threads).
    gemm: (a, b, c, shape) => (shape.m < 2 * GEMM_ROWS
      ? split(shape.transposeA ? 'gemmTA' : 'gemm', shape.n / 8, 1, (p0, p1) => gemmArgs(a, b, c, shape, 0, shape.m, 8 * p0, 8 * p1))
      : split(shape.transposeA ? 'gemmTA' : 'gemm', shape.m, GEMM_ROWS, (m0, m1) => gemmArgs(a, b, c, shape, m0, m1))),
  };
}

const instances = new Map<string, WeakMap<WasmMemory, WinogradKernels | null>>();

/**
 * The transforms and the product on `memory` (relaxed-SIMD multiply-adds if `fma`), run by
 * `threads` threads (wasm-pool.ts) where the memory is shared, else by the caller; null without SIMD.
 */
export function winogradKernels(memory: WasmMemory, fma: boolean, threads: number): WinogradKernels | null {
  const key = `${fma}/${threads}`;
  const cache = instances.get(key) ?? new WeakMap<WasmMemory, WinogradKernels | null>();
  instances.set(key, cache);
  if (cache.has(memory)) return cache.get(memory)!;
  let kernels: WinogradKernels | null = null;
  try {
    if (!wasmApi) throw new Error('no WebAssembly');
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const transpose = (a: number[][]) => a[0].map((_, j) => a.map((row) => row[j]));
    const funcs = [F2X2, F4X4].flatMap((f) => [
      tileTransform(`inputTransform${f.m}`, f.bt, f.m, fma),
      tileTransform(`gradTransform${f.m}`, transpose(f.at), f.m, fma),
      outputTransform(f, fma),
      columnTransform(`filterTransform${f.m}`, f.g, fma),
      columnTransform(`filterGradTransform${f.m}`, transpose(f.g), fma),
    ]);
    const bytes = assemble([...funcs, ...gemmFuncs(fma)], shared);
    const own = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } }).exports as unknown as Exports;
    const pool = kernelPool(memory, bytes, threads);
    kernels = bindKernels(splitter(own, pool), pool?.threads ?? 1);
  } catch {
    kernels = null; // no SIMD (or no relaxed SIMD for fma): the caller's direct conv
  }
  cache.set(memory, kernels);
  return kernels;
}
