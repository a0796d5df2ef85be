// One session of a study, top to bottom: read and plan it (every config checked before anything
// runs), take the study folder's lock (one live study process per folder), refuse a study file
// that changed since the study started (unless forced), write each run's config, judge each run
// by its folder (completed: kept; a checkpoint: resumed; nothing usable: started afresh; locked by
// a live trainer: waited for, never started twice), hand the rest to the executor, and keep
// study.json current with every change. A failed run does not stop the others.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../shared/node/atomic-file';
import { acquireRunLock, blockingLock, RunLockedError } from '../../shared/node/run-lock';
import { STUDY_REPORT_FILE, STUDY_RUNS_DIR, type StudyResults, type StudyRun, type StudyRunState } from '../../shared/study';
import { checkpointsDir } from '../train/checkpoint';
import { BASELINE_DIR } from '../train/session';
import type { JobUpdate, StudyExecutor, StudyJob } from './executor';
import { planStudy, readStudyFile, type PlannedRun, type StudyPlan } from './plan';
import { studyMarkdown } from './report';
import { pendingRuns, readStudyResults, runFromDisk, studyChanges, studyResults, writeStudyResults } from './results';

export const STUDY_LOCK_FILE = 'study.lock';
export const STUDY_CONFIGS_DIR = 'configs';

/** The study cannot go on as asked: another study process holds it, or its file changed. */
export class StudyRefusedError extends Error {
  override readonly name = 'StudyRefusedError';
}

/** What a study says as it goes (`--json` prints each as a line). */
export type StudyEvent =
  | { type: 'study-run'; name: string; state: StudyRunState; reason: string | null }
  | { type: 'study-end'; state: StudyResults['state']; dir: string };

export interface StudyOptions {
  file: string;
  studiesDir: string;
  force: boolean;
  /** The executor for this plan (chosen from its size and the machine). */
  executor(plan: StudyPlan): StudyExecutor;
  onEvent(event: StudyEvent): void;
  log(line: string): void;
}

/** Stop requests from signals or a caller: the first stops the runs (they checkpoint), a second interrupts them. */
export class StudyStop {
  private readonly listeners: ((reason: string) => void)[] = [];
  reason: string | null = null;
  request(reason: string): void {
    this.reason ??= reason;
    for (const listener of this.listeners) listener(reason);
  }
  onRequest(listener: (reason: string) => void): void {
    this.listeners.push(listener);
  }
}

export function runDirOf(plan: StudyPlan, run: { name: string }): string {
  return path.join(plan.dir, STUDY_RUNS_DIR, run.name);
}

export function configFileOf(plan: StudyPlan, run: { name: string }): string {
  return path.join(plan.dir, STUDY_CONFIGS_DIR, `${run.name}.was.json`);
}

/** Runs (or resumes) the study in `options.file`; returns its results as written to study.json. */
export async function runStudy(options: StudyOptions, stop: StudyStop): Promise<StudyResults> {
  const source = readStudyFile(options.file);
  const dir = path.resolve(options.studiesDir, source.name);
  // Every run's config is resolved here, before any folder exists.
  const plan = planStudy(source, dir);
  fs.mkdirSync(dir, { recursive: true });
  let lock;
  try {
    lock = acquireRunLock(dir, 'was-train study', options.log, STUDY_LOCK_FILE);
  } catch (error) {
    if (error instanceof RunLockedError) throw new StudyRefusedError(`another was-train study is running this study: ${error.message}`);
    throw error;
  }
  try {
    const previous = readStudyResults(dir);
    if (previous !== null && previous.fileSha256 !== source.fileSha256) {
      const changes = studyChanges(previous.study, source.study as unknown as Record<string, unknown>);
      const what = changes.join('; ');
      if (changes.length === 0) options.log(`${source.file} changed since the study started, in its bytes only (formatting or key order): the same study`);
      else if (!options.force) throw new StudyRefusedError(`${source.file} changed since this study started in ${dir}: ${what}. Rerun with --force to go on with the new file (completed runs are kept).`);
      else options.log(`${source.file} changed since the study started (${what}); going on with it (--force)`);
    }
    for (const run of plan.runs) {
      fs.mkdirSync(path.dirname(configFileOf(plan, run)), { recursive: true });
      writeFileAtomic(configFileOf(plan, run), JSON.stringify(run.config, null, 2) + '\n');
    }
    return await new StudySession(plan, previous, options, stop).run();
  } finally {
    lock.release();
  }
}

type Judgement = { kind: 'completed'; run: StudyRun } | { kind: 'job'; job: StudyJob } | { kind: 'locked'; why: string };

class StudySession {
  private readonly runs = new Map<string, StudyRun>();
  private readonly started = Date.now();
  private readonly startedAt: string;
  private readonly priorWallSec: number;
  private readonly executor: StudyExecutor;

  constructor(
    private readonly plan: StudyPlan,
    previous: StudyResults | null,
    private readonly options: StudyOptions,
    private readonly stop: StudyStop,
  ) {
    for (const run of pendingRuns(plan)) this.runs.set(run.name, runFromDisk(run, runDirOf(plan, run)) ?? run);
    // Only a completed run counts as done; the others are judged again below.
    for (const run of this.runs.values()) if (run.state !== 'completed') this.runs.set(run.name, { ...run, state: 'pending', reason: null, result: null });
    this.startedAt = previous?.startedAt ?? new Date().toISOString();
    this.priorWallSec = previous?.wallSec ?? 0;
    this.executor = options.executor(plan);
  }

  async run(): Promise<StudyResults> {
    this.stop.onRequest((reason) => this.executor.stop(reason));
    await this.executor.prepare?.();
    this.save('running');
    const attempted = new Set<string>();
    let waitingSaid = new Set<string>();
    while (this.stop.reason === null) {
      const todo = this.plan.runs.filter((r) => this.runs.get(r.name)!.state !== 'completed' && !attempted.has(r.name));
      if (todo.length === 0) break;
      const jobs: StudyJob[] = [];
      const locked: [PlannedRun, string][] = [];
      for (const run of todo) {
        const judged = this.judge(run);
        if (judged.kind === 'completed') this.update(judged.run);
        else if (judged.kind === 'job') jobs.push(judged.job);
        else locked.push([run, judged.why]);
      }
      for (const [run, why] of locked) if (!waitingSaid.has(run.name)) this.options.log(`waiting for ${run.name}: ${why}`);
      waitingSaid = new Set(locked.map(([run]) => run.name));
      jobs.forEach((job) => attempted.add(job.name));
      if (jobs.length > 0) await this.runJobs(jobs);
      else if (locked.length > 0) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return this.finish();
  }

  /** The executor runs the jobs; one that cannot (sbatch refused them) leaves the study stopped, its runs pending, and says why. */
  private async runJobs(jobs: StudyJob[]): Promise<void> {
    try {
      await this.executor.run(jobs, { onUpdate: (u) => this.onUpdate(u), onLog: this.options.log });
    } catch (error) {
      this.save('stopped');
      throw error;
    }
  }

  /** What the run's folder says should happen to it now. */
  private judge(run: PlannedRun): Judgement {
    const runDir = runDirOf(this.plan, run);
    if (!fs.existsSync(runDir)) return { kind: 'job', job: this.job(run, false) };
    const lock = blockingLock(runDir) ?? (fs.existsSync(path.join(runDir, BASELINE_DIR)) ? blockingLock(path.join(runDir, BASELINE_DIR)) : null);
    if (lock !== null) return { kind: 'locked', why: lock.message };
    const fromDisk = runFromDisk(this.runs.get(run.name)!, runDir);
    if (fromDisk?.state === 'completed') return { kind: 'completed', run: fromDisk };
    if (fs.existsSync(path.join(checkpointsDir(runDir), 'last.json'))) return { kind: 'job', job: this.job(run, true) };
    // Ended (or was killed) before its first checkpoint: nothing to resume from; start it afresh.
    fs.rmSync(runDir, { recursive: true, force: true });
    return { kind: 'job', job: this.job(run, false) };
  }

  private job(run: PlannedRun, resume: boolean): StudyJob {
    return { name: run.name, runDir: runDirOf(this.plan, run), configFile: configFileOf(this.plan, run), resume };
  }

  private onUpdate(update: JobUpdate): void {
    const run = this.runs.get(update.name);
    if (run === undefined) return;
    const ended = update.state === 'completed' || update.state === 'stopped' || update.state === 'failed';
    const fromDisk = ended ? runFromDisk(run, runDirOf(this.plan, run)) : null;
    const next: StudyRun = {
      ...run,
      state: fromDisk?.state === 'completed' ? 'completed' : update.state,
      reason: fromDisk?.state === 'completed' ? null : update.reason,
      epochsCompleted: fromDisk?.epochsCompleted ?? update.epochsCompleted ?? run.epochsCompleted,
      result: fromDisk?.state === 'completed' ? fromDisk.result : null,
      slurm: update.slurm ?? run.slurm,
    };
    this.update(next);
  }

  private update(next: StudyRun): void {
    const before = this.runs.get(next.name)!;
    this.runs.set(next.name, next);
    if (before.state !== next.state || before.reason !== next.reason) this.options.onEvent({ type: 'study-run', name: next.name, state: next.state, reason: next.reason });
    this.save('running');
  }

  private results(state: StudyResults['state']): StudyResults {
    const wallSec = this.priorWallSec + (Date.now() - this.started) / 1000;
    const runs = this.plan.runs.map((r) => this.runs.get(r.name)!);
    return studyResults({ plan: this.plan, state, startedAt: this.startedAt, wallSec, executor: this.executor.info, runs });
  }

  private save(state: StudyResults['state']): StudyResults {
    const results = this.results(state);
    writeStudyResults(this.plan.dir, results);
    return results;
  }

  private finish(): StudyResults {
    // Runs the stop kept from starting go back to pending; a detaching executor's (a cluster's) go on there.
    const detached = this.stop.reason !== null && this.executor.detachesOnStop === true;
    const live = [...this.runs.values()].some((r) => r.state === 'queued' || r.state === 'running');
    for (const run of this.runs.values()) {
      if (detached || (run.state !== 'queued' && run.state !== 'running')) continue;
      this.runs.set(run.name, { ...run, state: 'pending', reason: null });
      this.options.onEvent({ type: 'study-run', name: run.name, state: 'pending', reason: null });
    }
    const states = [...this.runs.values()].map((r) => r.state);
    const state: StudyResults['state'] = detached && live ? 'running' : this.stop.reason !== null ? 'stopped' : states.includes('failed') ? 'failed' : states.every((s) => s === 'completed') ? 'completed' : 'stopped';
    const results = this.save(state);
    writeFileAtomic(path.join(this.plan.dir, STUDY_REPORT_FILE), studyMarkdown(results));
    this.options.onEvent({ type: 'study-end', state, dir: this.plan.dir });
    return results;
  }
}
