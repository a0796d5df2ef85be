// What the follower and `was-train study status` read of a submitted array: each task as Slurm
// knows it now (`scontrol -o show job`; the jobcomp log for the tasks scontrol has forgotten after
// MinJobAge), and each run's progress from its own folder (the epoch events in metrics.jsonl, read
// from where the last read stopped). A task's end is told by its run folder's summary.json first
// and Slurm second: Slurm says how the task ended (its exit status, a cancel, a time limit), the
// summary says what the run did.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunEndEvent } from '../../../shared/protocol';
import type { StudyRunState, StudySlurmTask } from '../../../shared/study';
import type { SlurmClient } from './client';
import { isFinalState, type SlurmTask } from './records';
import { taskRunState } from './run-state';

/** The tasks of one array by task id, from scontrol, then the jobcomp log for the ones scontrol no longer has. */
export class ArrayTasks {
  private config: Map<string, string> | null = null;
  /** Whether scontrol still listed the array at the last read (it forgets a job MinJobAge seconds after it ended). */
  scontrolKnows = true;

  constructor(private readonly client: SlurmClient) {}

  async read(arrayJobId: string, taskIds: readonly number[]): Promise<Map<number, SlurmTask>> {
    const tasks = new Map<number, SlurmTask>();
    for (const task of await this.client.tasks(arrayJobId)) if (task.taskId !== null) tasks.set(task.taskId, task);
    this.scontrolKnows = tasks.size > 0;
    if (taskIds.every((id) => tasks.has(id))) return tasks;
    this.config ??= await this.client.config();
    for (const task of (await this.client.endedTasks(arrayJobId, this.config)) ?? []) if (task.taskId !== null && !tasks.has(task.taskId)) tasks.set(task.taskId, task);
    return tasks;
  }

  /** True while some task of the array is pending or running. */
  async live(arrayJobId: string): Promise<SlurmTask[]> {
    return (await this.client.tasks(arrayJobId)).filter((t) => !isFinalState(t.state));
  }
}

/** The largest epoch among a metrics.jsonl's epoch events, read incrementally (one reader per file). */
export class EpochReader {
  private offset = 0;
  private rest = '';
  epoch = 0;

  constructor(private readonly file: string) {}

  read(): number {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      return this.epoch;
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < this.offset) Object.assign(this, { offset: 0, rest: '', epoch: 0 }); // a fresh start replaced the file
      const buffer = Buffer.alloc(size - this.offset);
      const got = fs.readSync(fd, buffer, 0, buffer.length, this.offset);
      this.offset += got;
      const lines = (this.rest + buffer.subarray(0, got).toString('utf8')).split('\n');
      this.rest = lines.pop() ?? '';
      for (const line of lines) this.epoch = Math.max(this.epoch, epochOf(line));
    } finally {
      fs.closeSync(fd);
    }
    return this.epoch;
  }
}

function epochOf(line: string): number {
  if (!line.includes('"epoch"')) return 0;
  try {
    const event = JSON.parse(line) as { type?: unknown; epoch?: unknown };
    return event.type === 'epoch' && typeof event.epoch === 'number' ? event.epoch : 0;
  } catch {
    return 0;
  }
}

export function slurmRecord(task: SlurmTask, arrayJobId: string, taskId: number): StudySlurmTask {
  return { arrayJobId, taskId, jobId: task.jobId, state: task.state, exitCode: task.exitCode, signal: task.signal };
}

/** The last non-empty line of a task's output file (its stderr is there too), trimmed; null without one. */
export function lastOutputLine(file: string): string | null {
  let text: string;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const buffer = Buffer.alloc(Math.min(size, 4096));
      fs.readSync(fd, buffer, 0, buffer.length, size - buffer.length);
      text = buffer.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines.length > 0 ? lines[lines.length - 1].replace(/^was-train: /, '') : null;
}

/**
 * How an ended task's run ended: its summary's state (completed, stopped, failed) with Slurm's
 * account beside a reason; without a summary (killed, or never started) Slurm's state, with the
 * last line the task printed.
 */
export function endedRun(task: SlurmTask, summary: RunEndEvent | null, outputFile: string): { state: StudyRunState; reason: string | null } {
  const slurm = taskRunState(task);
  if (summary !== null && summary.status === 'completed') return { state: 'completed', reason: null };
  const slurmSays = task.state === 'COMPLETED' ? `Slurm job ${task.jobId}: COMPLETED, exit status 0` : (slurm.reason ?? `Slurm job ${task.jobId}: ${task.state}`);
  if (summary !== null) return { state: summary.status, reason: `${summary.reason ?? summary.status} (${slurmSays})` };
  const line = lastOutputLine(outputFile);
  const state = slurm.state === 'completed' ? 'failed' : slurm.state;
  const why = slurm.state === 'completed' ? `${slurmSays}, but the run wrote no summary.json` : slurmSays;
  return { state, reason: line === null ? why : `${why}; the task's last line: ${line}` };
}

/** The run folder's metrics file (the WAS run's; its baseline has its own). */
export function metricsFile(runDir: string): string {
  return path.join(runDir, 'metrics.jsonl');
}
