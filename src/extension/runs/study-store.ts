// Studies as they are on disk: each <studies folder>/<name>/study.json (STUDY_RESULTS in
// src/shared/study.ts), which a running `was-train study` rewrites atomically whenever a run moves.
// Everything read is parsed from `unknown`; a study whose file is missing, too big, not JSON or not
// the contract's shape is listed with its problem (naming the field), never thrown, so one bad
// folder cannot empty the Runs tree. Paths follow run-paths.ts: a study folder (or its run folder)
// that resolves outside the studies folder, through a symlink, is refused.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorMessage } from '../../shared/errors';
import { runNameProblem } from '../../shared/run-naming';
import { STUDY_FILE_SUFFIX, STUDY_RESULTS_FILE, STUDY_RUNS_DIR, parseStudyFile, parseStudyResults, type StudyFile, type StudyResults } from '../../shared/study';
import { formatSize } from './line-splitter';
import { insideFolder, RunPathError } from './run-paths';

/**
 * The largest study.json read: a 1000-seed, 100-cell study with its per-seed gains is about 2 MB,
 * so 16 MiB is room and then some; a bigger one is not ours (and would stall the extension host).
 */
export const MAX_STUDY_RESULTS_BYTES = 16 * 1024 * 1024;

export interface StudyEntry {
  /** The study's folder name: the key of the study everywhere in the extension. */
  name: string;
  dir: string;
  /** Its study.json. */
  file: string;
  /** The results as last read; null when they could not be read (then `problem` says why). */
  results: StudyResults | null;
  problem: string | null;
  /** study.json's modification time (0 when missing). */
  mtimeMs: number;
}

const STUDIES_NOUN = 'the studies folder';

/** Reads <studiesDir>/<name>/study.json into an entry; never throws. */
export function readStudy(studiesDir: string, name: string): StudyEntry {
  const dir = path.join(studiesDir, name);
  const file = path.join(dir, STUDY_RESULTS_FILE);
  const entry = (results: StudyResults | null, problem: string | null, mtimeMs = 0): StudyEntry => ({ name, dir, file, results, problem, mtimeMs });
  try {
    const problem = runNameProblem(name);
    if (problem !== null) return entry(null, `not a study folder: ${problem}`);
    insideFolder(studiesDir, file, STUDIES_NOUN);
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (stat === undefined) return entry(null, `no ${STUDY_RESULTS_FILE} yet`);
    if (!stat.isFile()) return entry(null, `${STUDY_RESULTS_FILE} is not a file`, stat.mtimeMs);
    if (stat.size > MAX_STUDY_RESULTS_BYTES) return entry(null, `${STUDY_RESULTS_FILE} is ${stat.size} bytes, over the ${formatSize(MAX_STUDY_RESULTS_BYTES)} (${MAX_STUDY_RESULTS_BYTES} bytes) cap; not read`, stat.mtimeMs);
    const text = fs.readFileSync(file, 'utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      return entry(null, `${STUDY_RESULTS_FILE}: not JSON (${errorMessage(error)})`, stat.mtimeMs);
    }
    return entry(parseStudyResults(json), null, stat.mtimeMs);
  } catch (error) {
    return entry(null, errorMessage(error));
  }
}

/** The folder names under `studiesDir` that may be studies (folders, or links to them); a missing folder holds none. */
export function studyNames(studiesDir: string): string[] {
  try {
    return fs
      .readdirSync(studiesDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() || d.isSymbolicLink())
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

/** Every study under `studiesDir`, newest first (by when it started, else its file's time). */
export function listStudies(studiesDir: string, read: (name: string) => StudyEntry = (name) => readStudy(studiesDir, name)): StudyEntry[] {
  const started = (e: StudyEntry): number => {
    const t = e.results ? Date.parse(e.results.startedAt) : Number.NaN;
    return Number.isFinite(t) ? t : e.mtimeMs;
  };
  return studyNames(studiesDir)
    .map(read)
    .sort((a, b) => started(b) - started(a) || a.name.localeCompare(b.name));
}

/**
 * A study's run folder, <studiesDir>/<study>/runs/<run>, for names the run-name rule accepts and a
 * path inside the studies folder after symlinks; RunPathError otherwise.
 */
export function studyRunDir(studiesDir: string, study: string, run: string): string {
  for (const name of [study, run]) {
    const problem = runNameProblem(name);
    if (problem !== null) throw new RunPathError(problem);
  }
  const dir = path.join(studiesDir, study, STUDY_RUNS_DIR, run);
  insideFolder(studiesDir, dir, STUDIES_NOUN);
  return dir;
}

/** The study folder name a study file gives: its `name`, else the file's name without .study.json. */
export function studyNameOf(file: string, study: StudyFile): string {
  if (study.name !== undefined) return study.name;
  const base = path.basename(file);
  return base.endsWith(STUDY_FILE_SUFFIX) ? base.slice(0, -STUDY_FILE_SUFFIX.length) : base;
}

/** Reads and checks a study file (what the trainer will check again); throws an Error naming the file and field. */
export function readStudyFile(file: string): StudyFile {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${path.basename(file)}: ${errorMessage(error)}`);
  }
  try {
    return parseStudyFile(json);
  } catch (error) {
    throw new Error(`${path.basename(file)}: ${errorMessage(error)}`);
  }
}

/**
 * listStudies with a cache: a study.json is parsed again only when its size or time changed, so
 * the tree's refreshes (every few hundred ms while a study runs) re-read only what moved.
 */
export class StudyStore {
  private readonly cache = new Map<string, { signature: string; entry: StudyEntry }>();

  list(studiesDir: string): StudyEntry[] {
    const seen = new Set<string>();
    const entries = listStudies(studiesDir, (name) => {
      const dir = path.join(studiesDir, name);
      seen.add(dir);
      return this.read(studiesDir, name);
    });
    for (const dir of this.cache.keys()) if (!seen.has(dir)) this.cache.delete(dir);
    return entries;
  }

  get(studiesDir: string, name: string): StudyEntry | undefined {
    return studyNames(studiesDir).includes(name) ? this.read(studiesDir, name) : undefined;
  }

  private read(studiesDir: string, name: string): StudyEntry {
    const dir = path.join(studiesDir, name);
    const stat = fs.statSync(path.join(dir, STUDY_RESULTS_FILE), { throwIfNoEntry: false });
    const signature = stat ? `${stat.size}:${stat.mtimeMs}:${stat.ino}` : '-';
    const hit = this.cache.get(dir);
    if (hit?.signature === signature) return hit.entry;
    const entry = readStudy(studiesDir, name);
    this.cache.set(dir, { signature, entry });
    return entry;
  }
}
