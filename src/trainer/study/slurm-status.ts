// `was-train study status <folder>` and `was-train study cancel <folder> [--run <name>]`: a study
// submitted to Slurm read from Slurm and its run folders, whether or not a process follows it
// (the follower may be gone: Ctrl-C, a closed window, another machine). Status rewrites study.json
// with what it read when no study process holds the study (so the extension's view catches up);
// while one does, that process's study.json is left to it.

import * as path from 'node:path';
import { acquireRunLock, RunLockedError } from '../../shared/node/run-lock';
import { STUDY_RUNS_DIR, type StudyResults, type StudyRun, type StudySlurmTask } from '../../shared/study';
import { readSummary } from '../train/resume';
import { summarizeCells } from './cells';
import { readStudyResults, runFromDisk, studyVersions, writeStudyResults } from './results';
import { STUDY_LOCK_FILE, StudyRefusedError } from './runner';
import type { SlurmClient } from './slurm/client';
import { latestTasks, readManifests, taskOutputFile, type SlurmManifest } from './slurm/manifest';
import { isFinalState, type SlurmTask } from './slurm/records';
import { taskRunState } from './slurm/run-state';
import { ArrayTasks, EpochReader, endedRun, metricsFile, slurmRecord } from './slurm/tracking';

export interface StudyStatus {
  dir: string;
  results: StudyResults;
  /** Each run as read now (Slurm, then its folder); study.json's own record where Slurm has none. */
  runs: StudyRun[];
  /** Each submission with its job id and how many of its tasks are still pending or running. */
  arrays: { submission: number; jobId: string; tasks: number; live: number }[];
  /** The study's state from its runs: running while a task is live. */
  state: StudyResults['state'];
  /** True when study.json was rewritten with what was read (it differed, and no study process holds the study). */
  saved: boolean;
}

function readResults(dir: string): StudyResults {
  const results = readStudyResults(dir);
  if (results === null) throw new StudyRefusedError(`${dir} holds no study.json: not a study folder (was-train study <file> creates one)`);
  return results;
}

/** One run as read now: Slurm's state where its task is live, its folder's summary where it ended. */
function runNow(dir: string, run: StudyRun, manifest: SlurmManifest, taskId: number, task: SlurmTask | undefined): StudyRun {
  const runDir = path.join(dir, STUDY_RUNS_DIR, run.name);
  const jobId = manifest.jobId!;
  const fromDisk = runFromDisk(run, runDir);
  if (task === undefined) return fromDisk?.state === 'completed' ? { ...fromDisk, slurm: run.slurm } : run;
  const slurm: StudySlurmTask = slurmRecord(task, jobId, taskId);
  if (!isFinalState(task.state)) {
    const now = taskRunState(task);
    return { ...run, state: now.state, reason: now.reason, epochsCompleted: new EpochReader(metricsFile(runDir)).read(), result: null, slurm };
  }
  const ended = endedRun(task, readSummary(runDir), taskOutputFile(dir, manifest.submission, taskId));
  const base = fromDisk ?? run;
  return { ...base, state: ended.state, reason: ended.reason, result: ended.state === 'completed' ? base.result : null, slurm };
}

export async function studyStatus(dir: string, client: SlurmClient): Promise<StudyStatus> {
  const results = readResults(dir);
  const manifests = readManifests(dir);
  const arrays = new ArrayTasks(client);
  const tasksOf = new Map<string, Map<number, SlurmTask>>();
  for (const manifest of manifests.filter((m) => m.jobId !== null)) tasksOf.set(manifest.jobId!, await arrays.read(manifest.jobId!, manifest.tasks.map((t) => t.taskId)));
  const latest = latestTasks(manifests);
  const runs = results.runs.map((run) => {
    const at = latest.get(run.name);
    return at === undefined ? run : runNow(dir, run, at.manifest, at.task.taskId, tasksOf.get(at.manifest.jobId!)?.get(at.task.taskId));
  });
  const summary = manifests
    .filter((m) => m.jobId !== null)
    .map((m) => ({ submission: m.submission, jobId: m.jobId!, tasks: m.tasks.length, live: [...(tasksOf.get(m.jobId!)?.values() ?? [])].filter((t) => !isFinalState(t.state)).length }));
  const states = runs.map((r) => r.state);
  const live = summary.some((a) => a.live > 0);
  const state: StudyResults['state'] = live ? 'running' : states.includes('failed') ? 'failed' : states.every((s) => s === 'completed') ? 'completed' : manifests.length > 0 ? 'stopped' : results.state;
  return { dir, results, runs, arrays: summary, state, saved: manifests.length > 0 && save(dir, results, runs, state) };
}

/** Rewrites study.json with the runs as read when they changed, unless a study process holds the study (then it keeps its own). */
function save(dir: string, results: StudyResults, runs: StudyRun[], state: StudyResults['state']): boolean {
  if (state === results.state && JSON.stringify(runs) === JSON.stringify(results.runs)) return false;
  let lock;
  try {
    lock = acquireRunLock(dir, 'was-train study status', () => undefined, STUDY_LOCK_FILE);
  } catch (error) {
    if (error instanceof RunLockedError) return false;
    throw error;
  }
  try {
    const cells = summarizeCells(
      results.cells.map((c) => ({ id: c.id, settings: c.settings })),
      runs,
    );
    writeStudyResults(dir, { ...results, state, runs, cells, versions: studyVersions(), updatedAt: new Date().toISOString() });
    return true;
  } finally {
    lock.release();
  }
}

/** Cancels every live array of the study, or one run's task; returns what was done, a line each. */
export async function cancelStudy(dir: string, client: SlurmClient, run?: string): Promise<string[]> {
  const results = readResults(dir);
  const manifests = readManifests(dir).filter((m) => m.jobId !== null);
  if (manifests.length === 0) throw new StudyRefusedError(`study ${results.name} was never submitted to Slurm (${dir} has no slurm/manifest-*.json): nothing to cancel`);
  const arrays = new ArrayTasks(client);
  if (run !== undefined) {
    const at = latestTasks(manifests).get(run);
    if (at === undefined) throw new StudyRefusedError(`study ${results.name} has no run "${run}" submitted to Slurm; its runs: ${results.runs.map((r) => r.name).join(', ')}`);
    const jobId = at.manifest.jobId!;
    const task = (await arrays.read(jobId, [at.task.taskId])).get(at.task.taskId);
    if (task !== undefined && isFinalState(task.state)) return [`${run}: Slurm task ${jobId}_${at.task.taskId} has already ended (${task.state}); nothing to cancel`];
    await client.cancel(jobId, at.task.taskId);
    return [`${run}: cancelled Slurm task ${jobId}_${at.task.taskId}; it stops at its next step and resumes from there when the study is submitted again`];
  }
  const lines: string[] = [];
  for (const manifest of manifests) {
    const live = await arrays.live(manifest.jobId!);
    if (live.length === 0) continue;
    await client.cancel(manifest.jobId!);
    lines.push(`cancelled Slurm job array ${manifest.jobId} (${live.length} of its ${manifest.tasks.length} tasks were pending or running)`);
  }
  return lines.length > 0 ? lines : [`study ${results.name}: no Slurm array of it is live; nothing to cancel`];
}
