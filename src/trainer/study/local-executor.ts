// The study's runs on this machine: a queue drained by N trainer child processes at once, each a
// `was-train train --config <file> --json` (or `resume <run> --json`) forked from this Node with an
// IPC channel, its wasm threads set through WAS_LAB_WASM_THREADS. Events come up over IPC (epoch
// progress, the run-end); a stop goes down as the trainer's own stop message, so each trainer
// ends at its next step as stopped, checkpointed there, and a resume continues from that step.
// Should this process die (kill -9), every child sees its IPC
// channel close and stops the same way (commands/drive.ts).

import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseTrainerEvent, type TrainerEvent } from '../../shared/protocol';
import type { LocalExecutorConfig } from '../../shared/study';
import { MAX_WASM_THREADS, WASM_THREADS_ENV } from '../backend/wasm-threads';
import type { ExecutorHooks, ExecutorInfo, JobUpdate, StudyExecutor, StudyJob } from './executor';

/** Processes and threads per process, with where each number came from. */
export interface Parallelism {
  processes: number;
  threads: number;
  why: string;
}

export function logicalCores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/**
 * How many trainers at once and wasm threads each: flags over the study file over 'auto'. 'auto'
 * is one single-threaded trainer per core: measured by bench/study-parallel.ts on 2 cores (lenet,
 * MNIST 2000 images, 1 epoch, 4 runs), two 1-thread processes made 537 runs per hour against 378
 * to 418 for one 2-thread process (1.29x to 1.42x; that file's header): a process parallelizes
 * its whole run (data, evaluation, bookkeeping), a wasm thread only the kernels.
 */
export function chooseParallelism(cores: number, config: LocalExecutorConfig, flags: { processes?: number; threads?: number }, runs: number): Parallelism {
  const wantedProcesses = flags.processes ?? (config.processes === 'auto' ? null : config.processes);
  const wantedThreads = flags.threads ?? (config.threads === 'auto' ? null : config.threads);
  const processes = wantedProcesses ?? Math.max(1, Math.min(cores, runs));
  const threads = wantedThreads ?? Math.max(1, Math.min(MAX_WASM_THREADS, Math.floor(cores / processes)));
  const said = (n: number | null, flag: number | undefined): string => (n === null ? 'auto' : flag !== undefined ? 'flag' : 'study file');
  return { processes, threads, why: `${cores} cores; processes ${said(wantedProcesses, flags.processes)}, threads ${said(wantedThreads, flags.threads)}` };
}

/** The trainer script children run: this process's own when it is the trainer, else the built dist/trainer.js. */
export function trainerScript(): string {
  const own = process.argv[1];
  if (own) {
    try {
      const real = fs.realpathSync(own);
      if (path.basename(real) === 'trainer.js') return real;
    } catch {
      // Not a file: look for the build.
    }
  }
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    for (const candidate of [path.join(dir, 'trainer.js'), path.join(dir, 'dist', 'trainer.js')]) if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error('cannot find the built trainer (dist/trainer.js); run npm run build');
  }
}

/** The last non-empty line of a child's stderr, kept within a few kilobytes. */
class Tail {
  private text = '';
  push(chunk: Buffer | string): void {
    this.text = (this.text + chunk.toString()).slice(-4096);
  }
  lastLine(): string | null {
    const lines = this.text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    return lines.length > 0 ? lines[lines.length - 1] : null;
  }
}

export class LocalExecutor implements StudyExecutor {
  readonly info: ExecutorInfo;
  private readonly children = new Set<ChildProcess>();
  private stopReason: string | null = null;
  private stops = 0;

  constructor(
    private readonly parallelism: Parallelism,
    private readonly script: string = trainerScript(),
  ) {
    this.info = { kind: 'local', processes: parallelism.processes, threadsPerProcess: parallelism.threads };
  }

  async run(jobs: readonly StudyJob[], hooks: ExecutorHooks): Promise<void> {
    for (const job of jobs) hooks.onUpdate({ name: job.name, state: 'queued', reason: null });
    const queue = [...jobs];
    const worker = async (): Promise<void> => {
      for (let job = queue.shift(); job !== undefined && this.stopReason === null; job = queue.shift()) await this.runJob(job, hooks);
    };
    await Promise.all(Array.from({ length: Math.min(this.parallelism.processes, jobs.length) }, worker));
  }

  /** First call: every trainer is asked to stop at its next step; a second: they are interrupted (two signals end a trainer at once). */
  stop(reason: string): void {
    this.stopReason ??= reason;
    this.stops++;
    for (const child of this.children) {
      if (this.stops === 1 && child.connected) child.send({ type: 'stop' }, undefined, {}, () => undefined);
      else {
        child.kill('SIGINT');
        child.kill('SIGTERM');
      }
    }
  }

  private runJob(job: StudyJob, hooks: ExecutorHooks): Promise<void> {
    const args = job.resume ? ['resume', job.runDir, '--json'] : ['train', '--config', job.configFile, '--json'];
    const child = fork(this.script, args, {
      silent: true,
      execArgv: [],
      env: { ...process.env, [WASM_THREADS_ENV]: String(this.parallelism.threads) },
    });
    this.children.add(child);
    hooks.onUpdate({ name: job.name, state: 'running', reason: null });
    const stderr = new Tail();
    child.stdout!.resume();
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    let end: Extract<TrainerEvent, { type: 'run-end' }> | null = null;
    child.on('message', (message) => {
      let event: TrainerEvent;
      try {
        event = parseTrainerEvent(message);
      } catch {
        return;
      }
      if (event.type === 'epoch') hooks.onUpdate({ name: job.name, state: 'running', reason: null, epochsCompleted: event.epoch });
      if (event.type === 'run-end') end = event;
    });
    return new Promise((resolve) => {
      child.on('error', (error) => stderr.push(`\n${error.message}\n`));
      child.on('close', (code, signal) => {
        this.children.delete(child);
        hooks.onUpdate(this.ending(job, end, code, signal, stderr));
        resolve();
      });
    });
  }

  private ending(job: StudyJob, end: Extract<TrainerEvent, { type: 'run-end' }> | null, code: number | null, signal: NodeJS.Signals | null, stderr: Tail): JobUpdate {
    if (end !== null) return { name: job.name, state: end.status, reason: end.reason, epochsCompleted: end.epochsCompleted };
    const how = signal !== null ? `killed by ${signal}` : `exited with status ${code}`;
    if (this.stopReason !== null) return { name: job.name, state: 'stopped', reason: `${this.stopReason} (the trainer ${how})` };
    const line = stderr.lastLine();
    return { name: job.name, state: 'failed', reason: line === null ? `the trainer ${how}` : `${line.replace(/^was-train: /, '')} (the trainer ${how})` };
  }
}
