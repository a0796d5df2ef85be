// One model on one backend, in its own process (bench/run.ts forks it): a model that exhausts
// the wasm heap aborts the wasm module for good, so each model gets a fresh process (and a fresh
// 4 GB heap), and the parent retries a smaller batch after such a crash.
//
// argv[2]: a WorkerStart as JSON. Then requests arrive over IPC, one at a time.

import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { EXIT } from '../src/shared/exit-codes';
import { selectBackend } from '../src/trainer/backend/select';
import type { BenchBackend, BenchModel, BlockSpec, Variant } from './options';
import { ModelBench, runBlock, traceMemory, type MemoryTrace } from './tfjs-side';

export interface WorkerStart {
  backend: BenchBackend;
  model: BenchModel;
  batch: number;
  /** webgpu by default (not named): a software adapter does not count as one (it is slower than wasm). */
  hardwareOnly?: boolean;
}

export type WorkerRequest = { cmd: 'block'; spec: BlockSpec } | { cmd: 'memory'; variant: Variant; steps: number } | { cmd: 'quit' };

/** Sent after every step: the parent's watchdog kills a worker that stays silent (a hung step). */
export type WorkerProgress = { type: 'progress'; variant: Variant; ms: number };

export type WorkerReply =
  | {
      type: 'ready';
      /** The backend's own description (threads, package). */
      reason: string;
      /** Threads the backend computes with: the PyTorch peer gets as many. */
      threads: number;
      tfjs: string;
      parameters: number;
      shadowLayers: number;
      lr: number;
      buildMs: number;
      /** Multiply-adds of one image's forward pass (nn/flops.ts: direct convs and dense layers). */
      forwardMacs: number;
    }
  | { type: 'block'; samples: Record<Variant, number[]>; nonFiniteSteps: number; maxRssBytes: number }
  | { type: 'memory'; trace: MemoryTrace; maxRssBytes: number }
  /** stage 'backend': the backend does not load (no model will run on it). */
  | { type: 'error'; stage: 'backend' | 'build' | 'run'; message: string };

function send(reply: WorkerReply): Promise<void> {
  return new Promise((resolve, reject) => process.send!(reply, undefined, undefined, (error) => (error ? reject(error) : resolve())));
}

/** Peak RSS of this process in bytes (resourceUsage gives kilobytes). */
const maxRss = (): number => process.resourceUsage().maxRSS * 1024;

function message(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string') return error.message;
  return String(error);
}

async function main(): Promise<void> {
  const start = JSON.parse(process.argv[2]) as WorkerStart;
  let threads: number;
  let reason: string;
  try {
    const choice = await selectBackend(start.backend, { searchPaths: [] });
    if (start.hardwareOnly && choice.adapter?.software) {
      await send({ type: 'error', stage: 'backend', message: `only a software adapter (${choice.reason}); name it with --backends webgpu to measure it` });
      return;
    }
    // wasm says how many threads it runs; TensorFlow uses every core; the JS cpu backend one.
    threads = choice.threads ?? (start.backend === 'cpu' ? 1 : os.cpus().length);
    reason = choice.reason;
  } catch (error) {
    await send({ type: 'error', stage: 'backend', message: message(error) });
    return;
  }
  let bench: ModelBench;
  const began = Date.now();
  try {
    bench = new ModelBench(start.model, start.batch, (variant, ms) => process.send!({ type: 'progress', variant, ms } satisfies WorkerProgress));
  } catch (error) {
    await send({ type: 'error', stage: 'build', message: message(error) });
    return;
  }
  await send({
    type: 'ready',
    reason,
    threads,
    tfjs: tf.version_core,
    parameters: bench.parameters,
    shadowLayers: bench.shadowLayers.length,
    lr: bench.lr,
    buildMs: Date.now() - began,
    forwardMacs: bench.forwardMacs,
  });
  process.on('message', (request: WorkerRequest) => {
    void (async () => {
      try {
        if (request.cmd === 'quit') {
          bench.dispose();
          process.exit(EXIT.ok);
        } else if (request.cmd === 'block') {
          const samples = await runBlock(bench, request.spec);
          await send({ type: 'block', samples, nonFiniteSteps: bench.nonFiniteSteps, maxRssBytes: maxRss() });
        } else {
          const trace = await traceMemory(bench, request.variant, request.steps);
          await send({ type: 'memory', trace, maxRssBytes: maxRss() });
        }
      } catch (error) {
        // A wasm abort leaves the module unusable: report and end; the parent decides what next.
        await send({ type: 'error', stage: 'run', message: message(error) });
        process.exit(EXIT.failed);
      }
    })();
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(EXIT.failed);
});
