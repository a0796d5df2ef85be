// A study: a grid of settings times seeds, each WAS run paired with its plain baseline (the
// existing --baseline pairing: same seed, data order, augmentation and initial weights), read as
// statistics. Two contracts, each declared once here: the study file a user writes
// (`*.study.json`; its JSON schema is generated from STUDY_FILE by scripts/experiment-schema.ts)
// and the results file the study writes (`<study folder>/study.json`, read by the extension).
// Shared by the trainer, the extension and the webview: no Node or tfjs imports here.

import * as v from 'valibot';
import { CONFIG_OPTIONS, type ConfigOption } from './config';
import { RUN_STATUSES } from './protocol';
import { didYouMean, finiteNumber, flag, issuePath, joinPath, listOf, metric, objectOf, oneOf, orNull, plainObject, recordOf, text } from './schema';
import { ValidationError, isObject } from './validate';

/** What a study's file is called, and the folder its results go to by default. */
export const STUDY_FILE_SUFFIX = '.study.json';
export const STUDIES_DIR = '.was/studies';
/** Inside a study's folder: the results, the report, the lock, and the run folders. */
export const STUDY_RESULTS_FILE = 'study.json';
export const STUDY_REPORT_FILE = 'study.md';
export const STUDY_RUNS_DIR = 'runs';

/**
 * Options a grid may not vary: the seed has its own key (seeds), where runs go and what they are
 * called is the study's to choose, and every WAS run of a study is paired by `baseline`.
 */
export const NOT_GRID_OPTIONS = ['seed', 'runsDir', 'runName', 'baseline'] as const;

/** The options a grid may vary, each a non-empty list of values its own rule checks. */
export const GRID_OPTIONS: readonly ConfigOption[] = CONFIG_OPTIONS.filter((o) => !(NOT_GRID_OPTIONS as readonly string[]).includes(o.path));

const gridAxis = (option: ConfigOption) =>
  v.optional(
    v.pipe(
      listOf(option.schema),
      v.minLength(1, 'an empty list of values; leave the option out of the grid instead'),
      v.description(`values of ${option.path} to try: ${option.help}`),
    ),
  );

/** The grid: option paths ("model", "was.transform", "optimizer.lr") to lists of values. */
const GRID = v.strictObject(Object.fromEntries(GRID_OPTIONS.map((o) => [o.path, gridAxis(o)])), () => 'unknown option');

/** Seeds: a list of distinct seeds, or how many (then 1, 2, ..., n). */
const SEEDS = v.union(
  [
    v.pipe(finiteNumber({ min: 1, max: 1000, integer: true }), v.description('how many seeds: 1, 2, ..., n')),
    v.pipe(
      listOf(finiteNumber({ min: 0, max: 4294967295, integer: true })),
      v.minLength(1, 'no seeds'),
      v.check((seeds) => new Set(seeds).size === seeds.length, 'a seed is listed twice'),
    ),
  ],
  () => 'expected a count of seeds (1 to 1000) or a list of distinct integer seeds',
);

/** Where the study's runs are executed: this machine's trainer processes, or a Slurm cluster's job array. */
const LOCAL_EXECUTOR = v.strictObject({
  kind: v.literal('local'),
  /** Trainer processes at once; 'auto': chosen from the cores. */
  processes: v.optional(v.union([v.literal('auto'), finiteNumber({ min: 1, max: 256, integer: true })]), 'auto'),
  /** wasm threads per process; 'auto': chosen from the cores and the processes. */
  threads: v.optional(v.union([v.literal('auto'), finiteNumber({ min: 1, max: 64, integer: true })]), 'auto'),
});

/** A value that stands on an `#SBATCH` line as it is: no space, quote, backslash or line break. */
const sbatchValue = (what: string) =>
  v.pipe(text(), v.regex(/^[^\s"'\\]+$/, 'no spaces, quotes, backslashes or line breaks (an #SBATCH line cannot carry them)'), v.description(what));

/**
 * The study's runs as one Slurm job array (`sbatch`, one task per run), each task the same
 * `was-train train`/`resume` on the cluster's Node; the study folder must be on a file system the
 * compute nodes share. Each option left out is the cluster's default (docs/slurm.md).
 */
const SLURM_EXECUTOR = v.strictObject({
  kind: v.literal('slurm'),
  partition: v.optional(sbatchValue('sbatch --partition')),
  /** Slurm's time formats: minutes, HH:MM:SS, D-HH:MM. */
  time: v.optional(sbatchValue('sbatch --time: the time limit of each run (minutes, HH:MM:SS, D-HH:MM)')),
  cpusPerTask: v.optional(v.pipe(finiteNumber({ min: 1, max: 1024, integer: true }), v.description('sbatch --cpus-per-task; also the wasm threads of each run'))),
  mem: v.optional(sbatchValue('sbatch --mem: memory per run, e.g. 4G')),
  gres: v.optional(sbatchValue('sbatch --gres, e.g. gpu:1')),
  account: v.optional(sbatchValue('sbatch --account')),
  qos: v.optional(sbatchValue('sbatch --qos')),
  /** More #SBATCH options, one each: "--constraint=a100". */
  extraSbatch: v.optional(v.pipe(listOf(v.pipe(text(), v.regex(/^(#SBATCH\s+)?-[^\r\n]*$/, 'an sbatch option such as --constraint=a100, one per line'))), v.description('more #SBATCH options, one each: "--constraint=a100"'))),
  /** Shell lines each task runs before the trainer (module load nodejs/20). */
  setup: v.optional(v.pipe(listOf(v.pipe(text(), v.regex(/^[^\r\n]*$/, 'one shell line each, without line breaks'))), v.description('shell lines each task runs before the trainer, e.g. "module load nodejs/20"; also run on the submitting machine to check the Node'))),
  /** The compute nodes' node (Node 20+); `node` on their PATH when left out. */
  nodePath: v.optional(v.pipe(text(), v.regex(/^\/[^\s"'\\]*$/, 'an absolute path without spaces or quotes'), v.description('the Node 20+ the tasks run (an absolute path the compute nodes reach); `node` on their PATH when left out'))),
  /** At most this many runs at once (sbatch --array=...%N); the cluster decides when left out. */
  maxConcurrent: v.optional(v.pipe(finiteNumber({ min: 1, max: 100000, integer: true }), v.description('at most this many runs at once (sbatch --array=...%N)'))),
});

export const EXECUTOR_KINDS = ['local', 'slurm'] as const;
const EXECUTOR = v.variant('kind', [LOCAL_EXECUTOR, SLURM_EXECUTOR], (issue) => `expected one of ${EXECUTOR_KINDS.join(', ')}; got ${JSON.stringify(issue.input)}`);

export const STUDY_FILE = v.pipe(
  v.strictObject({
    $schema: v.optional(v.pipe(text(), v.description('The schema this file follows (for editors).'))),
    /** The study's folder name under .was/studies; default: the file's name without .study.json. */
    name: v.optional(v.pipe(text(), v.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/, 'letters, digits, ".", "_" and "-", at most 80'))),
    description: v.optional(text()),
    /**
     * Options every run shares: an experiment file's options (defaults, then the preset, fill the
     * rest), checked with each cell's values by the config's own rules (resolveConfig).
     */
    base: v.optional(plainObject(), {}),
    grid: v.optional(GRID, {}),
    seeds: SEEDS,
    /** Pair every WAS run with a plain run of the same seed (the gain needs it). */
    baseline: v.optional(flag(), true),
    executor: v.optional(EXECUTOR, { kind: 'local', processes: 'auto', threads: 'auto' }),
  }),
  v.title('WAS Lab study'),
  v.description('A grid of settings times seeds, each WAS run paired with its plain baseline: was-train study <file>.'),
);
export type StudyFile = v.InferOutput<typeof STUDY_FILE>;
export type StudyExecutorConfig = StudyFile['executor'];
export type LocalExecutorConfig = Extract<StudyExecutorConfig, { kind: 'local' }>;
export type SlurmExecutorConfig = Extract<StudyExecutorConfig, { kind: 'slurm' }>;
/** The executor of a kind with every option left to its default (`--executor <kind>` over a file of the other kind). */
export function defaultExecutor(kind: (typeof EXECUTOR_KINDS)[number]): StudyExecutorConfig {
  return kind === 'local' ? { kind, processes: 'auto', threads: 'auto' } : { kind };
}

// ---------------------------------------------------------------------------------------------
// The results: <study folder>/study.json, rewritten (atomically) whenever a run changes state.

export const STUDY_FORMAT = 'was-study/1';

/** A run of a study: pending (not started), queued/running (in this executor), or how it ended. */
export const STUDY_RUN_STATES = ['pending', 'queued', 'running', ...RUN_STATUSES] as const;
export type StudyRunState = (typeof STUDY_RUN_STATES)[number];

const count = finiteNumber({ integer: true, min: 0 });
const interval = v.strictTuple([metric(), metric()]);

/** n, mean and sample standard deviation (NaN with n < 2). */
const SUMMARY = objectOf({ n: count, mean: metric(), std: metric() });
export type Summary = v.InferOutput<typeof SUMMARY>;

/**
 * A paired gain (WAS minus plain, per seed, in percentage points): mean, std, n, the 95% Student t
 * interval of the mean difference, a 95% percentile bootstrap interval beside it, and the two-sided
 * p-value of the paired t test (H0: mean gain 0). Intervals and p are NaN (null in JSON) with n < 2.
 */
const GAIN = objectOf({
  n: count,
  mean: metric(),
  std: metric(),
  tInterval: interval,
  bootstrapInterval: interval,
  pValue: metric(),
  perSeed: listOf(objectOf({ seed: count, gain: metric() })),
});
export type Gain = v.InferOutput<typeof GAIN>;

const RUN_RESULT = objectOf({
  /** Test accuracy (fraction) at the selected epoch, AOM. */
  aom: metric(),
  /** The stochastic DOM's test accuracy: the mean over domDraws (dom.testDraws evaluation draws). */
  dom: metric(),
  domDraws: listOf(metric()),
  /** The paired plain run's test accuracy; null without a baseline. */
  baseline: orNull(metric()),
  /** WAS minus plain, percentage points; null without a baseline. */
  gain: orNull(objectOf({ aom: metric(), dom: metric() })),
  durationSec: metric(),
});
export type StudyRunResult = v.InferOutput<typeof RUN_RESULT>;

const SLURM_TASK = objectOf({
  /** The array's job id and the run's task in it; jobId is the task's own id once it started. */
  arrayJobId: text(),
  taskId: count,
  jobId: text(),
  /** Slurm's state name: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, ... */
  state: text(),
  exitCode: count,
  signal: count,
});
export type StudySlurmTask = v.InferOutput<typeof SLURM_TASK>;

const STUDY_RUN = objectOf({
  /** The run folder's name inside <study>/runs. */
  name: text(),
  cell: text(),
  seed: count,
  state: oneOf(STUDY_RUN_STATES),
  /** Why it failed or stopped; null otherwise. */
  reason: orNull(text()),
  /** Epochs done and in all, for progress. */
  epochsCompleted: count,
  epochs: count,
  result: orNull(RUN_RESULT),
  /** Run by the Slurm executor: its array task and what Slurm last said of it (state name, exit status, signal). */
  slurm: v.optional(SLURM_TASK),
});
export type StudyRun = v.InferOutput<typeof STUDY_RUN>;

const STUDY_CELL = objectOf({
  /** "c1", "c2", ...: in grid order. */
  id: text(),
  /** The grid's values for this cell, by option path. */
  settings: recordOf(v.unknown()),
  /** Over the completed runs: test accuracy (fractions) and the paired gains (points). */
  aom: orNull(SUMMARY),
  dom: orNull(SUMMARY),
  baseline: orNull(SUMMARY),
  /** The mean over runs of each run's standard deviation across its DOM draws (fraction). */
  domDrawStd: orNull(metric()),
  gain: objectOf({ aom: orNull(GAIN), dom: orNull(GAIN) }),
});
export type StudyCell = v.InferOutput<typeof STUDY_CELL>;

export const STUDY_RESULTS = objectOf({
  format: v.literal(STUDY_FORMAT, `expected format "${STUDY_FORMAT}"`),
  name: text(),
  /** The study file as given, and the SHA-256 of its bytes (a changed file is refused on resume). */
  file: text(),
  fileSha256: text(),
  study: plainObject<StudyFile>(),
  state: oneOf(['running', 'completed', 'stopped', 'failed'] as const),
  startedAt: text(),
  updatedAt: text(),
  /** Wall seconds across every session of the study. */
  wallSec: metric(),
  versions: recordOf(text()),
  machine: objectOf({ cpus: count, cpuModel: text(), memoryGiB: metric(), platform: text(), arch: text() }),
  executor: objectOf({ kind: text(), processes: count, threadsPerProcess: count }),
  runs: listOf(STUDY_RUN),
  cells: listOf(STUDY_CELL),
});
export type StudyResults = v.InferOutput<typeof STUDY_RESULTS>;

/** Read a study file's JSON; throws a ValidationError naming the field (`grid.was.transfrom: unknown option (did you mean ...)`). */
export function parseStudyFile(value: unknown): StudyFile {
  const result = v.safeParse(STUDY_FILE, value, { abortEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0];
  const path = issuePath(issue);
  if (issue.type === 'strict_object' && issue.expected === 'never') {
    const key = path.split('.').slice(path.startsWith('grid.') || path.startsWith('executor.') ? 1 : 0).join('.');
    const member = EXECUTOR.options.find((o) => isObject(value) && isObject(value.executor) && o.entries.kind.literal === value.executor.kind);
    const known = path.startsWith('grid.') ? GRID_OPTIONS.map((o) => o.path) : path.startsWith('executor.') && member ? Object.keys(member.entries) : Object.keys(STUDY_FILE.pipe[0].entries);
    const why = !path.startsWith('executor.') && (NOT_GRID_OPTIONS as readonly string[]).includes(key) ? ` (${key} is the study's own: ${key === 'seed' ? 'use "seeds"' : 'set by the study'})` : didYouMean(key, known);
    throw new ValidationError(path, `unknown ${path.startsWith('grid.') ? 'grid option' : 'key'}${why}`);
  }
  throw new ValidationError(path, issue.message);
}

/** The seeds a study file names: its list, or 1..n for a count. */
export function studySeeds(seeds: StudyFile['seeds']): number[] {
  return typeof seeds === 'number' ? Array.from({ length: seeds }, (_, i) => i + 1) : seeds;
}

/** Read a study.json (from disk or a message); throws a ValidationError naming the field. */
export function parseStudyResults(value: unknown): StudyResults {
  const result = v.safeParse(STUDY_RESULTS, value, { abortEarly: true });
  if (result.success) return result.output;
  throw new ValidationError(joinPath(STUDY_RESULTS_FILE, issuePath(result.issues[0])), result.issues[0].message);
}
