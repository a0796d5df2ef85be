// The wasm ceiling of this machine (issue 16): the best multiply-add throughput our wasm SIMD code
// reaches with every core busy, from the microkernel in src/trainer/backend/wasm-ceiling.ts run
// in one worker thread per core at once. Plain SIMD (a multiply and an add per lane, as in
// XNNPACK's kernels) and, where the runtime has relaxed SIMD, fused multiply-add.

import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { CEILING_MACS_PER_ITERATION, ceilingModule } from '../src/trainer/backend/wasm-ceiling';
import { enableRelaxedSimd } from '../src/trainer/backend/wasm-fma';

export interface Ceiling {
  threads: number;
  /** Multiply-adds per second, all threads together: plain SIMD, and FMA (null: no relaxed SIMD). */
  plainMacsPerSec: number;
  fmaMacsPerSec: number | null;
}

/** Iterations per timed run: ~0.1-0.3 s on the machines measured. */
const ITERATIONS = 1 << 21;
const RUNS = 5;

// Plain JavaScript: worker threads run it as it is (no TypeScript loader in a worker).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const memory = new WebAssembly.Memory({ initial: 1 });
const { exports } = new WebAssembly.Instance(new WebAssembly.Module(workerData.bytes), { env: { memory } });
let best = 0;
for (let r = 0; r < workerData.runs; r++) {
  const t0 = process.hrtime.bigint();
  exports.peak(workerData.iterations, 0);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  best = Math.max(best, workerData.iterations * workerData.macsPerIteration / seconds);
}
parentPort.postMessage(best);
`;

/** Sum over `threads` simultaneous workers of each one's best multiply-adds per second. */
async function allCores(bytes: Uint8Array, threads: number): Promise<number> {
  const rates = await Promise.all(
    Array.from({ length: threads }, () => new Promise<number>((resolve, reject) => {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { bytes, iterations: ITERATIONS, runs: RUNS, macsPerIteration: CEILING_MACS_PER_ITERATION },
      });
      worker.once('message', (rate: number) => resolve(rate));
      worker.once('error', reject);
    })),
  );
  return rates.reduce((a, b) => a + b, 0);
}

/** The ceiling with one thread per logical core (relaxed SIMD turned on first, as a trainer does). */
export async function measureCeiling(threads = os.cpus().length): Promise<Ceiling> {
  const fma = enableRelaxedSimd().on;
  const plainMacsPerSec = await allCores(ceilingModule(false), threads);
  const fmaMacsPerSec = fma ? await allCores(ceilingModule(true), threads) : null;
  return { threads, plainMacsPerSec, fmaMacsPerSec };
}
