// Slurm's commands, spawned: sbatch to submit a batch script, scontrol to read a job's tasks and
// the cluster's configuration, scancel to cancel, and the jobcomp/filetxt log for tasks Slurm has
// forgotten (scontrol keeps a finished job for MinJobAge seconds). No daemon library: the same
// client tools a user runs on a login node, with the environment (SLURM_CONF) the caller gives.
// A tool that fails comes back as a SlurmError carrying Slurm's own message.

import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseJobComp, parseSbatchParsable, parseShowConfig, parseShowJob, type SlurmTask } from './records';

export interface SlurmClientOptions {
  /** The folder holding sbatch, scontrol and scancel; found on PATH when left out. */
  binDir?: string;
  /** The tools' environment (SLURM_CONF, PATH); this process's when left out. */
  env?: NodeJS.ProcessEnv;
  /** How long one command may take before it is killed (ms); a controller that is down makes them hang. */
  timeoutMs?: number;
}

/** A Slurm tool that could not run or said no; `message` holds what it printed on stderr. */
export class SlurmError extends Error {
  constructor(
    message: string,
    readonly tool: string,
    /** The tool's stderr, trimmed ('' when it never ran). */
    readonly stderr: string,
  ) {
    super(message);
  }
}

interface ToolResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

const DEFAULT_TIMEOUT_MS = 60_000;

export class SlurmClient {
  constructor(private readonly options: SlurmClientOptions = {}) {}

  /** Submits a batch script (on stdin, so no file is needed) from `cwd`; returns the job id. */
  async submit(script: string, cwd: string): Promise<string> {
    const result = await this.run('sbatch', ['--parsable'], { input: script, cwd });
    if (result.code !== 0) throw this.refused('sbatch', result, 'submitted nothing');
    return parseSbatchParsable(result.stdout);
  }

  /** Every task of a job, from `scontrol -o show job`; [] when Slurm no longer knows the job. */
  async tasks(jobId: string): Promise<SlurmTask[]> {
    const result = await this.run('scontrol', ['-o', 'show', 'job', checkedJobId(jobId)]);
    if (result.code !== 0 && /Invalid job id specified/.test(result.stderr)) return [];
    if (result.code !== 0) throw this.refused('scontrol', result, `could not show job ${jobId}`);
    return parseShowJob(result.stdout);
  }

  /** Cancels a whole array, or one of its tasks. */
  async cancel(jobId: string, taskId?: number): Promise<void> {
    const target = taskId === undefined ? checkedJobId(jobId) : `${checkedJobId(jobId)}_${taskId}`;
    const result = await this.run('scancel', [target]);
    if (result.code !== 0) throw this.refused('scancel', result, `could not cancel ${target}`);
  }

  /** The cluster's configuration (`scontrol show config`), key to value. */
  async config(): Promise<Map<string, string>> {
    const result = await this.run('scontrol', ['show', 'config']);
    if (result.code !== 0) throw this.refused('scontrol', result, 'could not read the configuration');
    return parseShowConfig(result.stdout);
  }

  /**
   * The ended tasks of an array from the jobcomp log, where the cluster keeps one as a text file
   * (JobCompType=jobcomp/filetxt) this machine can read; null where it does not.
   */
  async endedTasks(arrayJobId: string, config?: Map<string, string>): Promise<SlurmTask[] | null> {
    const settings = config ?? (await this.config());
    const location = settings.get('JobCompLoc');
    if (settings.get('JobCompType') !== 'jobcomp/filetxt' || location === undefined || !path.isAbsolute(location)) return null;
    let text: string;
    try {
      text = await readFile(location, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return parseJobComp(text, arrayJobId);
  }

  private refused(tool: string, result: ToolResult, what: string): SlurmError {
    const said = result.stderr.trim() || result.stdout.trim() || `no message, exit ${result.code ?? 'by signal'}`;
    return new SlurmError(`${tool} ${what}:\n${said}`, tool, result.stderr.trim());
  }

  private run(tool: string, args: string[], extra: { input?: string; cwd?: string } = {}): Promise<ToolResult> {
    const program = this.options.binDir === undefined ? tool : path.join(this.options.binDir, tool);
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const child = spawn(program, args, { cwd: extra.cwd, env: this.options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      timer.unref();
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(notRunnable(tool, program, error));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (signal === 'SIGKILL' && code === null) reject(new SlurmError(`${tool} did not answer in ${timeoutMs / 1000} s (is slurmctld up? SLURM_CONF=${this.env().SLURM_CONF ?? 'unset'})`, tool, Buffer.concat(stderr).toString().trim()));
        else resolve({ stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString(), code });
      });
      child.stdin.on('error', () => {}); // a tool that exits before reading its input: its exit status tells
      child.stdin.end(extra.input ?? '');
    });
  }

  private env(): NodeJS.ProcessEnv {
    return this.options.env ?? process.env;
  }
}

function notRunnable(tool: string, program: string, error: NodeJS.ErrnoException): SlurmError {
  const why =
    error.code === 'ENOENT'
      ? `${program} was not found${program === tool ? ' on PATH' : ''}: Slurm's client tools (sbatch, scontrol, scancel) must be installed where this runs, usually a cluster's login node`
      : `${program} could not be started: ${error.message}`;
  return new SlurmError(why, tool, '');
}

/** A job id as Slurm prints it (digits), so nothing else reaches the tools' arguments. */
function checkedJobId(jobId: string): string {
  if (!/^\d+$/.test(jobId)) throw new Error(`not a Slurm job id: ${JSON.stringify(jobId)}`);
  return jobId;
}
