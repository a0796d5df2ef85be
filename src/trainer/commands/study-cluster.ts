// `was-train study status <study folder> [--json]` and `was-train study cancel <study folder>
// [--run <name>]`: a study on a Slurm cluster, read or cancelled from any shell on the login node,
// whether or not a `was-train study` process still follows it (study/slurm-status.ts).

import { EXIT } from '../../shared/exit-codes';
import { UsageError } from '../command-line';
import { StudyResultsError } from '../study/results';
import { StudyRefusedError } from '../study/runner';
import { ManifestError } from '../study/slurm/manifest';
import { SlurmClient, SlurmError } from '../study/slurm/client';
import { cancelStudy, studyStatus, type StudyStatus } from '../study/slurm-status';
import { parseCommandArgs, processIo, type CommandIo } from './flags';

const STATUS_HELP = [
  'Usage: was-train study status <study folder> [--json]',
  '',
  "Each run of a study: its state, its Slurm task's state and exit code, its epochs. Read from Slurm",
  '(scontrol, the jobcomp log) and the run folders, whether or not a study process follows the study;',
  'with none following, study.json is brought up to date too.',
].join('\n');

const CANCEL_HELP = [
  'Usage: was-train study cancel <study folder> [--run <name>]',
  '',
  "Cancels the study's live Slurm job array (scancel), or one run's task with --run. A cancelled run",
  'stops at its next step; submitting the study again resumes it from there.',
].join('\n');

/** A failure the user can act on: its message, and the exit status. */
function failure(error: unknown, io: CommandIo): number {
  if (error instanceof UsageError) {
    io.err(`was-train: ${error.message}\n`);
    return EXIT.usage;
  }
  if (error instanceof StudyRefusedError || error instanceof StudyResultsError || error instanceof ManifestError || error instanceof SlurmError) {
    io.err(`was-train: ${error.message}\n`);
    return EXIT.failed;
  }
  throw error;
}

function folderOf(argv: readonly string[], kinds: Record<string, 'switch' | 'value'>, usage: string): { dir: string; values: Map<string, string>; switches: Set<string> } | 'help' {
  const args = parseCommandArgs(argv, kinds);
  if (args.help) return 'help';
  if (args.runDir === null) throw new UsageError(`which study? ${usage}`);
  return { dir: args.runDir, values: args.values, switches: args.switches };
}

export async function studyStatusCommand(argv: string[], io: CommandIo = processIo): Promise<number> {
  try {
    const args = folderOf(argv, { json: 'switch' }, 'usage: was-train study status <study folder> [--json]');
    if (args === 'help') {
      io.out(STATUS_HELP + '\n');
      return EXIT.ok;
    }
    const status = await studyStatus(args.dir, new SlurmClient());
    io.out(args.switches.has('json') ? JSON.stringify({ type: 'study-status', dir: status.dir, name: status.results.name, state: status.state, arrays: status.arrays, runs: status.runs }) + '\n' : statusText(status));
    return EXIT.ok;
  } catch (error) {
    return failure(error, io);
  }
}

export async function studyCancelCommand(argv: string[], io: CommandIo = processIo): Promise<number> {
  try {
    const args = folderOf(argv, { run: 'value' }, 'usage: was-train study cancel <study folder> [--run <name>]');
    if (args === 'help') {
      io.out(CANCEL_HELP + '\n');
      return EXIT.ok;
    }
    for (const line of await cancelStudy(args.dir, new SlurmClient(), args.values.get('run'))) io.out(`${line}\n`);
    return EXIT.ok;
  } catch (error) {
    return failure(error, io);
  }
}

function statusText(status: StudyStatus): string {
  const arrays = status.arrays.map((a) => `array ${a.jobId} (submission ${a.submission}, ${a.tasks} tasks, ${a.live} live)`).join('; ');
  const rows = status.runs.map((run) => {
    const slurm = run.slurm === undefined ? '-' : `${run.slurm.state} ${run.slurm.arrayJobId}_${run.slurm.taskId}`;
    const exit = run.slurm === undefined ? '-' : `${run.slurm.exitCode}:${run.slurm.signal}`;
    return [run.name, run.state, slurm, exit, `${run.epochsCompleted}/${run.epochs}`, run.reason ?? ''];
  });
  const header = ['run', 'state', 'slurm', 'exit', 'epochs', 'reason'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [
    `study ${status.results.name}: ${status.state}${arrays ? `; Slurm ${arrays}` : ' (never submitted to Slurm)'}`,
    line(header),
    ...rows.map(line),
    status.saved ? `(study.json updated: no study process follows this study)` : '',
    '',
  ]
    .filter((l, i, all) => l !== '' || i === all.length - 1)
    .join('\n');
}
