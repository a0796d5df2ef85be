// Small SIMD kernels of our own, in WebAssembly, on the wasm backend's own memory.
//
// Why: some training passes have no fast stock kernel, and a JavaScript loop over the heap costs
// 5-15 ns per element on the machines measured (2-core VMs), where a wasm SIMD loop is memory
// bound at ~0.5 ns. Measured on a 64x32x32x32 activation: the max-pool gradient (2x2, stride 2)
// takes 24.5 ms as a JS loop and 1.2 ms here; a training-mode BatchNorm forward + backward, 13
// XNNPACK passes plus ~130 small kernel calls as a composition, is 4 passes here.
//
// How: the module is assembled byte by byte (wasm-assembler.ts: a dozen opcodes; no toolchain), and imports
// the backend's WebAssembly.Memory (shared when the threaded build runs), so its kernels read and
// write tensors in place, by the byte offsets the backend keeps for them. Each kernel handles the
// channel counts that are multiples of 4 (one f32x4 lane group at a time); the callers keep
// their general paths for the rest. Sums accumulate 4 channels x 32 rows in f32 registers, then
// in f64 (as precise as the pairwise sums they replace). Kernels run on the calling thread.
// test/unit/wasm-simd.test.ts compares each with the cpu backend.

import { assemble, forLoop, I32, isWasmMemory, op, V128, wasmApi, type Func, type WasmMemory } from './wasm-assembler';

export { isWasmMemory, type WasmMemory };

/** Rows per f32 partial sum before it is added into the f64 accumulators. */
const ROW_BLOCK = 32;

/** acc[at] += promote(sum lanes 0,1), acc[at + 16] += promote(lanes 2,3); `at` on the stack twice. */
function flushF64(addr: () => number[], sum: number): number[] {
  return [
    ...addr(), ...addr(), ...op.vLoad, ...op.get(sum), ...op.f64x2PromoteLow, ...op.f64x2Add, ...op.vStore,
    ...addr(), ...op.i32(16), ...op.i32Add,
    ...addr(), ...op.i32(16), ...op.i32Add, ...op.vLoad,
    ...op.get(sum), ...op.get(sum), ...op.shuffleHigh, ...op.f64x2PromoteLow, ...op.f64x2Add, ...op.vStore,
  ];
}

// ------------------------------------------------------------------ kernels

/**
 * Column statistics over `rows` rows of `cb` bytes (C floats, C % 4 == 0), per channel c:
 *   stats:    acc1[c] += sum(a - v[c]),      acc2[c] += sum((a - v[c])^2)
 *   backward: acc1[c] += sum(b),             acc2[c] += sum(b * (a - v[c]))
 * a, b: the two inputs (b unused by stats); v: a per-channel f32 vector; acc1, acc2: f64 [C].
 * Rows are taken ROW_BLOCK at a time, 4 channels at a time, summed in f32 registers, then
 * promoted and added to the f64 accumulators.
 */
function columnReduce(fname: string, backward: boolean): Func {
  // params: a, b, rows, cb, v, acc1, acc2
  const [A, B, ROWS, CB, V, ACC1, ACC2] = [0, 1, 2, 3, 4, 5, 6];
  // locals
  const [R0, REND, G, P, PB, SHIFT, S1, S2, U] = [7, 8, 9, 10, 11, 12, 13, 14, 15];
  const rowOffset = (base: number) => [...op.get(base), ...op.get(R0), ...op.get(CB), ...op.i32Mul, ...op.i32Add, ...op.get(G), ...op.i32Add];
  const inner = backward
    ? [
        // u = a - v; s1 += b; s2 += b * u
        ...op.get(P), ...op.vLoad, ...op.get(SHIFT), ...op.f32x4Sub, ...op.set(U),
        ...op.get(PB), ...op.vLoad, ...op.tee(U + 1),
        ...op.get(S1), ...op.f32x4Add, ...op.set(S1),
        ...op.get(U + 1), ...op.get(U), ...op.f32x4Mul, ...op.get(S2), ...op.f32x4Add, ...op.set(S2),
      ]
    : [
        // u = a - v; s1 += u; s2 += u * u
        ...op.get(P), ...op.vLoad, ...op.get(SHIFT), ...op.f32x4Sub, ...op.tee(U),
        ...op.get(S1), ...op.f32x4Add, ...op.set(S1),
        ...op.get(U), ...op.get(U), ...op.f32x4Mul, ...op.get(S2), ...op.f32x4Add, ...op.set(S2),
      ];
  const body = forLoop(R0, op.i32(0), op.get(ROWS), op.i32(ROW_BLOCK), [
    // rEnd = min(r0 + BLOCK, rows), as a row count from r0
    ...op.get(ROWS), ...op.get(R0), ...op.i32(-1), ...op.i32Mul, ...op.i32Add, ...op.set(REND),
    ...op.i32(ROW_BLOCK), ...op.get(REND), ...op.get(REND), ...op.i32(ROW_BLOCK), ...op.i32GeU, ...op.select, ...op.set(REND),
    ...forLoop(G, op.i32(0), op.get(CB), op.i32(16), [
      ...op.get(V), ...op.get(G), ...op.i32Add, ...op.vLoad, ...op.set(SHIFT),
      ...op.vZero, ...op.set(S1), ...op.vZero, ...op.set(S2),
      ...rowOffset(A), ...op.set(P),
      ...rowOffset(B), ...op.set(PB),
      // REND counts down the rows of this block
      ...op.get(REND), ...op.set(U + 2),
      ...op.block, ...op.loop,
      ...op.i32(0), ...op.get(U + 2), ...op.i32GeU, ...op.brIf(1),
      ...inner,
      ...op.get(P), ...op.get(CB), ...op.i32Add, ...op.set(P),
      ...op.get(PB), ...op.get(CB), ...op.i32Add, ...op.set(PB),
      ...op.get(U + 2), ...op.i32(-1), ...op.i32Add, ...op.set(U + 2),
      ...op.br(0),
      ...op.end, ...op.end,
      // f64 accumulators: 8 bytes per channel, so channel group g (16 bytes of f32) is at 2g
      ...flushF64(() => [...op.get(ACC1), ...op.get(G), ...op.get(G), ...op.i32Add, ...op.i32Add], S1),
      ...flushF64(() => [...op.get(ACC2), ...op.get(G), ...op.get(G), ...op.i32Add, ...op.i32Add], S2),
    ]),
  ]);
  return {
    name: fname,
    params: 7,
    locals: [I32, I32, I32, I32, I32, V128, V128, V128, V128, V128, I32],
    body,
  };
}

/**
 * out = a * va + b * vb + vc per channel (rows x C, C % 4 == 0); with `twoInputs` false,
 * out = a * va + vc (b and vb unused). va, vb, vc: f32 [C].
 */
function affine(fname: string, twoInputs: boolean): Func {
  // params: a, b, out, rows, cb, va, vb, vc
  const [A, B, OUT, ROWS, CB, VA, VB, VC] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [END, G, OFF] = [8, 9, 10];
  const at = (base: number) => [...op.get(base), ...op.get(OFF), ...op.i32Add];
  const vecAt = (base: number) => [...op.get(base), ...op.get(G), ...op.i32Add, ...op.vLoad];
  const body = [
    ...op.get(ROWS), ...op.get(CB), ...op.i32Mul, ...op.set(END),
    ...op.i32(0), ...op.set(OFF),
    ...op.block, ...op.loop,
    ...op.get(OFF), ...op.get(END), ...op.i32GeU, ...op.brIf(1),
    ...forLoop(G, op.i32(0), op.get(CB), op.i32(16), [
      ...at(OUT),
      ...at(A), ...op.vLoad, ...vecAt(VA), ...op.f32x4Mul,
      ...(twoInputs ? [...at(B), ...op.vLoad, ...vecAt(VB), ...op.f32x4Mul, ...op.f32x4Add] : []),
      ...vecAt(VC), ...op.f32x4Add,
      ...op.vStore,
      ...op.get(OFF), ...op.i32(16), ...op.i32Add, ...op.set(OFF),
    ]),
    ...op.br(0),
    ...op.end, ...op.end,
  ];
  return { name: fname, params: 8, locals: [I32, I32, I32], body };
}

/**
 * Max-pool gradient for 2x2 windows with stride 2 and no padding (NHWC, C % 4 == 0): in each
 * window the FIRST maximum in row-major order gets dy, the others 0; NaN never wins; a window
 * without a maximum gets nothing (the cpu backend's rule). params: x, dy, dx, windowRows
 * (N*OH), ow, rowBytes (W*C*4), cb (C*4). Rows/columns past the last window are not written.
 */
function maxPoolGrad2x2(): Func {
  const [X, DY, DX, ROWS, OW, ROWB, CB] = [0, 1, 2, 3, 4, 5, 6];
  const [R, Q, P, END, PDY, DELTA, ROWSTART] = [7, 8, 9, 10, 11, 12, 13];
  const [V0, V1, V2, V3, BEST, C0, C1, C2, C3, G, NINF] = [14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24];
  const load = (...offs: number[]) => [...op.get(P), ...offs.flatMap((o) => [...op.get(o), ...op.i32Add]), ...op.vLoad];
  const store = (mask: number, ...offs: number[]) => [
    ...op.get(P), ...offs.flatMap((o) => [...op.get(o), ...op.i32Add]), ...op.get(DELTA), ...op.i32Add,
    ...op.get(G), ...op.get(mask), ...op.vAnd, ...op.vStore,
  ];
  const step = (v: number, c: number) => [
    ...op.get(v), ...op.get(BEST), ...op.f32x4Gt, ...op.tee(c),
    ...op.get(v), ...op.get(BEST), ...op.get(c), ...op.vBitselect, ...op.set(BEST),
  ];
  const body = [
    ...op.f32(-Infinity), ...op.f32x4Splat, ...op.set(NINF),
    ...op.get(DX), ...op.get(X), ...op.i32(-1), ...op.i32Mul, ...op.i32Add, ...op.set(DELTA), // dx - x
    ...op.get(DY), ...op.set(PDY),
    ...forLoop(R, op.i32(0), op.get(ROWS), op.i32(1), [
      // rowStart = x + 2 * r * rowBytes
      ...op.get(X), ...op.get(R), ...op.get(R), ...op.i32Add, ...op.get(ROWB), ...op.i32Mul, ...op.i32Add, ...op.set(ROWSTART),
      ...forLoop(Q, op.i32(0), op.get(OW), op.i32(1), [
        ...op.get(ROWSTART), ...op.get(Q), ...op.get(Q), ...op.i32Add, ...op.get(CB), ...op.i32Mul, ...op.i32Add, ...op.tee(P),
        ...op.get(CB), ...op.i32Add, ...op.set(END),
        ...op.block, ...op.loop,
        ...op.get(P), ...op.get(END), ...op.i32GeU, ...op.brIf(1),
        ...load(), ...op.set(V0),
        ...load(CB), ...op.set(V1),
        ...load(ROWB), ...op.set(V2),
        ...load(ROWB, CB), ...op.set(V3),
        ...op.get(PDY), ...op.vLoad, ...op.set(G),
        ...op.get(NINF), ...op.set(BEST),
        ...step(V0, C0), ...step(V1, C1), ...step(V2, C2),
        ...op.get(V3), ...op.get(BEST), ...op.f32x4Gt, ...op.set(C3),
        // winner of each tap: its own "greater" with no later one (a later strict maximum wins)
        ...store(C3, ROWB, CB),
        ...op.get(C2), ...op.get(C3), ...op.vAndNot, ...op.set(C2), ...store(C2, ROWB),
        ...op.get(C3), ...op.get(C2), ...op.vOr, ...op.set(C3),
        ...op.get(C1), ...op.get(C3), ...op.vAndNot, ...op.set(C1), ...store(C1, CB),
        ...op.get(C3), ...op.get(C1), ...op.vOr, ...op.set(C3),
        ...op.get(C0), ...op.get(C3), ...op.vAndNot, ...op.set(C0), ...store(C0),
        ...op.get(P), ...op.i32(16), ...op.i32Add, ...op.set(P),
        ...op.get(PDY), ...op.i32(16), ...op.i32Add, ...op.set(PDY),
        ...op.br(0),
        ...op.end, ...op.end,
      ]),
    ]),
  ];
  return {
    name: 'maxPoolGrad2x2',
    params: 7,
    locals: [I32, I32, I32, I32, I32, I32, I32, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128],
    body,
  };
}

/**
 * One tap's rows of the transposed im2col block (conv filter gradient, wasm-heap.ts), for
 * `count` consecutive output positions: P[c][m] = x[b, y*sh + di, q*sw + dj, c] (0 outside x),
 * (b, y, q) advancing from the given first position. Rows are mcb bytes apart. params: x, p,
 * count, ci, b, y, q, oh, ow, h, w, sh, sw, di, dj, mcb.
 */
function gatherTap(): Func {
  const [X, P, MC, CI, B0, Y0, Q0, OH, OW, H, W, SH, SW, DI, DJ, MCB] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
  const [M, IY, IX, SRC, DST, END, C0, CN, B, Y, Q] = [16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26];
  // Channels go CHANNEL_BLOCK at a time (all positions for each block): each position writes one
  // float into each channel's row, rows mcb bytes apart, and more rows at once than that thrash
  // the TLB (512 channels: one page per row).
  const CHANNEL_BLOCK = 16;
  const perPosition = [
    ...op.get(Y), ...op.get(SH), ...op.i32Mul, ...op.get(DI), ...op.i32Add, ...op.set(IY),
    ...op.get(Q), ...op.get(SW), ...op.i32Mul, ...op.get(DJ), ...op.i32Add, ...op.set(IX),
    // dst = p + 4m + c0 * mcb; end = dst + cn * mcb
    ...op.get(P), ...op.get(M), ...op.i32(4), ...op.i32Mul, ...op.i32Add, ...op.get(C0), ...op.get(MCB), ...op.i32Mul, ...op.i32Add, ...op.tee(DST),
    ...op.get(CN), ...op.get(MCB), ...op.i32Mul, ...op.i32Add, ...op.set(END),
    // outside x: iy or ix out of [0, h) x [0, w) (signed)
    ...op.get(IY), ...op.i32(0), ...op.i32LtS, ...op.get(IY), ...op.get(H), ...op.i32GeS, ...op.i32Or,
    ...op.get(IX), ...op.i32(0), ...op.i32LtS, ...op.i32Or, ...op.get(IX), ...op.get(W), ...op.i32GeS, ...op.i32Or,
    ...op.ifThen,
    ...forLoop(DST, null, op.get(END), op.get(MCB), [...op.get(DST), ...op.f32(0), ...op.f32Store]),
    ...op.else,
    // src = x + 4 * (((b*h + iy)*w + ix) * ci + c0)
    ...op.get(B), ...op.get(H), ...op.i32Mul, ...op.get(IY), ...op.i32Add, ...op.get(W), ...op.i32Mul, ...op.get(IX), ...op.i32Add,
    ...op.get(CI), ...op.i32Mul, ...op.get(C0), ...op.i32Add, ...op.i32(4), ...op.i32Mul, ...op.get(X), ...op.i32Add, ...op.set(SRC),
    ...forLoop(DST, null, op.get(END), op.get(MCB), [
      ...op.get(DST), ...op.get(SRC), ...op.f32Load, ...op.f32Store,
      ...op.get(SRC), ...op.i32(4), ...op.i32Add, ...op.set(SRC),
    ]),
    ...op.end,
    // next output position
    ...op.get(Q), ...op.i32(1), ...op.i32Add, ...op.tee(Q), ...op.get(OW), ...op.i32GeS,
    ...op.ifThen,
    ...op.i32(0), ...op.set(Q),
    ...op.get(Y), ...op.i32(1), ...op.i32Add, ...op.tee(Y), ...op.get(OH), ...op.i32GeS,
    ...op.ifThen, ...op.i32(0), ...op.set(Y), ...op.get(B), ...op.i32(1), ...op.i32Add, ...op.set(B), ...op.end,
    ...op.end,
  ];
  const body = forLoop(C0, op.i32(0), op.get(CI), op.i32(CHANNEL_BLOCK), [
    // cn = min(CHANNEL_BLOCK, ci - c0)
    ...op.get(CI), ...op.get(C0), ...op.i32(-1), ...op.i32Mul, ...op.i32Add, ...op.set(CN),
    ...op.i32(CHANNEL_BLOCK), ...op.get(CN), ...op.get(CN), ...op.i32(CHANNEL_BLOCK), ...op.i32GeU, ...op.select, ...op.set(CN),
    ...op.get(B0), ...op.set(B), ...op.get(Y0), ...op.set(Y), ...op.get(Q0), ...op.set(Q),
    ...forLoop(M, op.i32(0), op.get(MC), op.i32(1), perPosition),
  ]);
  return { name: 'gatherTap', params: 16, locals: new Array<number>(11).fill(I32), body };
}

/** Parameters (after the image and matrix offsets) and locals of im2row and rowsToImage. */
const [N, H, W, CI, OH, OW, KH, KW, SH, SW, TOP, LEFT] = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
const [TB, TY, TQ, TI, TJ, IY, IX, ADDR, END] = [14, 15, 16, 17, 18, 19, 20, 21, 22];

/**
 * The loops im2row and rowsToImage share: for every row (b, y, q) of the im2col matrix and every
 * tap (i, j), the input position (IY, IX) the tap reads and END, the end of the tap's ci values
 * at the matrix pointer; then `padding` where the tap reads padding, else `input` with ADDR the
 * byte address of image[b, IY, IX, 0]. Each must move the matrix pointer to END.
 */
function tapLoops(image: number, matrix: number, padding: number[], input: number[]): number[] {
  const get = op.get;
  return forLoop(TB, op.i32(0), get(N), op.i32(1),
    forLoop(TY, op.i32(0), get(OH), op.i32(1),
      forLoop(TQ, op.i32(0), get(OW), op.i32(1),
        forLoop(TI, op.i32(0), get(KH), op.i32(1), [
          ...get(TY), ...get(SH), ...op.i32Mul, ...get(TI), ...op.i32Add, ...get(TOP), ...op.i32Sub, ...op.set(IY),
          ...forLoop(TJ, op.i32(0), get(KW), op.i32(1), [
            ...get(TQ), ...get(SW), ...op.i32Mul, ...get(TJ), ...op.i32Add, ...get(LEFT), ...op.i32Sub, ...op.set(IX),
            ...get(matrix), ...get(CI), ...op.i32(4), ...op.i32Mul, ...op.i32Add, ...op.set(END),
            ...get(IY), ...op.i32(0), ...op.i32LtS, ...get(IY), ...get(H), ...op.i32GeS, ...op.i32Or,
            ...get(IX), ...op.i32(0), ...op.i32LtS, ...op.i32Or, ...get(IX), ...get(W), ...op.i32GeS, ...op.i32Or,
            ...op.ifThen,
            ...padding,
            ...op.else,
            ...get(TB), ...get(H), ...op.i32Mul, ...get(IY), ...op.i32Add, ...get(W), ...op.i32Mul, ...get(IX), ...op.i32Add,
            ...get(CI), ...op.i32Mul, ...op.i32(4), ...op.i32Mul, ...get(image), ...op.i32Add, ...op.set(ADDR),
            ...input,
            ...op.end,
          ]),
        ]))));
}

/**
 * The im2col matrix of x (NHWC) for a conv, row-major: row m = (b, y, q) holds, tap by tap
 * (row-major kh x kw), the ci input values the tap reads (0 where it reads padding).
 * params: x, p, n, h, w, ci, oh, ow, kh, kw, sh, sw, top, left (x, p byte offsets).
 */
function im2row(): Func {
  const [X, P] = [0, 1];
  const body = tapLoops(X, P,
    forLoop(P, null, op.get(END), op.i32(4), [...op.get(P), ...op.f32(0), ...op.f32Store]),
    forLoop(P, null, op.get(END), op.i32(4), [
      ...op.get(P), ...op.get(ADDR), ...op.f32Load, ...op.f32Store,
      ...op.get(ADDR), ...op.i32(4), ...op.i32Add, ...op.set(ADDR),
    ]));
  return { name: 'im2row', params: 14, locals: new Array<number>(9).fill(I32), body };
}

/**
 * The adjoint of im2row: each tap's ci values of row m = (b, y, q) of p added into the input
 * position the tap reads (taps on padding skipped); dx must be zeroed first. ci % 4 == 0 (f32x4
 * adds). The scatter of the strided conv input gradient (wasm-heap.ts, rowsToImageHeap).
 * params: p, dx, n, h, w, ci, oh, ow, kh, kw, sh, sw, top, left (p, dx byte offsets).
 */
function rowsToImage(): Func {
  const [P, DX] = [0, 1];
  const body = tapLoops(DX, P,
    [...op.get(END), ...op.set(P)],
    forLoop(P, null, op.get(END), op.i32(16), [
      ...op.get(ADDR), ...op.get(ADDR), ...op.vLoad, ...op.get(P), ...op.vLoad, ...op.f32x4Add, ...op.vStore,
      ...op.get(ADDR), ...op.i32(16), ...op.i32Add, ...op.set(ADDR),
    ]));
  return { name: 'rowsToImage', params: 14, locals: new Array<number>(9).fill(I32), body };
}

/**
 * dst[o][j][i] = src[o][i][j] for o < outer, i < a, j < b (swap of the last two axes), 8 rows of
 * src at a time so that the writes go out in runs of 8. params: src, dst, outer, a, b.
 */
function swapLastTwo(): Func {
  const [SRC, DST, OUTER, A, B] = [0, 1, 2, 3, 4];
  const [O, I0, IEND, J, I, S, D, MAT] = [5, 6, 7, 8, 9, 10, 11, 12];
  const body = [
    ...op.get(A), ...op.get(B), ...op.i32Mul, ...op.i32(4), ...op.i32Mul, ...op.set(MAT),
    ...forLoop(O, op.i32(0), op.get(OUTER), op.i32(1),
      forLoop(I0, op.i32(0), op.get(A), op.i32(8), [
        // iEnd = min(i0 + 8, a)
        ...op.get(A), ...op.get(I0), ...op.i32(8), ...op.i32Add,
        ...op.get(I0), ...op.i32(8), ...op.i32Add, ...op.get(A), ...op.i32GeU, ...op.select, ...op.set(IEND),
        ...forLoop(J, op.i32(0), op.get(B), op.i32(1), [
          // s = src + O*mat + 4*(i0*b + j); d = dst + O*mat + 4*(j*a + i0)
          ...op.get(SRC), ...op.get(O), ...op.get(MAT), ...op.i32Mul, ...op.i32Add,
          ...op.get(I0), ...op.get(B), ...op.i32Mul, ...op.get(J), ...op.i32Add, ...op.i32(4), ...op.i32Mul, ...op.i32Add, ...op.set(S),
          ...op.get(DST), ...op.get(O), ...op.get(MAT), ...op.i32Mul, ...op.i32Add,
          ...op.get(J), ...op.get(A), ...op.i32Mul, ...op.get(I0), ...op.i32Add, ...op.i32(4), ...op.i32Mul, ...op.i32Add, ...op.set(D),
          ...forLoop(I, op.get(I0), op.get(IEND), op.i32(1), [
            ...op.get(D), ...op.get(S), ...op.f32Load, ...op.f32Store,
            ...op.get(D), ...op.i32(4), ...op.i32Add, ...op.set(D),
            ...op.get(S), ...op.get(B), ...op.i32(4), ...op.i32Mul, ...op.i32Add, ...op.set(S),
          ]),
        ]),
      ])),
  ];
  return { name: 'swapLastTwo', params: 5, locals: [I32, I32, I32, I32, I32, I32, I32, I32], body };
}

// ------------------------------------------------------------------ instances

export interface SimdKernels {
  /** acc1/acc2 (f64 [C]) += column sums of (a - v) and (a - v)^2 over `rows` rows of C floats. */
  columnStats(a: number, rows: number, c: number, v: number, acc1: number, acc2: number): void;
  /** acc1/acc2 (f64 [C]) += column sums of b and b * (a - v). */
  columnGradStats(a: number, b: number, rows: number, c: number, v: number, acc1: number, acc2: number): void;
  /** out = a * va + vc per channel. */
  scaleShift(a: number, out: number, rows: number, c: number, va: number, vc: number): void;
  /** out = a * va + b * vb + vc per channel. */
  scaleShift2(a: number, b: number, out: number, rows: number, c: number, va: number, vb: number, vc: number): void;
  /** See maxPoolGrad2x2 above (byte offsets; windowRows = N * OH). */
  maxPoolGrad2x2(x: number, dy: number, dx: number, windowRows: number, ow: number, w: number, c: number): void;
  /**
   * See gatherTap above: `count` columns from byte offset p, in rows of `rowLength` floats;
   * (b, y, q) the output position of the first column.
   */
  gatherTap(x: number, p: number, count: number, rowLength: number, ci: number, b: number, y: number, q: number, oh: number, ow: number,
    h: number, w: number, sh: number, sw: number, di: number, dj: number): void;
  /** See swapLastTwo above (byte offsets; 32-bit elements). */
  swapLastTwo(src: number, dst: number, outer: number, a: number, b: number): void;
  /** See im2row above. */
  im2row(x: number, p: number, n: number, h: number, w: number, ci: number, oh: number, ow: number, kh: number, kw: number,
    sh: number, sw: number, top: number, left: number): void;
  /** See rowsToImage above (ci % 4 == 0). */
  rowsToImage(p: number, dx: number, n: number, h: number, w: number, ci: number, oh: number, ow: number, kh: number, kw: number,
    sh: number, sw: number, top: number, left: number): void;
}

type Exports = Record<string, (...args: number[]) => void>;

const instances = new WeakMap<WasmMemory, SimdKernels | null>();

/** The kernels on `memory`, or null where this WebAssembly has no SIMD (callers fall back). */
export function simdKernels(memory: WasmMemory): SimdKernels | null {
  if (instances.has(memory)) return instances.get(memory)!;
  let kernels: SimdKernels | null = null;
  try {
    if (!wasmApi) throw new Error('no WebAssembly');
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const bytes = assemble(
      [columnReduce('columnStats', false), columnReduce('columnGradStats', true), affine('scaleShift', false), affine('scaleShift2', true), maxPoolGrad2x2(), gatherTap(), im2row(), rowsToImage(), swapLastTwo()],
      shared,
    );
    const e = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } }).exports as unknown as Exports;
    kernels = {
      columnStats: (a, rows, c, v, acc1, acc2) => e.columnStats(a, 0, rows, 4 * c, v, acc1, acc2),
      columnGradStats: (a, b, rows, c, v, acc1, acc2) => e.columnGradStats(a, b, rows, 4 * c, v, acc1, acc2),
      scaleShift: (a, out, rows, c, va, vc) => e.scaleShift(a, 0, out, rows, 4 * c, va, 0, vc),
      scaleShift2: (a, b, out, rows, c, va, vb, vc) => e.scaleShift2(a, b, out, rows, 4 * c, va, vb, vc),
      maxPoolGrad2x2: (x, dy, dx, windowRows, ow, w, c) => e.maxPoolGrad2x2(x, dy, dx, windowRows, ow, 4 * w * c, 4 * c),
      gatherTap: (x, p, count, rowLength, ci, b, y, q, oh, ow, h, w, sh, sw, di, dj) =>
        e.gatherTap(x, p, count, ci, b, y, q, oh, ow, h, w, sh, sw, di, dj, 4 * rowLength),
      im2row: (x, p, n, h, w, ci, oh, ow, kh, kw, sh, sw, top, left) => e.im2row(x, p, n, h, w, ci, oh, ow, kh, kw, sh, sw, top, left),
      rowsToImage: (p, dx, n, h, w, ci, oh, ow, kh, kw, sh, sw, top, left) => e.rowsToImage(p, dx, n, h, w, ci, oh, ow, kh, kw, sh, sw, top, left),
      swapLastTwo: (src, dst, outer, a, b) => e.swapLastTwo(src, dst, outer, a, b),
    };
  } catch {
    kernels = null; // no SIMD (or no shared-memory wasm): the callers' general paths
  }
  instances.set(memory, kernels);
  return kernels;
}
