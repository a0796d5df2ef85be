// A study's plan: its file read and checked, the grid expanded (the cartesian product, in the
// file's key order, first key slowest) into cells, each cell times the seeds into runs, and every
// run's whole TrainConfig resolved by the config's own rules before anything runs, so that a bad
// value is refused naming the grid option (or base option) and the value.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveConfig, type TrainConfig } from '../../shared/config';
import { errorMessage } from '../../shared/errors';
import { runNameProblem } from '../../shared/run-naming';
import { STUDY_FILE_SUFFIX, STUDY_RUNS_DIR, parseStudyFile, studySeeds, type StudyFile } from '../../shared/study';
import { ValidationError, isObject } from '../../shared/validate';

/** A study file that cannot be used; the message names the file and the field. */
export class StudyFileError extends Error {
  override readonly name = 'StudyFileError';
}

export interface StudySource {
  /** The file as given (for messages and the command that reproduces the study). */
  file: string;
  fileSha256: string;
  study: StudyFile;
  /** The grid's option paths in the file's own order. */
  gridKeys: string[];
  /** The study's folder name: `name`, or the file's name without .study.json. */
  name: string;
}

export interface PlannedCell {
  id: string;
  settings: Record<string, unknown>;
}

export interface PlannedRun {
  /** The run folder's name in <study>/runs: `<cell>-<settings slug>-s<seed>`. */
  name: string;
  cell: string;
  seed: number;
  config: TrainConfig;
}

export interface StudyPlan {
  source: StudySource;
  dir: string;
  cells: PlannedCell[];
  runs: PlannedRun[];
}

/** Reads and checks a study file; every problem is a StudyFileError naming the file. */
export function readStudyFile(file: string): StudySource {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw new StudyFileError(`cannot read study file ${file}: ${errorMessage(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new StudyFileError(`study file ${file} is not valid JSON: ${errorMessage(error)}`);
  }
  let study: StudyFile;
  try {
    study = parseStudyFile(json);
  } catch (error) {
    if (error instanceof ValidationError) throw new StudyFileError(`${file}: ${error.message}`);
    throw error;
  }
  const rawGrid = isObject(json) && isObject(json.grid) ? Object.keys(json.grid) : [];
  const grid = study.grid as Record<string, unknown[] | undefined>;
  const gridKeys = rawGrid.filter((key) => grid[key] !== undefined);
  const base = path.basename(file);
  const name = study.name ?? (base.endsWith(STUDY_FILE_SUFFIX) ? base.slice(0, -STUDY_FILE_SUFFIX.length) : base.replace(/\.json$/, ''));
  if (runNameProblem(name) !== null) throw new StudyFileError(`${file}: the study's folder name "${name}" may only hold letters, digits, '.', '_' and '-'; give it a "name"`);
  return { file, fileSha256: createHash('sha256').update(bytes).digest('hex'), study, gridKeys, name };
}

/** The grid's cells: every combination of the values, first key slowest, named c1, c2, ... */
export function gridCells(grid: Record<string, readonly unknown[]>, keys: readonly string[]): PlannedCell[] {
  let combos: Record<string, unknown>[] = [{}];
  for (const key of keys) combos = combos.flatMap((combo) => grid[key].map((value) => ({ ...combo, [key]: value })));
  return combos.map((settings, i) => ({ id: `c${i + 1}`, settings }));
}

/** A cell's settings as a short run-name part: `lenet-shift`, `0.6_0.8` for a list. */
export function settingsSlug(settings: Record<string, unknown>): string {
  const parts = Object.values(settings).map((value) => (Array.isArray(value) ? value.join('_') : String(value)).replace(/[^\w.-]+/g, '_'));
  return parts.join('-').slice(0, 48).replace(/[-_.]+$/, '');
}

export function runName(cell: PlannedCell, seed: number): string {
  const slug = settingsSlug(cell.settings);
  return `${cell.id}${slug ? `-${slug}` : ''}-s${seed}`;
}

/** Expands the study into its runs, each config resolved (and so checked) here. */
export function planStudy(source: StudySource, dir: string): StudyPlan {
  const { study, file } = source;
  const cells = gridCells(study.grid as Record<string, unknown[]>, source.gridKeys);
  const runsDir = path.resolve(dir, STUDY_RUNS_DIR);
  const runs: PlannedRun[] = [];
  for (const cell of cells) {
    for (const seed of studySeeds(study.seeds)) {
      const name = runName(cell, seed);
      const config = cellConfig(source, cell, { seed, baseline: study.baseline, runsDir, runName: name });
      runs.push({ name, cell: cell.id, seed, config });
    }
  }
  if (new Set(runs.map((r) => r.name)).size !== runs.length) throw new StudyFileError(`${file}: two runs would get the same name`);
  return { source, dir, cells, runs };
}

function cellConfig(source: StudySource, cell: PlannedCell, own: Partial<TrainConfig>): TrainConfig {
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(cell.settings)) setPath(patch, key, value);
  const base = source.study.base;
  try {
    resolveConfig([{ patch: base, where: 'base' }]);
  } catch (error) {
    if (error instanceof ValidationError) throw new StudyFileError(`${source.file}: base.${error.message}`);
    throw error;
  }
  try {
    return resolveConfig([
      { patch: base, where: 'base' },
      { patch, where: `grid (cell ${cell.id})` },
      { patch: own, where: 'the study' },
    ]);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const key = Object.keys(cell.settings).find((k) => error.path === k || error.path.startsWith(`${k}.`) || error.path.startsWith(`${k}[`));
    const value = key === undefined ? '' : ` = ${JSON.stringify(cell.settings[key])}`;
    throw new StudyFileError(`${source.file}: grid.${key ?? error.path}${value} (cell ${cell.id}): ${error.message}`);
  }
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const keys = key.split('.');
  let node = target;
  for (const k of keys.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
  node[keys[keys.length - 1]] = value;
}
