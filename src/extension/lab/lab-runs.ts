// The runs the extension shows: the run folders on disk merged with the trainers this window
// started (queued ones have no folder yet; a live one's status is the supervisor's, not the disk's),
// and with the locks of trainers started elsewhere (another window, a terminal): such a run is
// running, whatever its folder's summary says (shared/node/run-lock.ts).

import type { PanelRunStatus } from '../../shared/panel-protocol';
import type { DomSearchEvent, TrainerEvent } from '../../shared/protocol';
import { blockingLock, inspectRunLock, type LockOwner, type LockState } from '../../shared/node/run-lock';
import { downsampleEvents } from '../runs/history-sampling';
import type { Event } from '../base/emitter';
import type { MetricsCache } from '../runs/metrics-cache';
import type { RunRecord, RunStore } from '../runs/run-store';
import { isActive, type Job, type TrainerSupervisor } from '../runs/supervisor';

/** 'incomplete': a folder without a summary that no trainer of this window is writing. */
export type LabRunStatus = PanelRunStatus | 'incomplete';

export interface LabRun {
  runId: string;
  dir: string;
  status: LabRunStatus;
  reason: string | null;
  /** The folder as read from disk; null while queued or when the trainer failed before creating it. */
  record: RunRecord | null;
  /** The trainer this window started for it, if any. */
  job: Job | null;
  /** The process of another window or a terminal that is writing the folder now (its run.lock). */
  lockedBy?: LockOwner;
}

/** What a folder's lock says: free, or who holds it. */
export type LockOf = (dir: string) => LockState;

export function mergeRuns(records: readonly RunRecord[], jobs: readonly Job[], lockOf: LockOf = (dir) => ({ kind: 'free', file: dir })): LabRun[] {
  const byId = new Map(jobs.map((j) => [j.runId, j]));
  const onDisk = new Set(records.map((r) => r.runId));
  // The supervisor knows best how its own trainers ended (a kill, a crash after run-end).
  const fromJob = (job: Job, record: RunRecord | null): LabRun => ({ runId: job.runId, dir: job.spec.runDir, status: job.state, reason: job.reason, record, job });
  const withoutFolder = jobs.filter((j) => !onDisk.has(j.runId)).reverse().map((j) => fromJob(j, null));
  const folders = records.map((record): LabRun => {
    const job = byId.get(record.runId);
    if (job && isActive(job.state)) return fromJob(job, record);
    // Not (or no longer) this window's trainer: a live lock means another process is writing it.
    const lock = lockOf(record.dir);
    if (lock.kind === 'held' || lock.kind === 'foreign') return { runId: record.runId, dir: record.dir, status: 'running', reason: null, record, job: job ?? null, lockedBy: lock.owner };
    return job ? fromJob(job, record) : { runId: record.runId, dir: record.dir, status: record.status, reason: record.reason, record, job: null };
  });
  return [...withoutFolder, ...folders];
}

/**
 * Why `action` (resume, delete) must not touch the run's folder now: another process holds its
 * lock (or a lock that cannot be checked); null when it may. Read at the moment of acting.
 */
export function lockRefusal(run: Pick<LabRun, 'runId' | 'dir'>, action: string): string | null {
  const locked = blockingLock(run.dir);
  return locked === null ? null : `WAS: cannot ${action} ${run.runId}: ${locked.message}`;
}

export class LabRuns {
  constructor(
    private readonly store: RunStore,
    private readonly supervisor: TrainerSupervisor,
    private readonly runsDir: () => string,
    private readonly metrics: MetricsCache = store.metrics,
    /** The folder of a study's run by its id (`<study>/<run>`), or null for any other id: such runs live outside the runs folder. */
    private readonly studyRunDir: (runId: string) => string | null = () => null,
  ) {}

  /** A run folder's metrics.jsonl was read (after a listing that needed it): list again. */
  get onDidReadMetrics(): Event<void> {
    return this.store.onDidReadMetrics;
  }

  list(): LabRun[] {
    const jobs = this.supervisor.list();
    const live = new Set(jobs.filter((j) => isActive(j.state)).map((j) => j.runId));
    return mergeRuns(this.store.list(this.runsDir(), (runId) => live.has(runId)), jobs, inspectRunLock);
  }

  get(runId: string): LabRun | undefined {
    return this.list().find((r) => r.runId === runId) ?? this.studyRun(runId);
  }

  /**
   * A study's run (`<study>/<run>`, in <study>/runs/<run>), read from its folder: the study process
   * runs it, not this window, so its status is its folder's, or running while its lock is held.
   */
  private studyRun(runId: string): LabRun | undefined {
    const dir = this.studyRunDir(runId);
    const record = dir === null ? null : this.store.read(dir);
    if (record === null) return undefined;
    const [run] = mergeRuns([{ ...record, runId }], [], inspectRunLock);
    return run;
  }

  /**
   * A run's history for a metrics page: the trainer's events as received, or metrics.jsonl for
   * other runs (read incrementally and kept by the metrics cache); then the DOM searches saved
   * later by `was-train dom` (those of the run's end are in the stream); the steps thinned to a
   * few thousand per series (history-sampling.ts), every other event kept.
   */
  async history(run: LabRun): Promise<readonly TrainerEvent[]> {
    return this.liveHistory(run) ?? withSearches(run, (await this.metrics.read(run.dir)).events);
  }

  /** The history of a run whose trainer this window started, at once (its events are in memory); null for other runs. */
  liveHistory(run: LabRun): readonly TrainerEvent[] | null {
    return run.job ? withSearches(run, run.job.events) : null;
  }

  /** What to follow when nothing is followed yet: the newest live run, else the newest run. */
  defaultRunId(): string | null {
    return this.newestLive()?.runId ?? this.list()[0]?.runId ?? null;
  }

  /** The newest run a trainer of this window is working on, if any. */
  newestLive(): LabRun | undefined {
    return this.list().find((r) => r.job !== null && isActive(r.job.state) && r.job.state !== 'queued');
  }
}

function withSearches(run: LabRun, events: readonly TrainerEvent[]): readonly TrainerEvent[] {
  const key = (e: DomSearchEvent): string => `${e.checkpoint}|${e.epoch}|${e.flopsTarget}|${e.algorithm}`;
  const inStream = new Set(events.filter((e): e is DomSearchEvent => e.type === 'dom-search').map(key));
  return downsampleEvents([...events, ...(run.record?.domSearches ?? []).filter((s) => !inStream.has(key(s)))]);
}
