// One forked trainer (dist/trainer.js) with an IPC channel: events come up and are parsed from
// `unknown`, a stop request goes down. Disposing it lets go (the trainer then stops itself). How
// it ended (a run-end, an exit code, a signal, a kill after a stop timeout) is reduced to one
// status and reason.

import { fork, type ChildProcess } from 'node:child_process';
import { errorMessage } from '../../shared/errors';
import { EXIT } from '../../shared/exit-codes';
import { MAX_EVENT_SIZE, parseTrainerEvent, type RunEndEvent, type RunStatus, type TrainerCommand, type TrainerEvent } from '../../shared/protocol';
import type { Disposable } from '../base/lifecycle';
import { LineSplitter, formatSize } from './line-splitter';

export interface TrainerLaunch {
  /** The trainer bundle, dist/trainer.js. */
  trainerPath: string;
  args: string[];
  cwd: string;
  /** A Node executable; undefined: the host's own runtime (VS Code runs a forked script as Node). */
  execPath?: string;
  env?: NodeJS.ProcessEnv;
}

export interface TrainerExit {
  status: RunStatus;
  /** Why it failed or stopped; null when completed. */
  reason: string | null;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The trainer's own run-end event, when it got that far. */
  runEnd: RunEndEvent | null;
}

export interface TrainerProcessHandlers {
  onEvent(event: TrainerEvent): void;
  /** One line the trainer printed (its --plain output, warnings, crashes), without the newline. */
  onOutput(line: string, stream: 'stdout' | 'stderr'): void;
  /** A message that is not a valid trainer event: dropped, and said here. */
  onDroppedMessage(problem: string): void;
}

/** Lines of stderr kept to explain a crash. */
const STDERR_TAIL_LINES = 6;
/** One frame of a JavaScript stack trace, as V8 prints it. */
const STACK_FRAME = /^at (.+ \(.*\)|\S+:\d+:\d+|.*<anonymous>.*|native)$/;

export class TrainerProcess implements Disposable {
  /** Settles once, when the process has exited and its output is drained. */
  readonly exited: Promise<TrainerExit>;
  private runEnd: RunEndEvent | null = null;
  private killReason: string | null = null;
  private spawnError: string | null = null;
  private stderrTail: string[] = [];
  private stopTimer: NodeJS.Timeout | undefined;
  private done = false;
  private released = false;

  private constructor(
    private readonly child: ChildProcess,
    handlers: TrainerProcessHandlers,
  ) {
    const dropLine = (stream: 'stdout' | 'stderr') => (length: number) => handlers.onOutput(`(a line of ${formatSize(length)} on ${stream}, over the ${formatSize(MAX_EVENT_SIZE)} cap; dropped)`, stream);
    const stdout = new LineSplitter({ onLine: (line) => handlers.onOutput(line, 'stdout'), onOversized: dropLine('stdout') });
    const stderr = new LineSplitter({
      onLine: (line) => {
        this.keepStderr(line);
        handlers.onOutput(line, 'stderr');
      },
      onOversized: dropLine('stderr'),
    });
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => stdout.push(chunk)).on('end', () => stdout.flush());
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk)).on('end', () => stderr.flush());
    child.on('message', (message: unknown) => {
      let event: TrainerEvent;
      try {
        event = parseIpcEvent(message);
      } catch (error) {
        handlers.onDroppedMessage(errorMessage(error));
        return;
      }
      if (event.type === 'run-end') this.runEnd = event;
      handlers.onEvent(event);
    });
    this.exited = new Promise((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.done) return;
        this.done = true;
        clearTimeout(this.stopTimer);
        resolve({ ...classifyExit({ code, signal, runEnd: this.runEnd, killReason: this.killReason, spawnError: this.spawnError, stderrTail: this.stderrTail }), code, signal, runEnd: this.runEnd });
      };
      child.on('error', (error) => {
        // A process that never started emits no exit; one that did will still close.
        if (child.pid === undefined) {
          this.spawnError = error.message;
          finish(null, null);
        }
      });
      child.on('close', finish);
      // After we let go of its IPC channel Node may never emit 'close': its exit has to do.
      child.on('exit', (code, signal) => this.released && finish(code, signal));
    });
  }

  static start(launch: TrainerLaunch, handlers: TrainerProcessHandlers): TrainerProcess {
    const child = fork(launch.trainerPath, launch.args, {
      cwd: launch.cwd,
      execPath: launch.execPath,
      // Not the host's flags (an extension host's --inspect port, a test runner's loaders).
      execArgv: [],
      env: launch.env ?? process.env,
      // Pipes, so the trainer's own lines reach the output channel.
      silent: true,
      serialization: 'json',
    });
    return new TrainerProcess(child, handlers);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.done;
  }

  /**
   * Ask for a clean stop (the trainer stops at its next step boundary and writes its summary);
   * kill it if it has not exited after `timeoutMs`.
   */
  requestStop(timeoutMs: number): Promise<TrainerExit> {
    if (this.done || this.stopTimer) return this.exited;
    const command: TrainerCommand = { type: 'stop' };
    if (this.child.connected) {
      this.child.send(command, (error) => {
        if (error && !this.done) this.child.kill('SIGTERM');
      });
    } else {
      // Its channel is gone (it is ending anyway): SIGTERM is the same request.
      this.child.kill('SIGTERM');
    }
    this.stopTimer = setTimeout(() => this.kill(`did not stop within ${formatSeconds(timeoutMs)} of the stop request; killed`), timeoutMs);
    return this.exited;
  }

  /** End it now (SIGKILL); the run is marked failed with `reason`. */
  kill(reason: string): void {
    if (this.done) return;
    this.killReason ??= reason;
    this.child.kill('SIGKILL');
  }

  /**
   * The window is going away (VS Code disposes without waiting for deactivate): let go of the
   * trainer instead of killing it. Losing its parent is a stop request to the trainer, which ends
   * the run itself at its next step, with its summary written and its checkpoint resumable.
   */
  dispose(): void {
    if (this.done) return;
    clearTimeout(this.stopTimer);
    this.released = true;
    if (this.child.connected) this.child.disconnect();
    else this.child.kill('SIGTERM');
  }

  /** Stack frames ("at f (file:1:2)") are left out: the reason is the message, not where it was thrown. */
  private keepStderr(line: string): void {
    const text = line.trim();
    if (text === '' || STACK_FRAME.test(text)) return;
    this.stderrTail.push(text);
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
  }
}

/**
 * A message from the trainer's IPC channel as an event. Node has parsed its JSON already (the
 * channel splits its lines linearly); one over MAX_EVENT_SIZE is refused here, with its size, so
 * that it is neither kept in the job's events nor sent on to a metrics page.
 */
export function parseIpcEvent(message: unknown): TrainerEvent {
  const size = JSON.stringify(message)?.length ?? 0;
  if (size > MAX_EVENT_SIZE) throw new Error(`a message of ${formatSize(size)}, over the ${formatSize(MAX_EVENT_SIZE)} cap for one event`);
  return parseTrainerEvent(message);
}

export interface ExitFacts {
  code: number | null;
  signal: NodeJS.Signals | null;
  runEnd: RunEndEvent | null;
  /** Set when this side killed the process, saying why. */
  killReason: string | null;
  spawnError: string | null;
  stderrTail: readonly string[];
}

/** One status and reason for how a trainer process ended; anything short of a clean end is a failure. */
export function classifyExit(facts: ExitFacts): { status: RunStatus; reason: string | null } {
  const { code, signal, runEnd, killReason, spawnError } = facts;
  const stderr = explain(facts.stderrTail);
  if (spawnError !== null) return { status: 'failed', reason: `the trainer could not be started: ${spawnError}` };
  const cleanExit = code === EXIT.ok && signal === null;
  // A clean end wins over a kill that crossed it (the timer fired while its output drained).
  if (runEnd !== null && runEnd.status === 'failed') return { status: 'failed', reason: runEnd.reason ?? 'the trainer reported a failure' };
  if (runEnd !== null && cleanExit) return { status: runEnd.status, reason: runEnd.reason };
  if (killReason !== null) return { status: 'failed', reason: killReason };
  if (runEnd !== null) return { status: 'failed', reason: `the trainer ${exitWords(code, signal)} after its run ended${stderr}` };
  if (signal !== null)
    return { status: 'failed', reason: `the trainer was killed by ${signal}${signal === 'SIGKILL' ? ' (out of memory, or killed from outside)' : ''}${stderr}` };
  if (code === EXIT.usage) return { status: 'failed', reason: `bad training options${stderr}` };
  if (code !== EXIT.ok) return { status: 'failed', reason: `the trainer ${exitWords(code, signal)}${stderr}` };
  return { status: 'failed', reason: `the trainer exited without finishing a run${stderr}` };
}

function exitWords(code: number | null, signal: NodeJS.Signals | null): string {
  return signal !== null ? `was killed by ${signal}` : `exited with status ${code}`;
}

function explain(tail: readonly string[]): string {
  if (tail.length === 0) return '';
  const text = tail.map((l) => l.replace(/^was-train( \w+)?: /, '')).join(' | ');
  return `: ${text.length > 600 ? '...' + text.slice(-600) : text}`;
}

export function formatSeconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${Number((ms / 1000).toFixed(1))} s`;
}
