// `was-train resume <run-folder>`: continue a stopped, failed or killed run from its last
// checkpoint, appending to its metrics.jsonl (see train/setup.ts and train/epoch.ts for what makes it bit-exact).

import { EXIT } from '../../shared/exit-codes';
import { RunLockedError } from '../../shared/node/run-lock';
import { parseResumeArgs, UsageError, type OutputStyle, type ParsedArgs } from '../args';
import { CheckpointError } from '../train/checkpoint';
import { resumeTraining } from '../train/session';
import { NothingToResumeError, ResumeError } from '../train/resume';
import { driveSession } from './drive';

const HELP = [
  'Usage: was-train resume <run-folder> [--backend-path <folder>]... [--json | --plain]',
  '',
  'Continues the run in <run-folder> from its last checkpoint (checkpoints/last.json) with the',
  'config it started with, appending to its metrics.jsonl; with --baseline runs, the baseline',
  'part too. Same seed and backend: the same numbers as the run never interrupted. --backend-path',
  '(or WAS_LAB_BACKEND_PATH) says where the TensorFlow backends are; the run folder never does.',
  `Exit status: ${EXIT.ok} completed, stopped, or nothing to resume; ${EXIT.failed} failed or cannot resume; ${EXIT.usage} bad usage.`,
].join('\n');

export async function resumeCommand(argv: string[]): Promise<number> {
  let parsed: ParsedArgs;
  try {
    parsed = parseResumeArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`was-train: ${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
  if (parsed.kind !== 'resume') {
    process.stdout.write(HELP + '\n');
    return EXIT.ok;
  }
  return resumeRun(parsed.runDir, parsed.output, parsed.backendPaths);
}

/** Resume the run in `runDir`; returns the exit status. */
export async function resumeRun(runDir: string, output: OutputStyle, backendPaths: string[] = []): Promise<number> {
  try {
    return await driveSession(output, (io) => resumeTraining(runDir, io, { backendPaths }));
  } catch (error) {
    if (error instanceof NothingToResumeError) {
      process.stderr.write(`was-train: ${error.message}\n`);
      return EXIT.ok;
    }
    if (error instanceof ResumeError || error instanceof CheckpointError || error instanceof RunLockedError) {
      process.stderr.write(`was-train: cannot resume: ${error.message}\n`);
      return EXIT.failed;
    }
    throw error;
  }
}
