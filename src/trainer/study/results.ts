// The study's results file, <study>/study.json (STUDY_RESULTS in shared/study.ts): every run with
// its state and its numbers read from its own summary.json, the cells' statistics, the versions,
// the machine and the executor. Rewritten whole and atomically on every change, so a reader (the
// extension, a second terminal) sees the old file or the new one, never a torn one.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { errorMessage } from '../../shared/errors';
import { fsyncDirectory, writeFileAtomic } from '../../shared/node/atomic-file';
import type { RunEndEvent } from '../../shared/protocol';
import { STUDY_FORMAT, STUDY_RESULTS_FILE, parseStudyResults, type StudyResults, type StudyRun, type StudyRunResult } from '../../shared/study';
import { BASELINE_DIR } from '../train/session';
import { readSummary } from '../train/resume';
import { packageVersion } from '../version';
import type { ExecutorInfo } from './executor';
import { summarizeCells } from './cells';
import type { StudyPlan } from './plan';

/** A study.json that exists but cannot be read: the message names the file and the field. */
export class StudyResultsError extends Error {
  override readonly name = 'StudyResultsError';
}

/** The study.json in `dir`, or null when there is none yet. */
export function readStudyResults(dir: string): StudyResults | null {
  const file = path.join(dir, STUDY_RESULTS_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StudyResultsError(`cannot read ${file}: ${errorMessage(error)}`);
  }
  try {
    return parseStudyResults(JSON.parse(text));
  } catch (error) {
    throw new StudyResultsError(`${file} is damaged (${errorMessage(error)}); move it aside to start the study's record afresh (its run folders are kept and reused)`);
  }
}

export function writeStudyResults(dir: string, results: StudyResults): void {
  // JSON writes NaN (an interval of one seed) as null, which STUDY_RESULTS reads back as NaN.
  writeFileAtomic(path.join(dir, STUDY_RESULTS_FILE), JSON.stringify(results, null, 2) + '\n');
  fsyncDirectory(dir);
}

/** A run's numbers from its summary.json (and its baseline's), or null before it has test numbers. */
export function runResult(end: RunEndEvent, runDir: string): StudyRunResult | null {
  if (end.test === null) return null;
  const test = end.test as RunEndEvent['test'] & { domDraws?: number[] };
  const baselineEnd = end.baseline ? readSummary(path.join(runDir, BASELINE_DIR)) : null;
  return {
    aom: test.aom,
    dom: test.dom,
    domDraws: test.domDraws ?? [test.dom],
    baseline: end.baseline?.test?.accuracy ?? null,
    gain: end.baseline?.gain ?? null,
    durationSec: end.durationSec + (baselineEnd?.durationSec ?? 0),
  };
}

/** What the run folder says of the run: its summary's state and numbers, null when it has none (never started, or killed). */
export function runFromDisk(run: StudyRun, runDir: string): StudyRun | null {
  const end = readSummary(runDir);
  if (end === null) return null;
  return { ...run, state: end.status, reason: end.reason, epochsCompleted: end.epochsCompleted, result: runResult(end, runDir) };
}

export function pendingRuns(plan: StudyPlan): StudyRun[] {
  return plan.runs.map((r) => ({ name: r.name, cell: r.cell, seed: r.seed, state: 'pending', reason: null, epochsCompleted: 0, epochs: r.config.epochs, result: null }));
}

export function machineInfo(): StudyResults['machine'] {
  const cpus = os.cpus();
  return {
    cpus: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: os.platform(),
    arch: os.arch(),
  };
}

export function studyVersions(): Record<string, string> {
  return { 'was-lab': packageVersion(), tfjs: tf.version_core, node: process.version };
}

export interface ResultsInput {
  plan: StudyPlan;
  state: StudyResults['state'];
  startedAt: string;
  wallSec: number;
  executor: ExecutorInfo;
  runs: StudyRun[];
}

export function studyResults(input: ResultsInput): StudyResults {
  const { plan, runs } = input;
  return {
    format: STUDY_FORMAT,
    name: plan.source.name,
    file: plan.source.file,
    fileSha256: plan.source.fileSha256,
    study: plan.source.study,
    state: input.state,
    startedAt: input.startedAt,
    updatedAt: new Date().toISOString(),
    wallSec: input.wallSec,
    versions: studyVersions(),
    machine: machineInfo(),
    executor: { ...input.executor },
    runs,
    cells: summarizeCells(plan.cells, runs),
  };
}

/** Which parts of the study file differ from the one the study started with: top-level keys, `grid.<axis>`, `base.<key>`. */
export function studyChanges(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const changes: string[] = [];
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (same(before[key], after[key])) continue;
    const a = before[key];
    const b = after[key];
    if ((key === 'grid' || key === 'base') && isRecord(a) && isRecord(b)) {
      for (const sub of new Set([...Object.keys(a), ...Object.keys(b)])) if (!same(a[sub], b[sub])) changes.push(`${key}.${sub} (${show(a[sub])} -> ${show(b[sub])})`);
    } else changes.push(`${key} (${show(a)} -> ${show(b)})`);
  }
  return changes;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  if (value === undefined) return 'absent';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
