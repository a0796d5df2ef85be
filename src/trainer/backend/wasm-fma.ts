// Relaxed SIMD's fused multiply-add (f32x4.relaxed_madd) for our own wasm kernels.
//
// Why: XNNPACK's wasm kernels are 128-bit SIMD without fused multiply-add (a multiply and an add
// per lane); relaxed_madd lets V8 emit one FMA instruction where the CPU has FMA3 (x64) or NEON
// fma (arm64), and a multiply + add elsewhere (so results may differ in the last bit between
// machines; on one machine they are the same every run).
//
// What runtimes have it (measured with WebAssembly.validate on a one-instruction module):
// - Node 20 (V8 11.3): only behind --experimental-wasm-relaxed-simd. Node refuses that flag in
//   NODE_OPTIONS, but V8 reads its wasm feature flags at every compile, so
//   v8.setFlagsFromString('--experimental-wasm-relaxed-simd') turns it on for modules compiled
//   afterwards (validate: false before, true after). That is what `enableRelaxedSimd` does, at
//   the start of a trainer (no change to how the extension forks it; the CLI needs no flag).
// - Runtimes on V8 11.4 and later (Node 22+, Chromium 114+ and so VS Code's Electron) ship it.
// $WAS_LAB_WASM_FMA=0 turns the FMA path off (plain SIMD multiply + add everywhere).

import * as v8 from 'node:v8';
import { wasmApi } from './wasm-assembler';

export const WASM_FMA_ENV = 'WAS_LAB_WASM_FMA';

/** (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd) */
const RELAXED_MADD_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00,
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b,
]);

export interface FmaStatus {
  /** Whether our kernels use f32x4.relaxed_madd. */
  on: boolean;
  /** One line for the log. */
  note: string;
}

let status: FmaStatus | null = null;

/** Whether this runtime validates relaxed_madd now. */
export function relaxedSimdValidates(): boolean {
  try {
    return wasmApi?.validate(RELAXED_MADD_MODULE) ?? false;
  } catch {
    return false;
  }
}

/** Turns relaxed SIMD on where the runtime has it (once; see the header). */
export function enableRelaxedSimd(env: NodeJS.ProcessEnv = process.env): FmaStatus {
  if (status) return status;
  if (env[WASM_FMA_ENV]?.trim() === '0') return (status = { on: false, note: `FMA off (${WASM_FMA_ENV}=0)` });
  if (relaxedSimdValidates()) return (status = { on: true, note: 'relaxed-SIMD FMA on (built into this runtime)' });
  try {
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    // Not a V8 runtime we know: plain SIMD.
  }
  if (relaxedSimdValidates()) return (status = { on: true, note: 'relaxed-SIMD FMA on (--experimental-wasm-relaxed-simd set at start)' });
  return (status = { on: false, note: 'no relaxed SIMD in this runtime: plain SIMD multiply + add' });
}
