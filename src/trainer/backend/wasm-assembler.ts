// A minimal WebAssembly assembler: the dozen opcodes our hand-written SIMD kernels use
// (wasm-simd.ts, winograd-kernels.ts, wasm-ceiling.ts), a module builder that imports the wasm
// backend's memory, and the runtime's WebAssembly API (the project's TypeScript libs carry no
// WebAssembly typings). Kept apart so that each kernel file holds only kernels.

export const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};

export const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
};

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

export const I32 = 0x7f, V128 = 0x7b;
const simd = (code: number, ...imm: number[]): number[] => [0xfd, ...uleb(code), ...imm];

/** The instructions used here (WebAssembly 2.0 + fixed-width SIMD). */
export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32: (n: number) => [0x41, ...sleb(n)],
  f32: (x: number) => [0x43, ...new Uint8Array(new Float32Array([x]).buffer)],
  i32GeU: [0x4f],
  i32LtU: [0x49],
  i32And: [0x71],
  i32LtS: [0x48],
  i32GtS: [0x4a],
  i32GeS: [0x4e],
  i32Or: [0x72],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32Load: [0x28, 2, 0],
  /** (a, b, cond) -> cond ? a : b */
  select: [0x1b],
  ifThen: [0x04, 0x40],
  else: [0x05],
  f32Load: [0x2a, 2, 0],
  f32Store: [0x38, 2, 0],
  vLoad: simd(0x00, 4, 0),
  vStore: simd(0x0b, 4, 0),
  /** v128 load/store at a constant byte offset from the address. */
  vLoadAt: (offset: number) => simd(0x00, 4, ...uleb(offset)),
  vStoreAt: (offset: number) => simd(0x0b, 4, ...uleb(offset)),
  /** One f32 loaded into every lane. */
  vLoad32Splat: simd(0x09, 2, 0),
  vLoad32SplatAt: (offset: number) => simd(0x09, 2, ...uleb(offset)),
  vZero: simd(0x0c, ...new Array<number>(16).fill(0)),
  /** Lanes 2, 3 of the first operand into lanes 0, 1. */
  shuffleHigh: simd(0x0d, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15),
  f32x4Splat: simd(0x13),
  f32x4Gt: simd(0x44),
  vAnd: simd(0x4e),
  vAndNot: simd(0x4f),
  vOr: simd(0x50),
  vBitselect: simd(0x52),
  f64x2PromoteLow: simd(0x5f),
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  /** a * b + c, fused or not as the hardware likes (relaxed SIMD; see relaxedSimdAvailable). */
  f32x4RelaxedMadd: simd(0x105),
  f64x2Add: simd(0xf0),
};

export interface Func {
  name: string;
  params: number;
  locals: number[];
  body: number[];
}

export function assemble(funcs: Func[], shared: boolean): Uint8Array {
  const types = funcs.map((f) => [0x60, ...vec(new Array<number[]>(f.params).fill([I32])), ...vec([])]);
  // The backend's memory: shared memories need a maximum (the threaded build's is 4 GiB).
  const limits = shared ? [0x03, ...uleb(1), ...uleb(65536)] : [0x00, ...uleb(1)];
  const code = funcs.map((f) => {
    const body = [...vec(f.locals.map((t) => [...uleb(1), t])), ...f.body, ...op.end];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]])),
    ...section(3, vec(funcs.map((_, i) => uleb(i)))),
    ...section(7, vec(funcs.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(code)),
  ]);
}

/** `for (v = from; v < to; v += step) body` (i32 locals; instruction lists; from null: v as it is). */
export function forLoop(v: number, from: number[] | null, to: number[], step: number[], body: number[]): number[] {
  return [
    ...(from === null ? [] : [...from, ...op.set(v)]),
    ...op.block, ...op.loop,
    ...op.get(v), ...to, ...op.i32GeU, ...op.brIf(1),
    ...body,
    ...op.get(v), ...step, ...op.i32Add, ...op.set(v),
    ...op.br(0),
    ...op.end, ...op.end,
  ];
}


/** A WebAssembly.Memory (the project's TypeScript libs carry no WebAssembly typings). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}

export interface WebAssemblyApi {
  Memory: abstract new (...args: never[]) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  validate(bytes: Uint8Array): boolean;
  Instance: new (module: object, imports: object) => { exports: object };
}

export const wasmApi = (globalThis as unknown as { WebAssembly?: WebAssemblyApi }).WebAssembly;

/** True for a WebAssembly.Memory. */
export function isWasmMemory(x: unknown): x is WasmMemory {
  return wasmApi !== undefined && x instanceof wasmApi.Memory;
}

