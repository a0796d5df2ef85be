// Where a study's runs execute: jobs go in, state changes come out through hooks, stop() ends
// them all. This machine's executor is local-executor.ts (trainer child processes); a cluster
// executor implements the same interface. An executor never decides what a run's result is: it
// reports how the trainer ended, and the study reads the run folder's summary.json.

import type { StudyRunState, StudySlurmTask } from '../../shared/study';

export interface StudyJob {
  /** The run's name (its folder's name in <study>/runs). */
  name: string;
  /** The run folder: created by `train`, continued by `resume`. */
  runDir: string;
  /** The run's whole config (<study>/configs/<name>.was.json), for `train --config`. */
  configFile: string;
  /** Continue the run in runDir from its checkpoint (`resume`) instead of starting it. */
  resume: boolean;
}

/** A state change of one job: queued, running, or how it ended (with why, for stopped and failed). */
export interface JobUpdate {
  name: string;
  state: Exclude<StudyRunState, 'pending'>;
  reason: string | null;
  /** WAS epochs done so far, when the trainer said (its epoch events). */
  epochsCompleted?: number;
  /** The run's Slurm array task and what Slurm says of it (the Slurm executor). */
  slurm?: StudySlurmTask;
}

export interface ExecutorHooks {
  /** Every state change and progress step of a job. */
  onUpdate(update: JobUpdate): void;
  /** A line worth telling the user (a trainer's warning, a lock waited on). */
  onLog?(line: string): void;
}

export interface ExecutorInfo {
  kind: string;
  processes: number;
  threadsPerProcess: number;
}

export interface StudyExecutor {
  readonly info: ExecutorInfo;
  /** True when its jobs go on after stop() (a cluster's): the study then leaves them queued or running. */
  readonly detachesOnStop?: boolean;
  /** Checks made before any job is judged or started; throws to refuse the study (nothing submitted). */
  prepare?(): Promise<void>;
  /** Runs the jobs (at most `processes` at once); resolves when each has ended (or the executor stopped). */
  run(jobs: readonly StudyJob[], hooks: ExecutorHooks): Promise<void>;
  /** Stops every job: running trainers end as stopped at their next step, checkpointed there; queued ones are not started. A detaching executor (a cluster's) stops only following them. */
  stop(reason: string): void;
}
