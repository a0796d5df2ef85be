// Slurm's one-line records, read: `scontrol -o show job <id>` prints one line per job (each array
// task that has started is its own job; the tasks still pending share one line whose ArrayTaskId
// is a range), and the jobcomp/filetxt log (`JobCompLoc`) appends one line per job that ended.
// Both are `Key=Value` pairs separated by spaces. Pure: the fixtures in test/fixtures/slurm are
// real outputs of Slurm 22.05 (scripts/slurm/up.sh).

/** One array task (or a job that is not an array: taskId null), as Slurm reports it. */
export interface SlurmTask {
  /** The task's own job id (the array's id while it is still pending). */
  jobId: string;
  /** The array's id (ArrayJobId); the job's own id when it is not an array. */
  arrayJobId: string;
  taskId: number | null;
  /** Slurm's state name: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, ... */
  state: string;
  /** The batch script's exit status (the number before ':' of ExitCode). */
  exitCode: number;
  /** The signal that ended it, 0 when none (the number after ':'; scancel shows 15, kill -9 shows 9). */
  signal: number;
  /** Why it waits or how it ended (Reason), '' where the record has none (jobcomp). */
  reason: string;
}

/** States a job leaves by itself or by a command; anything else has ended for good. */
const LIVE_STATES = new Set(['PENDING', 'RUNNING', 'SUSPENDED', 'COMPLETING', 'CONFIGURING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESIZING', 'SIGNALING', 'STAGE_OUT', 'STOPPED', 'SPECIAL_EXIT']);

/** True when Slurm is done with a task: COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, ... */
export function isFinalState(state: string): boolean {
  return !LIVE_STATES.has(state);
}

/**
 * A key as Slurm writes it, at the start or after a space: letters first, then letters, digits
 * and `_ : /` (`CPUs/Task`, `AllocNode:Sid`). A `k=` after `=` or `,` (`TRES=cpu=1,mem=2`) is part
 * of a value.
 */
const KEY_START = /(?:^|\s)([A-Za-z][A-Za-z0-9_:/]*)=/g;

/**
 * The `Key=Value` pairs of one record. A value runs to the next ` Key=`, so values holding `=`
 * (`TRES=cpu=1,mem=10847M`) or empty ones (`ReservationName=`) are read whole; a value holding
 * a space followed by `word=` cannot be told apart and is split there.
 */
export function parseRecord(line: string): Map<string, string> {
  const fields = new Map<string, string>();
  const starts = [...line.matchAll(KEY_START)];
  starts.forEach((match, i) => {
    const valueStart = match.index + match[0].length;
    const valueEnd = i + 1 < starts.length ? starts[i + 1].index : line.length;
    fields.set(match[1], line.slice(valueStart, valueEnd).trim());
  });
  return fields;
}

/** `3:0` as { exitCode: 3, signal: 0 }; anything else is an error naming the text. */
export function parseExitCode(text: string): { exitCode: number; signal: number } {
  const match = /^(\d+):(\d+)$/.exec(text);
  if (!match) throw new Error(`a Slurm ExitCode must be <status>:<signal>, got ${JSON.stringify(text)}`);
  return { exitCode: Number(match[1]), signal: Number(match[2]) };
}

/**
 * The task ids of an array range as Slurm writes it: `3`, `0-4`, `1,3,5-7`, with a step
 * (`0-10:2`) and a throttle suffix (`2-6%2`) allowed.
 */
export function expandArrayRange(text: string): number[] {
  const body = text.replace(/%\d+$/, '');
  const ids: number[] = [];
  for (const part of body.split(',')) {
    const match = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part);
    if (!match) throw new Error(`not a Slurm array range: ${JSON.stringify(text)}`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    const step = match[3] === undefined ? 1 : Number(match[3]);
    if (last < first || step < 1) throw new Error(`not a Slurm array range: ${JSON.stringify(text)}`);
    for (let id = first; id <= last; id += step) ids.push(id);
  }
  return ids;
}

/** A compact array range for sbatch --array from task ids: [0,1,2,5,7,8] -> `0-2,5,7-8`. */
export function arrayRange(taskIds: readonly number[]): string {
  const ids = [...new Set(taskIds)].sort((a, b) => a - b);
  if (ids.length === 0) throw new Error('an array needs at least one task');
  if (ids.some((id) => !Number.isInteger(id) || id < 0)) throw new Error(`array task ids must be integers >= 0, got ${ids.join(',')}`);
  const parts: string[] = [];
  let start = ids[0];
  for (let i = 1; i <= ids.length; i++) {
    if (i < ids.length && ids[i] === ids[i - 1] + 1) continue;
    const end = ids[i - 1];
    parts.push(end === start ? `${start}` : `${start}-${end}`);
    start = ids[i];
  }
  return parts.join(',');
}

/** The tasks of one record: one, or one per id of a pending range. */
function recordTasks(fields: Map<string, string>, source: string): SlurmTask[] {
  const field = (key: string): string => {
    const value = fields.get(key);
    if (value === undefined) throw new Error(`${source}: a record without ${key}`);
    return value;
  };
  const jobId = field('JobId');
  const { exitCode, signal } = parseExitCode(field('ExitCode'));
  const base = { jobId, arrayJobId: fields.get('ArrayJobId') ?? jobId, state: field('JobState'), exitCode, signal, reason: fields.get('Reason') ?? '' };
  const range = fields.get('ArrayTaskId');
  if (range === undefined) return [{ ...base, taskId: null }];
  return expandArrayRange(range).map((taskId) => ({ ...base, taskId }));
}

/** Each non-empty line of `text` as tasks, in task order (then job id). */
function parseLines(text: string, source: string): SlurmTask[] {
  const tasks = text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => recordTasks(parseRecord(line), source));
  return tasks.sort((a, b) => (a.taskId ?? -1) - (b.taskId ?? -1) || Number(a.jobId) - Number(b.jobId));
}

/** The tasks in the output of `scontrol -o show job <id>`. */
export function parseShowJob(text: string): SlurmTask[] {
  return parseLines(text, 'scontrol show job');
}

/**
 * The tasks of one array (`arrayJobId`) in a jobcomp/filetxt log, the last line of each task
 * winning (a requeued task ends twice). The log has no Reason, and a task cancelled before it
 * started is not in it; scancel of a running task shows there as CANCELLED with ExitCode 0:0
 * (scontrol shows 0:15).
 */
export function parseJobComp(text: string, arrayJobId: string): SlurmTask[] {
  const latest = new Map<number | null, SlurmTask>();
  for (const task of parseLines(text, 'jobcomp log')) if (task.arrayJobId === arrayJobId) latest.set(task.taskId, task);
  return [...latest.values()];
}

/** `scontrol show config` as a map: `JobCompLoc = /var/log/slurm/jobcomp.txt` lines. */
export function parseShowConfig(text: string): Map<string, string> {
  const config = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^(\S+)\s+= ?(.*)$/.exec(line);
    if (match) config.set(match[1], match[2].trim());
  }
  return config;
}

/** The job id from `sbatch --parsable`: `<id>` or `<id>;<cluster>`. */
export function parseSbatchParsable(text: string): string {
  const match = /^(\d+)(?:;\S+)?$/.exec(text.trim());
  if (!match) throw new Error(`sbatch --parsable printed no job id: ${JSON.stringify(text.trim())}`);
  return match[1];
}
