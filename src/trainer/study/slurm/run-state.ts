// A Slurm array task's state as a study run's state (src/shared/study.ts), with the reason a user
// reads in study.json and the tree. Pure. Slurm's word decides only while the task is queued or
// running and when it did not end by itself; a task that ended COMPLETED is still checked against
// its run folder by the executor (a run is complete when its summary says so).

import type { StudyRunState } from '../../../shared/study';
import type { SlurmTask } from './records';

export interface TaskRunState {
  state: StudyRunState;
  /** Why it waits, stopped or failed, in words; null when there is nothing to say. */
  reason: string | null;
}

const QUEUED = new Set(['PENDING', 'CONFIGURING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'SPECIAL_EXIT']);
const RUNNING = new Set(['RUNNING', 'COMPLETING', 'SUSPENDED', 'STOPPED', 'SIGNALING', 'STAGE_OUT', 'RESIZING']);
/** Ended by the cluster, not by the run: the run keeps its checkpoint and resumes. */
const STOPPED_BY_CLUSTER: Record<string, string> = {
  CANCELLED: 'cancelled (scancel)',
  TIMEOUT: 'the time limit was reached',
  PREEMPTED: 'preempted by another job',
  NODE_FAIL: 'its node failed',
  BOOT_FAIL: 'its node failed to boot',
  DEADLINE: 'its deadline passed',
};

/** How a task that is not COMPLETED ended: its exit status or its signal. */
function endedWith(task: SlurmTask): string {
  return task.signal !== 0 ? `killed by signal ${task.signal}` : `exit status ${task.exitCode}`;
}

export function taskRunState(task: SlurmTask): TaskRunState {
  const slurmReason = task.reason !== '' && task.reason !== 'None' ? `Slurm: ${task.reason}` : null;
  if (QUEUED.has(task.state)) return { state: 'queued', reason: slurmReason };
  if (RUNNING.has(task.state)) return { state: 'running', reason: null };
  if (task.state === 'COMPLETED') return { state: 'completed', reason: null };
  const stopped = STOPPED_BY_CLUSTER[task.state];
  if (stopped !== undefined) return { state: 'stopped', reason: `Slurm job ${task.jobId}: ${stopped}` };
  if (task.state === 'OUT_OF_MEMORY') return { state: 'failed', reason: `Slurm job ${task.jobId}: out of memory (raise the memory per task)` };
  return { state: 'failed', reason: `Slurm job ${task.jobId}: ${task.state}, ${endedWith(task)}` };
}
