// One writer per run folder, for the trainer and the extension alike (Node only). A process that
// writes into a run folder (train, resume and its baseline part, dom, export) first creates
// <run>/run.lock exclusively, holding its pid, host and start time, and removes it on every way
// out: done, stopped, failed, or a process exit (an uncaught error, a second Ctrl-C). Only a
// kill -9 (or a power cut) leaves it behind, so a lock is judged before it is honoured:
// - held: its process is alive on this host (and is the same process: a reused pid has another
//   start time in /proc/<pid>/stat, and a zombie has finished);
// - stale: its process is gone from this host; the next writer takes it over, and says so;
// - foreign: another host wrote it (a shared file system); its process cannot be checked from
//   here, so it is refused, naming that host, and the user removes it if they are sure;
// - unreadable: not a lock we wrote (ours are whole: written to a temporary file, then linked
//   into place, which fails when a lock is already there); refused like a foreign one.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { errorMessage } from '../errors';
import { ValidationError, expectNumber, expectObject, expectString } from '../validate';
import { fsyncDirectory, tempSibling } from './atomic-file';

export const RUN_LOCK_FILE = 'run.lock';

/** Who holds a run folder: what is in its run.lock. */
export interface LockOwner {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  startedAt: string;
  /** What the process is doing there (`was-train resume`). */
  command: string;
  /** The process's start time as /proc/<pid>/stat counts it (Linux), to tell a reused pid apart; null elsewhere. */
  processStart: string | null;
}

export type LockState =
  | { kind: 'free'; file: string }
  | { kind: 'held'; file: string; owner: LockOwner }
  | { kind: 'stale'; file: string; owner: LockOwner; why: string }
  | { kind: 'foreign'; file: string; owner: LockOwner }
  | { kind: 'unreadable'; file: string; problem: string };

/** A run folder another process is writing (or may be: a lock from another host, an unreadable lock). */
export class RunLockedError extends Error {
  constructor(readonly state: Exclude<LockState, { kind: 'free' | 'stale' }>) {
    super(lockedMessage(state));
    this.name = 'RunLockedError';
  }
}

export interface RunLock {
  readonly file: string;
  readonly owner: LockOwner;
  /** Removes the lock if it is still this one; safe to call twice. */
  release(): void;
}

/** What run.lock (or another lock file of ours: a study's study.lock) in `dir` says now. */
export function inspectRunLock(dir: string, lockFile: string = RUN_LOCK_FILE): LockState {
  const file = path.join(dir, lockFile);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'free', file };
    return { kind: 'unreadable', file, problem: errorMessage(error) };
  }
  let owner: LockOwner;
  try {
    owner = parseLockOwner(JSON.parse(text));
  } catch (error) {
    return { kind: 'unreadable', file, problem: errorMessage(error) };
  }
  if (owner.host !== os.hostname()) return { kind: 'foreign', file, owner };
  const dead = whyDead(owner);
  return dead === null ? { kind: 'held', file, owner } : { kind: 'stale', file, owner, why: dead };
}

/** A lock that stops a writer: held, foreign or unreadable; null when the folder is free or its lock stale. */
export function blockingLock(dir: string): RunLockedError | null {
  const state = inspectRunLock(dir);
  return state.kind === 'free' || state.kind === 'stale' ? null : new RunLockedError(state);
}

/**
 * Takes the lock of run folder `dir` for `command`, taking over a stale one (said through `log`);
 * `lockFile` names another lock of the same kind (a study folder's study.lock).
 * Throws RunLockedError when another process holds it. Released by `release()` or, failing that,
 * when this process exits.
 */
export function acquireRunLock(dir: string, command: string, log: (line: string) => void = () => undefined, lockFile: string = RUN_LOCK_FILE): RunLock {
  const file = path.join(dir, lockFile);
  const owner: LockOwner = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), command, processStart: processStat(process.pid)?.start ?? null };
  // Two rounds are enough unless other writers race for the same stale lock; then one of them wins.
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createExclusively(file, JSON.stringify(owner) + '\n')) return heldLock(file, owner);
    const state = inspectRunLock(dir, lockFile);
    if (state.kind === 'free') continue;
    if (state.kind !== 'stale') throw new RunLockedError(state);
    if (removeStale(file, state.owner)) log(`took over the stale lock of ${dir}: ${describeOwner(state.owner)}, ${state.why}`);
  }
  const state = inspectRunLock(dir, lockFile);
  throw new RunLockedError(state.kind === 'free' || state.kind === 'stale' ? { kind: 'unreadable', file, problem: 'other processes keep taking it' } : state);
}

/** "was-train resume, pid 4242 on host gpu-box, since 2026-12-06T07:30:00.000Z". */
export function describeOwner(owner: LockOwner): string {
  return `${owner.command}, pid ${owner.pid} on host ${owner.host}, since ${owner.startedAt}`;
}

function lockedMessage(state: RunLockedError['state']): string {
  const dir = path.dirname(state.file);
  switch (state.kind) {
    case 'held':
      return `${dir} is in use by ${describeOwner(state.owner)}; wait for it to end or stop it (its lock: ${state.file})`;
    case 'foreign':
      return `${dir} is locked by ${describeOwner(state.owner)}, which cannot be checked from this host; if no was-train is running on ${state.owner.host} for it, delete ${state.file}`;
    case 'unreadable':
      return `${dir} has a lock that cannot be read (${state.problem}); if no was-train is using that folder, delete ${state.file}`;
  }
}

function parseLockOwner(json: unknown): LockOwner {
  const o = expectObject(json, RUN_LOCK_FILE);
  const processStart = o.processStart === null || o.processStart === undefined ? null : expectString(o.processStart, 'processStart');
  const startedAt = expectString(o.startedAt, 'startedAt');
  if (Number.isNaN(Date.parse(startedAt))) throw new ValidationError('startedAt', `expected an ISO time, got "${startedAt}"`);
  return {
    pid: expectNumber(o.pid, 'pid', { integer: true, min: 1 }),
    host: expectString(o.host, 'host'),
    startedAt,
    command: expectString(o.command, 'command'),
    processStart,
  };
}

/** Why the owner (on this host) no longer holds its lock, or null while it does. */
function whyDead(owner: LockOwner): string | null {
  if (owner.pid === process.pid) return null;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    // EPERM: alive, another user's.
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return `process ${owner.pid} is gone`;
  }
  const stat = processStat(owner.pid);
  if (stat === null) return null;
  if (stat.state === 'Z') return `process ${owner.pid} has ended (a zombie)`;
  if (owner.processStart !== null && stat.start !== owner.processStart) return `pid ${owner.pid} now belongs to another process`;
  return null;
}

/** State and start time (clock ticks after boot) of a process from /proc/<pid>/stat; null without /proc. */
function processStat(pid: number): { state: string; start: string } | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Fields after the command name (which may hold spaces and parentheses): state is the 3rd field, starttime the 22nd.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return fields.length > 19 ? { state: fields[0], start: fields[19] } : null;
}

/** Creates `file` with `text` unless it exists: whole, flushed, then linked into place (link fails on an existing name). */
function createExclusively(file: string, text: string): boolean {
  const tmp = tempSibling(file);
  try {
    writeSynced(tmp, 'w', text);
    try {
      fs.linkSync(tmp, file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EXDEV') throw error;
      // A file system without hard links: O_EXCL directly.
      try {
        writeSynced(file, 'wx', text);
      } catch (inner) {
        if ((inner as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw inner;
      }
    }
    fsyncDirectory(path.dirname(file));
    return true;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function writeSynced(file: string, flags: 'w' | 'wx', text: string): void {
  const fd = fs.openSync(file, flags);
  try {
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Removes the stale lock of `owner`: moved aside first (one rename wins), then checked to be the
 * one judged stale; a fresh lock another process created meanwhile is put back. True when removed.
 */
function removeStale(file: string, owner: LockOwner): boolean {
  const aside = `${file}.stale.${process.pid}`;
  try {
    fs.renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  try {
    const moved = readOwner(aside);
    if (moved !== null && sameOwner(moved, owner)) return true;
    try {
      fs.linkSync(aside, file);
    } catch {
      // A third writer got there first: it holds the folder now.
    }
    return false;
  } finally {
    fs.rmSync(aside, { force: true });
  }
}

function readOwner(file: string): LockOwner | null {
  try {
    return parseLockOwner(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch {
    return null;
  }
}

function sameOwner(a: LockOwner, b: LockOwner): boolean {
  return a.pid === b.pid && a.host === b.host && a.startedAt === b.startedAt && a.processStart === b.processStart;
}

function heldLock(file: string, owner: LockOwner): RunLock {
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    const current = readOwner(file);
    // Only our own lock: after a (wrong) take-over the file is another writer's.
    if (current !== null && sameOwner(current, owner)) fs.rmSync(file, { force: true });
  };
  process.on('exit', release);
  return { file, owner, release };
}
