// The training processes: several at once up to a limit, the rest queued in order. Each job is
// keyed by its run folder name (the extension names runs itself with --run-name, so a queued run
// has its key before its folder exists). A trainer that ends badly marks its job failed with the
// reason and, when it wrote no summary, its folder too (only a folder its trainer announced with a
// run-start in this job, and only inside the runs folder); nothing it does can throw into the host.

import * as path from 'node:path';
import { errorMessage } from '../../shared/errors';
import type { RunStatus, TrainerEvent } from '../../shared/protocol';
import { Emitter } from '../base/emitter';
import type { Disposable } from '../base/lifecycle';
import { BoundedEvents } from './history-sampling';
import { insideRunsFolder } from './run-paths';
import { writeMissingSummary } from './run-store';
import { TrainerProcess, type TrainerExit, type TrainerLaunch, type TrainerProcessHandlers } from './trainer-process';

/** queued: waiting for a free slot; starting: forked, no run-start yet; stopping: stop requested. */
export type JobState = 'queued' | 'starting' | 'running' | 'stopping' | RunStatus;

export interface JobSpec {
  runId: string;
  runDir: string;
  /** The runs folder runDir lies in: the supervisor writes nothing outside it. */
  runsDir: string;
  /** What it is, for the log and notifications ("train lenet on mnist", "resume"). */
  title: string;
  /** Shown for the run before its events say (a queued run has none). */
  model: string | null;
  dataset: string | null;
  transform: string | null;
  launch: TrainerLaunch;
  /** Events already on disk (a resumed run), so the job's event list is the whole history. */
  priorEvents?: readonly TrainerEvent[];
}

export interface Job {
  readonly spec: JobSpec;
  readonly runId: string;
  state: JobState;
  reason: string | null;
  /** The run's events: prior ones, then every one received over IPC (steps thinned as they grow: history-sampling.ts). */
  readonly events: TrainerEvent[];
  exit: TrainerExit | null;
  process: TrainerProcess | null;
}

export interface SupervisorOptions {
  maxConcurrent: () => number;
  stopTimeoutMs: () => number;
  /** Where lines go: the output channel in VS Code, an array in tests. */
  log: (line: string) => void;
  /** Seam for tests that count forks; TrainerProcess.start by default. */
  startProcess?: (launch: TrainerLaunch, handlers: TrainerProcessHandlers) => TrainerProcess;
}

export class TrainerSupervisor implements Disposable {
  private readonly jobs = new Map<string, Job>();
  private readonly queue: Job[] = [];
  private readonly changed = new Emitter<Job>();
  private readonly received = new Emitter<{ job: Job; event: TrainerEvent }>();
  private disposed = false;
  /** A job's state, reason or process changed (queued, started, running, stopping, ended, forgotten). */
  readonly onDidChangeJob = this.changed.event;
  readonly onDidReceiveEvent = this.received.event;

  constructor(private readonly options: SupervisorOptions) {}

  /** Queue a run; it starts at once when a slot is free. Throws if that run is already active. */
  enqueue(spec: JobSpec): Job {
    if (this.disposed) throw new Error('the trainer supervisor is shut down');
    const existing = this.jobs.get(spec.runId);
    if (existing && isActive(existing.state)) throw new Error(`run ${spec.runId} is already ${existing.state}`);
    const job: Job = { spec, runId: spec.runId, state: 'queued', reason: null, events: [...(spec.priorEvents ?? [])], exit: null, process: null };
    this.jobs.set(spec.runId, job);
    this.queue.push(job);
    this.options.log(`[${spec.runId}] queued: ${spec.title}`);
    this.changed.fire(job);
    this.pump();
    return job;
  }

  get(runId: string): Job | undefined {
    return this.jobs.get(runId);
  }

  list(): Job[] {
    return [...this.jobs.values()];
  }

  get runningCount(): number {
    return this.list().filter((j) => j.process?.running).length;
  }

  /** Stop a run: a queued one leaves the queue; a running one is asked to stop, then killed after the timeout. */
  async stop(runId: string): Promise<void> {
    const job = this.jobs.get(runId);
    if (!job) return;
    if (job.state === 'queued') {
      this.queue.splice(this.queue.indexOf(job), 1);
      this.settle(job, 'stopped', 'removed from the queue before it started');
      return;
    }
    if (!job.process?.running) return;
    if (job.state !== 'stopping') {
      job.state = 'stopping';
      this.options.log(`[${runId}] stop requested; killed if still running after ${this.options.stopTimeoutMs() / 1000} s`);
      this.changed.fire(job);
    }
    // Settled by then: launch() subscribed to the same promise first.
    await job.process.requestStop(this.options.stopTimeoutMs());
  }

  /** Drop a finished job from the list (its folder on disk is untouched). */
  forget(runId: string): void {
    const job = this.jobs.get(runId);
    if (!job || isActive(job.state)) return;
    this.jobs.delete(runId);
    this.changed.fire(job);
  }

  dispose(): void {
    this.disposed = true;
    this.queue.splice(0);
    for (const job of this.jobs.values()) job.process?.dispose();
    this.changed.dispose();
    this.received.dispose();
  }

  private pump(): void {
    while (!this.disposed && this.queue.length > 0 && this.runningCount < Math.max(1, this.options.maxConcurrent())) {
      this.launch(this.queue.shift()!);
    }
  }

  private launch(job: Job): void {
    const { runId, launch } = job.spec;
    const start = this.options.startProcess ?? TrainerProcess.start;
    this.options.log(`[${runId}] starting: node ${[launch.trainerPath, ...launch.args].map(quoteArg).join(' ')}`);
    job.state = 'starting';
    // The trainer's run-start says it created (or opened, to resume) the run folder in this job:
    // before that, the folder may be another run's (a name taken meanwhile) and is not ours to mark.
    let announced = false;
    // The host keeps a live run's events thinned (history-sampling.ts): bounded however long it runs.
    const history = new BoundedEvents(job.events);
    job.process = start(launch, {
      onEvent: (event) => {
        history.push(event);
        if (event.type === 'run-start') announced = true;
        if (event.type === 'run-start' && job.state === 'starting') {
          job.state = 'running';
          this.changed.fire(job);
        }
        this.received.fire({ job, event });
      },
      onOutput: (line) => this.options.log(`[${runId}] ${line}`),
      onDroppedMessage: (problem) => this.options.log(`[${runId}] dropped a malformed message from the trainer: ${problem}`),
    });
    this.changed.fire(job);
    void job.process.exited.then((exit) => {
      job.exit = exit;
      if (exit.runEnd === null && exit.status === 'failed' && announced) this.markFailed(job, exit.reason);
      this.settle(job, exit.status, exit.reason);
      this.pump();
    });
  }

  /** summary.json for a run whose trainer died without writing one, only inside the runs folder. */
  private markFailed(job: Job, reason: string | null): void {
    const { runsDir, runDir } = job.spec;
    try {
      insideRunsFolder(runsDir, path.join(runDir, 'summary.json'));
      writeMissingSummary(runDir, 'failed', reason ?? 'the trainer ended without a summary', job.events);
    } catch (error) {
      this.options.log(`[${job.runId}] could not write summary.json: ${errorMessage(error)}`);
    }
  }

  private settle(job: Job, status: RunStatus, reason: string | null): void {
    job.state = status;
    job.reason = reason;
    this.options.log(`[${job.runId}] ${status}${reason ? `: ${reason}` : ''}`);
    if (!this.disposed) this.changed.fire(job);
  }
}

/** Queued or with a trainer process going (also for a run's status, which adds 'incomplete'). */
export function isActive(state: JobState | 'incomplete'): boolean {
  return state === 'queued' || state === 'starting' || state === 'running' || state === 'stopping';
}

function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
