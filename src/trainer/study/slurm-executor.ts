// The study's runs on a Slurm cluster: the runs to start go out as ONE job array (sbatch, one task
// per run), each task the same `was-train train --config <file>` or `resume <run>` a local study
// forks, on the cluster's Node, so every run folder is what a local run writes. The task id is the
// run through the manifest (slurm/manifest.ts), written before sbatch. This process then follows
// the array (scontrol, the jobcomp log for tasks scontrol forgot) and the run folders (progress
// from metrics.jsonl, results from summary.json) until every task has ended.
//
// A stop (Ctrl-C, the extension's window closing) only stops the following: the jobs go on on the
// cluster, where no terminal of ours needs to stay open (the reason to use one); `was-train study
// cancel` cancels them, `was-train study status` reads them. Submitting again while the array is
// live is refused; once it has ended, the same command submits only the runs not completed, each
// resumed from its checkpoint.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SlurmExecutorConfig } from '../../shared/study';
import { describeOwner, inspectRunLock } from '../../shared/node/run-lock';
import { readSummary } from '../train/resume';
import { BASELINE_DIR } from '../train/session';
import { WASM_THREADS_ENV } from '../backend/wasm-threads';
import type { ExecutorHooks, ExecutorInfo, JobUpdate, StudyExecutor, StudyJob } from './executor';
import { trainerScript } from './local-executor';
import { StudyRefusedError } from './runner';
import { renderArrayScript } from './slurm/batch-script';
import type { SlurmClient } from './slurm/client';
import { MANIFEST_FORMAT, manifestFile, nextSubmission, readManifests, slurmDir, taskOutputFile, taskOutputPattern, writeManifest, type ManifestTask, type SlurmManifest } from './slurm/manifest';
import { clusterNodeProblem, nodeGuardLines, shellQuoted } from './slurm/node-check';
import { isFinalState, type SlurmTask } from './slurm/records';
import { taskRunState } from './slurm/run-state';
import { ArrayTasks, EpochReader, endedRun, metricsFile, slurmRecord } from './slurm/tracking';

export const DEFAULT_POLL_MS = 3000;

export interface SlurmExecutorOptions {
  config: SlurmExecutorConfig;
  /** The study's folder and name (the array's job name is `was-<name>`). */
  studyDir: string;
  studyName: string;
  /** How many runs the study has (for the study.json's executor line). */
  runs: number;
  client: SlurmClient;
  /** The environment the node check runs in (this process's). */
  env?: NodeJS.ProcessEnv;
  /** The trainer the tasks run: this process's dist/trainer.js. */
  trainer?: string;
  /** How often scontrol is asked (ms). */
  pollMs?: number;
  /** Where the checks before submitting say what they did. */
  log?(line: string): void;
}

/** A task being followed: its run, its progress reader, what was last said of it. */
interface Followed {
  task: ManifestTask;
  epochs: EpochReader;
  said: string;
  ended: boolean;
}

export class SlurmExecutor implements StudyExecutor {
  readonly info: ExecutorInfo;
  readonly detachesOnStop = true;
  private stopReason: string | null = null;
  private wake: (() => void) | null = null;
  private readonly arrays: ArrayTasks;

  constructor(private readonly options: SlurmExecutorOptions) {
    const { config, runs } = options;
    this.info = { kind: 'slurm', processes: Math.min(config.maxConcurrent ?? runs, runs), threadsPerProcess: config.cpusPerTask ?? 1 };
    this.arrays = new ArrayTasks(options.client);
  }

  /** Before anything is submitted: no array of this study still live, the study folder there, a Node 20+ for the tasks. */
  async prepare(): Promise<void> {
    const { studyDir, studyName, config } = this.options;
    for (const manifest of readManifests(studyDir)) {
      if (manifest.jobId === null) continue;
      const live = await this.arrays.live(manifest.jobId);
      if (live.length === 0) continue;
      const counts = [...new Set(live.map((t) => t.state))].map((s) => `${live.filter((t) => t.state === s).length} ${s.toLowerCase()}`).join(', ');
      throw new StudyRefusedError(
        `study ${studyName}'s Slurm array ${manifest.jobId} (${path.relative(studyDir, manifestFile(studyDir, manifest.submission))}) is still live (${counts}): ` +
          `follow it with \`was-train study status ${studyDir}\`, cancel it with \`was-train study cancel ${studyDir}\`; once it has ended, this command submits the runs that did not complete`,
      );
    }
    this.clearForeignLocks();
    fs.accessSync(studyDir, fs.constants.W_OK);
    const problem = await clusterNodeProblem(config.nodePath ?? 'node', config.setup ?? [], this.options.env ?? process.env, studyDir);
    if (problem !== null) throw new StudyRefusedError(problem);
  }

  /**
   * Every array of the study has ended, so no task of it holds a run folder: a run.lock another
   * host left (a node that failed, a task killed after KillWait) is stale, though this machine
   * cannot check that host's processes. Removed, said, so that the run is resumed rather than waited for.
   */
  private clearForeignLocks(): void {
    const dirs = readManifests(this.options.studyDir).flatMap((m) => m.tasks.flatMap((t) => [t.runDir, path.join(t.runDir, BASELINE_DIR)]));
    for (const dir of new Set(dirs)) {
      const lock = inspectRunLock(dir);
      if (lock.kind !== 'foreign') continue;
      fs.rmSync(lock.file, { force: true });
      this.options.log?.(`removed ${path.relative(this.options.studyDir, lock.file)}, left by ${describeOwner(lock.owner)}: every Slurm array of this study has ended, so no task holds it`);
    }
  }

  async run(jobs: readonly StudyJob[], hooks: ExecutorHooks): Promise<void> {
    if (jobs.length === 0 || this.stopReason !== null) return;
    const manifest = await this.submit(jobs, hooks);
    await this.follow(manifest, hooks);
  }

  /** Stops following (the jobs go on on the cluster; `was-train study cancel` cancels them). */
  stop(reason: string): void {
    this.stopReason ??= reason;
    this.wake?.();
  }

  private async submit(jobs: readonly StudyJob[], hooks: ExecutorHooks): Promise<SlurmManifest> {
    const { studyDir, config, client } = this.options;
    const submission = nextSubmission(readManifests(studyDir));
    const tasks = jobs.map((job, taskId) => ({ taskId, name: job.name, runDir: job.runDir, configFile: job.configFile, resume: job.resume }));
    const manifest: SlurmManifest = { format: MANIFEST_FORMAT, submission, jobId: null, submittedAt: null, script: `array-${submission}.sh`, tasks };
    const script = renderArrayScript({
      jobName: `was-${this.options.studyName}`,
      taskIds: tasks.map((t) => t.taskId),
      maxParallel: config.maxConcurrent,
      workingDirectory: studyDir,
      output: taskOutputPattern(submission),
      partition: config.partition,
      timeLimit: config.time,
      cpusPerTask: config.cpusPerTask,
      memory: config.mem,
      gres: config.gres,
      account: config.account,
      qos: config.qos,
      extraDirectives: config.extraSbatch,
      setup: config.setup?.join('\n'),
      command: this.taskCommand(manifest),
    });
    writeManifest(studyDir, manifest);
    const scriptFile = path.join(slurmDir(studyDir), manifest.script);
    fs.writeFileSync(scriptFile, script, { mode: 0o755 });
    let jobId: string;
    try {
      jobId = await client.submit(script, studyDir);
    } catch (error) {
      // Nothing was submitted: nothing of this submission stays.
      fs.rmSync(manifestFile(studyDir, submission), { force: true });
      fs.rmSync(scriptFile, { force: true });
      throw error;
    }
    const submitted: SlurmManifest = { ...manifest, jobId, submittedAt: new Date().toISOString() };
    writeManifest(studyDir, submitted);
    hooks.onLog?.(`submitted ${tasks.length} run${tasks.length === 1 ? '' : 's'} as Slurm job array ${jobId} (${path.relative(studyDir, manifestFile(studyDir, submission))}; task output in ${path.relative(studyDir, slurmDir(studyDir))}/)`);
    for (const task of tasks) hooks.onUpdate({ name: task.name, state: 'queued', reason: null, slurm: { arrayJobId: jobId, taskId: task.taskId, jobId, state: 'PENDING', exitCode: 0, signal: 0 } });
    return submitted;
  }

  /** The task's shell lines: the Node check, the task id to the run's was-train arguments, then the trainer itself. */
  private taskCommand(manifest: SlurmManifest): string {
    const trainer = this.options.trainer ?? trainerScript();
    const runArgs = (t: ManifestTask): string => (t.resume ? `resume ${shellQuoted(t.runDir)}` : `train --config ${shellQuoted(t.configFile)}`);
    return [
      `export ${WASM_THREADS_ENV}="\${SLURM_CPUS_PER_TASK:-1}"`,
      `NODE=${shellQuoted(this.options.config.nodePath ?? 'node')}`,
      ...nodeGuardLines(),
      `# The task id is the run (slurm/manifest-${manifest.submission}.json).`,
      'case "$SLURM_ARRAY_TASK_ID" in',
      ...manifest.tasks.map((t) => `  ${t.taskId}) set -- ${runArgs(t)} ;;  # ${t.name}`),
      `  *) echo "was-train: task $SLURM_ARRAY_TASK_ID is not in slurm/manifest-${manifest.submission}.json" >&2; exit 2 ;;`,
      'esac',
      `exec "$NODE" ${shellQuoted(trainer)} "$@" --plain`,
    ].join('\n');
  }

  private async follow(manifest: SlurmManifest, hooks: ExecutorHooks): Promise<void> {
    const jobId = manifest.jobId!;
    const followed = manifest.tasks.map((task): Followed => ({ task, epochs: new EpochReader(metricsFile(task.runDir)), said: '', ended: false }));
    let unreadable = 0;
    while (this.stopReason === null && followed.some((f) => !f.ended)) {
      let tasks: Map<number, SlurmTask> | null = null;
      try {
        tasks = await this.arrays.read(jobId, manifest.tasks.map((t) => t.taskId));
        unreadable = 0;
      } catch (error) {
        // A controller that is briefly away (a restart, a timeout): said once, asked again.
        if (unreadable++ === 0) hooks.onLog?.(`could not read Slurm job ${jobId}, trying again: ${(error as Error).message}`);
      }
      if (tasks !== null) for (const f of followed.filter((x) => !x.ended)) this.observe(manifest, f, tasks, hooks);
      if (followed.some((f) => !f.ended)) await this.sleep();
    }
    if (this.stopReason !== null && followed.some((f) => !f.ended)) {
      const dir = this.options.studyDir;
      hooks.onLog?.(`no longer following Slurm job array ${jobId} (${this.stopReason}): its tasks go on on the cluster; \`was-train study status ${dir}\` shows them, \`was-train study cancel ${dir}\` cancels them`);
    }
  }

  private observe(manifest: SlurmManifest, f: Followed, tasks: Map<number, SlurmTask>, hooks: ExecutorHooks): void {
    const jobId = manifest.jobId!;
    const slurmTask = tasks.get(f.task.taskId);
    if (slurmTask === undefined) {
      // Neither scontrol nor the jobcomp log knows it: it ended before it started (a task cancelled while pending reaches no log).
      if (this.arrays.scontrolKnows) return;
      f.ended = true;
      hooks.onUpdate({ name: f.task.name, state: 'stopped', reason: `Slurm no longer knows task ${jobId}_${f.task.taskId} (cancelled before it started, or forgotten): submit again to run it` });
      return;
    }
    const update = this.updateOf(manifest, f, slurmTask);
    const said = JSON.stringify(update);
    if (said !== f.said) hooks.onUpdate(update);
    f.said = said;
  }

  private updateOf(manifest: SlurmManifest, f: Followed, task: SlurmTask): JobUpdate {
    const slurm = slurmRecord(task, manifest.jobId!, f.task.taskId);
    const epochsCompleted = f.epochs.read();
    if (!isFinalState(task.state)) {
      const now = taskRunState(task);
      return { name: f.task.name, state: now.state === 'pending' ? 'queued' : now.state, reason: now.reason, epochsCompleted, slurm };
    }
    f.ended = true;
    const summary = readSummary(f.task.runDir);
    const ended = endedRun(task, summary, taskOutputFile(this.options.studyDir, manifest.submission, f.task.taskId));
    return { name: f.task.name, state: ended.state === 'pending' ? 'stopped' : ended.state, reason: ended.reason, epochsCompleted: summary?.epochsCompleted ?? epochsCompleted, slurm };
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.options.pollMs ?? DEFAULT_POLL_MS);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
