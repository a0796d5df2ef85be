// Multithreaded wasm in Node.
//
// @tensorflow/tfjs-backend-wasm 4.22 ships a threaded SIMD build (XNNPACK on a pthreadpool of
// Web Workers) but switches it off in Node on purpose (tfjs issue 3830: the flag
// WASM_HAS_MULTITHREAD_SUPPORT answers false when IS_NODE). Forcing the flag on fails twice over:
//  1. tfjs hands emscripten the pthread worker script as a Blob URL (locateFile ->
//     URL.createObjectURL); Node's `new Worker('blob:nodedata:...')` throws.
//  2. Each worker then loads the main emscripten script, which tfjs passes as a Blob made from
//     its *bundled* factory's source: in Node's bundle that source refers to the bundle's module
//     variables (`require$$0`), so it cannot run on its own in a worker.
// So, for the duration of the backend's start only, we
//  - record the text of the worker-script Blob tfjs creates (a Blob subclass in place of the global);
//  - answer URL.createObjectURL for it with a real file: that script, preceded by a line that makes
//    the worker's own URL.createObjectURL (used only for the main script) return the package's
//    original emscripten output, wasm-out/tfjs-backend-wasm-threaded-simd.js, which runs anywhere;
//  - make emscripten_num_logical_cores() (os.cpus().length) report 2x the threads we want: the
//    C side caps the pool at half the logical cores (it assumes 2 hyperthreads per core) and at 8
//    (emscripten pre-creates 8 workers).
// Everything is restored when the start ends, successful or not. The caller falls back to the
// single-threaded build when this throws or the start fails (see select.ts). An error raised
// inside a worker while it loads is fatal to the process (emscripten rethrows it), so everything
// a worker needs is checked here before the start.
//
// The worker script goes to a fresh temporary folder, removed as soon as the start has ended (the
// worker pool is created at start-up, so later kernels need nothing from it), or at exit.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

/** Threads the threaded build can use at most (emscripten's pre-created worker pool). */
export const MAX_WASM_THREADS = 8;
/** Overrides the thread count (a positive integer; 1 turns threading off). */
export const WASM_THREADS_ENV = 'WAS_LAB_WASM_THREADS';

const nodeRequire = createRequire(__filename);

/**
 * Threads to ask for: $WAS_LAB_WASM_THREADS if set, else every logical core, at most 8.
 * Returns an error string for a malformed override.
 */
export function wantedWasmThreads(env: NodeJS.ProcessEnv = process.env): { threads: number; why: string } | { error: string } {
  const raw = env[WASM_THREADS_ENV]?.trim();
  if (raw) {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) return { error: `${WASM_THREADS_ENV}=${raw} is not a positive integer` };
    return { threads: Math.min(n, MAX_WASM_THREADS), why: `${WASM_THREADS_ENV}=${raw}` };
  }
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return { threads: Math.max(1, Math.min(cores, MAX_WASM_THREADS)), why: `${cores} logical core${cores === 1 ? '' : 's'}` };
}

/**
 * Runs `start` (which must call tf.setBackend('wasm')) with the threaded build enabled for
 * `threads` threads. Throws before starting when the shims cannot be set up.
 */
export async function startThreaded<T>(threads: number, start: () => Promise<T>): Promise<T> {
  const mainScript = path.join(path.dirname(nodeRequire.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
  if (!/^\s*var WasmBackendModuleThreadedSimd\b/.test(fs.readFileSync(mainScript, 'utf8').slice(0, 200)))
    throw new Error(`${mainScript} is not the emscripten script this version of tfjs-backend-wasm should ship`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-lab-wasm-'));
  removeOnExit(dir);
  const workerFile = path.join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js');
  // In the worker, URL.createObjectURL is only used for the main script.
  const prelude = `URL.createObjectURL = function () { return ${JSON.stringify(mainScript)}; }; URL.revokeObjectURL = function () {};\n`;
  fs.writeFileSync(workerFile, prelude); // fails early on an unwritable temp folder

  const workerTexts = new WeakMap<object, string>();
  const OriginalBlob = globalThis.Blob;
  const originalCreate = URL.createObjectURL;
  const osModule = nodeRequire('node:os') as typeof os;
  const originalCpus = osModule.cpus;
  let workerUrls = 0;

  class RecordingBlob extends OriginalBlob {
    constructor(...args: ConstructorParameters<typeof Blob>) {
      super(...args);
      const parts = args[0];
      // tfjs's worker-script Blob (the emscripten pthread worker, as text).
      if (parts && parts.length === 1 && typeof parts[0] === 'string' && parts[0].includes('WasmBackendModuleThreadedSimd(Module)'))
        workerTexts.set(this, parts[0]);
    }
  }

  const createObjectURL = (obj: Blob): string => {
    const text = workerTexts.get(obj);
    if (text === undefined) return originalCreate.call(URL, obj);
    if (workerUrls++ === 0) fs.writeFileSync(workerFile, prelude + text);
    return workerFile;
  };

  const fakeCores = Array.from({ length: 2 * threads }, () => originalCpus()[0]);
  globalThis.Blob = RecordingBlob as typeof Blob;
  URL.createObjectURL = createObjectURL;
  osModule.cpus = () => fakeCores;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  setThreadsCount(threads);
  try {
    return await start();
  } finally {
    globalThis.Blob = OriginalBlob;
    URL.createObjectURL = originalCreate;
    osModule.cpus = originalCpus;
    // Every worker has read its scripts once the start has ended (emscripten resolves only when
    // all pre-created workers have loaded; the pool never grows later): nothing needs the file.
    removeNow(dir);
  }
}

/**
 * Lets the process exit while the pool's threads idle: emscripten ref()s the Worker of every
 * running pthread, and XNNPACK's pool threads run (parked on a futex) for the backend's
 * lifetime, so a finished trainer would otherwise never exit on its own.
 */
export function unrefPoolWorkers(): number {
  const backend = tf.findBackend('wasm') as unknown as { wasm?: { PThread?: { runningWorkers?: { unref?: () => void }[] } } } | null;
  const workers = backend?.wasm?.PThread?.runningWorkers ?? [];
  for (const w of workers) w.unref?.();
  return workers.length;
}

/** Undoes startThreaded's flag so that a later start uses the single-threaded build. */
export function disableThreads(): void {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  setThreadsCount(1);
}

const toRemove: string[] = [];
let exitHookInstalled = false;

function removeNow(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    // Left for the exit hook.
  }
}

/** A fallback for a start that never ends (the caller gives up on it). */
function removeOnExit(dir: string): void {
  toRemove.push(dir);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const d of toRemove) {
      try {
        fs.rmSync(d, { recursive: true, force: true });
      } catch {
        // Best effort: a leftover temp folder is harmless.
      }
    }
  });
}
