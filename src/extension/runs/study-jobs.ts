// The study processes this window started: `dist/trainer.js study <file> --json --studies-dir <dir>`
// forked as runs/trainer-process.ts forks a trainer (the host's or was.nodePath's Node, none of the
// host's flags, piped output), one per study at most. The study process runs its own trainers and
// rewrites study.json as they move (the tree and the study page read that file, study-store.ts);
// what comes back here is its JSON lines (logged) and how it ended. Stop Study is SIGINT, the
// terminal's Ctrl-C: the study stops its runs, keeping them (resumable), then exits; one that is
// still there after the stop timeout gets SIGTERM (a second interrupt).

import { fork, type ChildProcess } from 'node:child_process';
import { EXIT } from '../../shared/exit-codes';
import { MAX_EVENT_SIZE } from '../../shared/protocol';
import { isObject } from '../../shared/validate';
import { Emitter } from '../base/emitter';
import type { Disposable } from '../base/lifecycle';
import { LineSplitter, formatSize } from './line-splitter';
import type { TrainerLaunch } from './trainer-process';

export interface StudyLaunch {
  /** The study's folder name (what the tree and the page key it by). */
  name: string;
  /** The study file, absolute. */
  file: string;
  /** The process: dist/trainer.js with studyArgs, from the workspace root (job-specs.ts trainerLaunch). */
  process: TrainerLaunch;
}

export type StudyJobState = 'running' | 'stopping' | 'completed' | 'stopped' | 'failed';

export interface StudyJob {
  readonly launch: StudyLaunch;
  readonly name: string;
  state: StudyJobState;
  /** Why it failed or stopped; null otherwise. */
  reason: string | null;
}

const STDERR_TAIL_LINES = 6;

/** The trainer's arguments for a study (the agreed CLI; --json: one JSON line per study event). */
export function studyArgs(file: string, studiesDir: string): string[] {
  return ['study', file, '--json', '--studies-dir', studiesDir];
}

/** The trainer's arguments to cancel a study's Slurm jobs: the whole array, or one run's task. */
export function cancelStudyArgs(studyDir: string, run?: string): string[] {
  return ['study', 'cancel', studyDir, ...(run === undefined ? [] : ['--run', run])];
}

/** The trainer's arguments to read a study on Slurm (and bring its study.json up to date when nothing follows it). */
export function studyStatusArgs(studyDir: string): string[] {
  return ['study', 'status', studyDir];
}

/** One state and reason for how a study process ended. */
export function classifyStudyExit(code: number | null, signal: NodeJS.Signals | null, endState: string | null, stopRequested: boolean, stderrTail: readonly string[]): { state: StudyJobState; reason: string | null } {
  const stderr = stderrTail.length > 0 ? `: ${stderrTail.join(' | ').replace(/was-train( study)?: /g, '')}` : '';
  // The study said how it ended (study-end); a failed run makes it exit with EXIT.failed.
  if (endState === 'failed' && signal === null) return { state: 'failed', reason: `a run of the study failed${stderr}` };
  // A Slurm study stopped following: its jobs go on on the cluster (study.json says running).
  if (code === EXIT.ok && signal === null && endState === 'running') return { state: 'stopped', reason: 'no longer followed here; its Slurm jobs go on (WAS: Cancel Study cancels them)' };
  if (code === EXIT.ok && signal === null) {
    return endState === 'stopped' || (endState === null && stopRequested) ? { state: 'stopped', reason: 'stopped on request' } : { state: 'completed', reason: null };
  }
  if (stopRequested && (code === EXIT.interrupted || signal === 'SIGINT' || signal === 'SIGTERM')) return { state: 'stopped', reason: 'stopped on request' };
  if (code === EXIT.usage) return { state: 'failed', reason: `the study was refused${stderr}` };
  if (signal !== null) return { state: 'failed', reason: `the study process was killed by ${signal}${stderr}` };
  return { state: 'failed', reason: `the study process exited with status ${code}${stderr}` };
}

export class StudyJobs implements Disposable {
  private readonly jobs = new Map<string, { job: StudyJob; child: ChildProcess; stopTimer?: NodeJS.Timeout }>();
  private readonly changed = new Emitter<StudyJob>();
  /** A study process started, was asked to stop, or ended. */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly log: (line: string) => void,
    private readonly stopTimeoutMs: () => number = () => 60_000,
  ) {}

  get(name: string): StudyJob | undefined {
    return this.jobs.get(name)?.job;
  }

  isRunning(name: string): boolean {
    const state = this.get(name)?.state;
    return state === 'running' || state === 'stopping';
  }

  /** Forks the study; throws when this window already runs that study. */
  start(launch: StudyLaunch): StudyJob {
    if (this.isRunning(launch.name)) throw new Error(`study ${launch.name} is already running`);
    const child = fork(launch.process.trainerPath, launch.process.args, {
      cwd: launch.process.cwd,
      execPath: launch.process.execPath,
      // Not the host's flags (an extension host's --inspect port, a test runner's loaders).
      execArgv: [],
      env: launch.process.env ?? process.env,
      silent: true,
      serialization: 'json',
    });
    const job: StudyJob = { launch, name: launch.name, state: 'running', reason: null };
    this.jobs.set(launch.name, { job, child });
    this.log(`[study ${launch.name}] started: ${launch.file} (pid ${child.pid ?? '?'})`);
    this.follow(job, child);
    this.changed.fire(job);
    return job;
  }

  /** Asks the study to stop (SIGINT); false when this window runs no such study. */
  stop(name: string): boolean {
    const held = this.jobs.get(name);
    if (!held || held.job.state !== 'running') return false;
    held.job.state = 'stopping';
    held.child.kill('SIGINT');
    held.stopTimer = setTimeout(() => held.child.kill('SIGTERM'), this.stopTimeoutMs());
    this.log(`[study ${name}] stop requested`);
    this.changed.fire(held.job);
    return true;
  }

  /** The window is going: let the study processes go (each stops its runs when it loses its parent). */
  dispose(): void {
    for (const { child, stopTimer } of this.jobs.values()) {
      clearTimeout(stopTimer);
      if (child.connected) child.disconnect();
    }
    this.changed.dispose();
  }

  private follow(job: StudyJob, child: ChildProcess): void {
    let endState: string | null = null;
    const tail: string[] = [];
    const prefix = `[study ${job.name}]`;
    const oversized = (stream: string) => (length: number) => this.log(`${prefix} a line of ${formatSize(length)} on ${stream}, over the ${formatSize(MAX_EVENT_SIZE)} cap; dropped`);
    const stdout = new LineSplitter({
      onLine: (line) => {
        endState = studyEndState(line) ?? endState;
        this.log(`${prefix} ${line}`);
      },
      onOversized: oversized('stdout'),
    });
    const stderr = new LineSplitter({
      onLine: (line) => {
        if (line.trim() !== '' && !/^\s*at /.test(line)) tail.push(line.trim());
        if (tail.length > STDERR_TAIL_LINES) tail.shift();
        this.log(`${prefix} ${line}`);
      },
      onOversized: oversized('stderr'),
    });
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => stdout.push(chunk)).on('end', () => stdout.flush());
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk)).on('end', () => stderr.flush());
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(this.jobs.get(job.name)?.stopTimer);
      const ended = spawnError !== undefined ? { state: 'failed' as const, reason: `the study could not be started: ${spawnError}` } : classifyStudyExit(code, signal, endState, job.state === 'stopping', tail);
      Object.assign(job, ended);
      this.log(`${prefix} ${job.state}${job.reason ? `: ${job.reason}` : ''}`);
      this.changed.fire(job);
    };
    child.on('error', (error) => child.pid === undefined && finish(null, null, error.message));
    child.on('close', (code, signal) => finish(code, signal));
  }
}

/** The state of a `{"type":"study-end","state":...}` line, or null for any other line. */
function studyEndState(line: string): string | null {
  if (!line.startsWith('{')) return null;
  try {
    const json: unknown = JSON.parse(line);
    return isObject(json) && json.type === 'study-end' && typeof json.state === 'string' ? json.state : null;
  } catch {
    return null;
  }
}
