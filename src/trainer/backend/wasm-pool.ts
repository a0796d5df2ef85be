// Worker threads that run one of our wasm kernels on the backend's shared memory, every core at
// once (the calling thread takes a share too).
//
// Why: our kernels run on the calling thread, XNNPACK's on its own pthread pool, which we cannot
// hand work to. With the threaded build the backend's WebAssembly.Memory is shared, so worker
// threads can instantiate our module on the very same memory and each compute a slice of the
// output (the matrix products of wasm-gemm.ts split by rows). XNNPACK's threads sleep meanwhile:
// the backend is synchronous, so nothing else runs while the caller waits.
//
// How: a small SharedArrayBuffer of control words. The caller writes each worker's arguments,
// bumps the generation and wakes the workers (Atomics.notify), runs its own share, then waits
// until every worker has counted itself done. Workers are created once per memory, wait with
// Atomics.wait between calls, and are unref'd (they never keep the process alive). A pool that
// does not come up within START_TIMEOUT_MS is not used (the callers run single-threaded).

import { Worker } from 'node:worker_threads';
import { wasmApi, type WasmMemory } from './wasm-assembler';

/** Control words: generation, done count, ready count, function index; then MAX_ARGS per worker. */
const [GEN, DONE, READY, FN] = [0, 1, 2, 3];
const HEADER = 4;
const MAX_ARGS = 16;
const START_TIMEOUT_MS = 10_000;

// Plain JavaScript (a worker thread has no TypeScript loader).
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { memory, bytes, control, index, names } = workerData;
const ctl = new Int32Array(control);
const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
const base = ${HEADER} + index * ${MAX_ARGS};
let gen = 0;
Atomics.add(ctl, ${READY}, 1);
Atomics.notify(ctl, ${READY});
for (;;) {
  Atomics.wait(ctl, ${GEN}, gen);
  gen = Atomics.load(ctl, ${GEN});
  const fn = exports[names[ctl[${FN}]]];
  fn(...ctl.subarray(base, base + fn.length));
  Atomics.add(ctl, ${DONE}, 1);
  Atomics.notify(ctl, ${DONE});
}
`;

export interface KernelPool {
  /** Threads in all, the caller's included. */
  readonly threads: number;
  /** Runs export `name` once per thread with that thread's arguments (argsPerThread[0]: the caller's). */
  run(name: string, argsPerThread: number[][]): void;
}

type Exports = Record<string, (...args: number[]) => void>;

/**
 * A pool of `threads` - 1 workers plus the caller on `memory` (which must be shared) running the
 * exports of `bytes`; null when the memory is not shared, threads < 2, or the workers do not start.
 */
export function kernelPool(memory: WasmMemory, bytes: Uint8Array, threads: number): KernelPool | null {
  if (!wasmApi || threads < 2 || typeof SharedArrayBuffer === 'undefined' || !(memory.buffer instanceof SharedArrayBuffer)) return null;
  const own = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } }).exports as unknown as Exports;
  const names = Object.keys(own);
  const control = new SharedArrayBuffer(4 * (HEADER + threads * MAX_ARGS));
  const ctl = new Int32Array(control);
  const workers = threads - 1;
  for (let index = 0; index < workers; index++) {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { memory, bytes, control, index, names } });
    worker.unref();
    worker.on('error', () => undefined); // a worker that fails never counts itself ready: see below
  }
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (let ready = Atomics.load(ctl, READY); ready < workers; ready = Atomics.load(ctl, READY)) {
    if (Date.now() > deadline) return null;
    Atomics.wait(ctl, READY, ready, 100);
  }
  return {
    threads,
    run(name, argsPerThread) {
      Atomics.store(ctl, DONE, 0);
      ctl[FN] = names.indexOf(name);
      for (let w = 0; w < workers; w++) ctl.set(argsPerThread[w + 1], HEADER + w * MAX_ARGS);
      Atomics.add(ctl, GEN, 1);
      Atomics.notify(ctl, GEN);
      own[name](...argsPerThread[0]);
      for (let done = Atomics.load(ctl, DONE); done < workers; done = Atomics.load(ctl, DONE)) Atomics.wait(ctl, DONE, done);
    },
  };
}
