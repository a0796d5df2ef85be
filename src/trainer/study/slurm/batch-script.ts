// The batch script of a job array, rendered from options: `#SBATCH` lines (sbatch reads them up to
// the first command), then the setup lines, then the task's command, which reads
// $SLURM_ARRAY_TASK_ID. Pure. Values go on `#SBATCH` lines unquoted, so a value holding a space,
// a quote or a line break is refused here, naming the option, rather than misread by sbatch.

import { arrayRange } from './records';

/** What an array job asks of Slurm; each option left out is the cluster's default. */
export interface ArrayJobOptions {
  jobName: string;
  /** The array's task ids (sbatch --array), e.g. the indices of a manifest's runs. */
  taskIds: readonly number[];
  /** At most this many tasks at once (`--array=...%N`). */
  maxParallel?: number;
  /** The folder tasks start in (--chdir). */
  workingDirectory: string;
  /** Each task's stdout (--output), Slurm's patterns allowed: `%A` the array's id, `%a` the task id. */
  output: string;
  /** Each task's stderr (--error); with stdout when left out. */
  error?: string;
  partition?: string;
  /** Slurm's time formats: `minutes`, `HH:MM:SS`, `D-HH:MM`, ... */
  timeLimit?: string;
  cpusPerTask?: number;
  /** Memory per task (--mem, one node per task): `4G`, `500M`. */
  memory?: string;
  /** Generic resources, e.g. `gpu:1` (--gres). */
  gres?: string;
  account?: string;
  qos?: string;
  /** More `#SBATCH` lines, written with or without the `#SBATCH ` prefix: `--constraint=a100`. */
  extraDirectives?: readonly string[];
  /** Shell lines run in the task's shell before the command (`module load nodejs/20`). */
  setup?: string;
  /** The task itself: shell lines, with $SLURM_ARRAY_TASK_ID. */
  command: string;
}

/** An option sbatch would misread or refuse; the message names the option. */
export class BatchOptionError extends Error {}

/** A value that can stand on an `#SBATCH` line as it is. */
function directiveValue(name: string, value: string): string {
  if (value === '') throw new BatchOptionError(`${name}: empty`);
  if (/[\s"'\\]/.test(value)) throw new BatchOptionError(`${name}: ${JSON.stringify(value)} holds a space, quote, backslash or line break, which an #SBATCH line cannot carry`);
  return value;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new BatchOptionError(`${name}: expected a whole number >= 1, got ${value}`);
  return value;
}

/** `--constraint=a100` or `#SBATCH --constraint=a100`, one line each, as `#SBATCH --constraint=a100`. */
function extraDirective(line: string, index: number): string {
  const option = line.trim().replace(/^#SBATCH\s+/, '');
  if (/[\r\n]/.test(option)) throw new BatchOptionError(`extraDirectives[${index}]: one #SBATCH line each, got a line break`);
  if (!option.startsWith('-')) throw new BatchOptionError(`extraDirectives[${index}]: expected an sbatch option such as --constraint=a100, got ${JSON.stringify(line)}`);
  return `#SBATCH ${option}`;
}

/** The `--array` value: the task ids as ranges, with the throttle. */
function arraySpec(taskIds: readonly number[], maxParallel: number | undefined): string {
  if (taskIds.length === 0) throw new BatchOptionError('taskIds: an array needs at least one task');
  const throttle = maxParallel === undefined ? '' : `%${positiveInteger('maxParallel', maxParallel)}`;
  if (taskIds.some((id) => !Number.isInteger(id) || id < 0)) throw new BatchOptionError(`taskIds: whole numbers >= 0 expected, got ${taskIds.join(', ')}`);
  return `${arrayRange(taskIds)}${throttle}`;
}

/** The `#SBATCH` lines of the options, in a fixed order. */
export function sbatchDirectives(options: ArrayJobOptions): string[] {
  const optional: [string, string, string | undefined][] = [
    ['error', 'error', options.error],
    ['partition', 'partition', options.partition],
    ['timeLimit', 'time', options.timeLimit],
    ['memory', 'mem', options.memory],
    ['gres', 'gres', options.gres],
    ['account', 'account', options.account],
    ['qos', 'qos', options.qos],
  ];
  const lines = [
    `--job-name=${directiveValue('jobName', options.jobName)}`,
    `--array=${arraySpec(options.taskIds, options.maxParallel)}`,
    `--chdir=${directiveValue('workingDirectory', options.workingDirectory)}`,
    `--output=${directiveValue('output', options.output)}`,
    // The submitter's environment (PATH to node among it), whatever SBATCH_EXPORT says.
    '--export=ALL',
    ...optional.filter(([, , value]) => value !== undefined).map(([name, flag, value]) => `--${flag}=${directiveValue(name, value ?? '')}`),
  ];
  if (options.cpusPerTask !== undefined) lines.push(`--cpus-per-task=${positiveInteger('cpusPerTask', options.cpusPerTask)}`);
  return [...lines.map((line) => `#SBATCH ${line}`), ...(options.extraDirectives ?? []).map(extraDirective)];
}

/**
 * The whole batch script. The setup lines run in the task's own shell (so `module load` and
 * `source` change its environment) and without `set -e` (setup scripts written for login shells
 * often return non-zero on harmless lines); the command's exit status is the task's.
 */
export function renderArrayScript(options: ArrayJobOptions): string {
  if (options.command.trim() === '') throw new BatchOptionError('command: empty');
  const setup = options.setup?.trim() ?? '';
  return [
    '#!/bin/bash',
    '# A job array written by WAS Lab: one task per run, its id in $SLURM_ARRAY_TASK_ID.',
    ...sbatchDirectives(options),
    '',
    ...(setup === '' ? [] : ['# Setup', setup, '']),
    '# The task',
    options.command.trim(),
    '',
  ].join('\n');
}
