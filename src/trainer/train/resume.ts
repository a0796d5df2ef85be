// What a resumed session starts from: the run folder's config.json, its last checkpoint, and a
// metrics.jsonl whose torn last line (a writer killed mid-line) has been cut off. Everything here
// reads files another process wrote, possibly while being killed: parsed from `unknown`, and
// every problem is a ResumeError (or CheckpointError) that names the file.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULTS, applyPatch, withoutBackendPaths, type TrainConfig } from '../../shared/config';
import { parseTrainerEvent, type RunEndEvent } from '../../shared/protocol';
import { ValidationError, expectObject, expectString, isObject } from '../../shared/validate';
import { RunFolder } from '../output/run-folder';
import { loadCheckpoint, type LoadedCheckpoint } from './checkpoint';
import { errorMessage } from '../../shared/errors';

/** The run folder cannot be resumed; the message says why. */
export class ResumeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResumeError';
  }
}

/** The run already completed: there is nothing to resume (not a failure). */
export class NothingToResumeError extends Error {
  constructor(
    message: string,
    readonly summary: RunEndEvent,
  ) {
    super(message);
    this.name = 'NothingToResumeError';
  }
}

export interface ResumePlan {
  folder: RunFolder;
  config: TrainConfig;
  checkpoint: LoadedCheckpoint;
  /** The backend the run started on (bit-exact resumes need the same one). */
  originalBackend: string | null;
  /** What was repaired or noticed, for the session's first log events. */
  notes: string[];
}

/** Throws a ResumeError unless `runDir` is a folder with a config.json (what a run folder has first). */
export function checkRunFolder(runDir: string): void {
  if (!fs.statSync(runDir, { throwIfNoEntry: false })?.isDirectory()) throw new ResumeError(`no run folder at ${runDir}`);
  if (!fs.existsSync(path.join(runDir, 'config.json'))) throw new ResumeError(`${runDir} is not a run folder: config.json is missing`);
}

export async function planResume(runDir: string): Promise<ResumePlan> {
  checkRunFolder(runDir);
  const saved = readRunConfig(runDir);
  const summary = readSummary(runDir);
  if (summary?.status === 'completed')
    throw new NothingToResumeError(`nothing to resume: ${runDir} completed all ${summary.epochsCompleted} epochs (summary.json)`, summary);
  // The newest checkpoint, possibly one inside an epoch.
  const checkpoint = await loadCheckpoint(runDir, 'resume');
  const { manifest } = checkpoint;
  if (manifest.seed !== saved.config.seed || manifest.config.model !== saved.config.model)
    throw new ResumeError(`${checkpoint.dir} belongs to another run (seed ${manifest.seed}, model ${manifest.config.model}) than ${path.join(runDir, 'config.json')}`);
  const inEpoch = manifest.training.inEpoch;
  const where = inEpoch === null ? `its epoch-${manifest.epoch} checkpoint` : `its checkpoint ${inEpoch.steps} steps into epoch ${manifest.epoch + 1}`;
  const notes = [`resuming ${saved.runId} from ${where} (step ${manifest.training.step})`];
  if (saved.ignored) notes.push(saved.ignored);
  const repaired = repairEventLog(path.join(runDir, 'metrics.jsonl'));
  if (repaired) notes.push(repaired);
  trimTornLine(path.join(runDir, 'log.txt'));
  return { folder: RunFolder.open(runDir, saved.runId), config: saved.config, checkpoint, originalBackend: saved.backend, notes };
}

function readRunConfig(runDir: string): { runId: string; config: TrainConfig; backend: string | null; ignored: string | null } {
  const file = path.join(runDir, 'config.json');
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ResumeError(`${runDir} is not a run folder: config.json is missing`);
    throw new ResumeError(`${file} is unreadable: ${errorMessage(error)}`);
  }
  try {
    const o = expectObject(json, '');
    const stored = withoutBackendPaths(o.config, file);
    const config = applyPatch(DEFAULTS, stored.config, 'config.json');
    if (config.seed === null || config.optimizer.lr === null) throw new ValidationError('config', 'the seed and the learning rate must be resolved');
    const backend = isObject(o.backend) && typeof o.backend.name === 'string' ? o.backend.name : null;
    return { runId: expectString(o.runId, 'runId'), config, backend, ignored: stored.ignored };
  } catch (error) {
    if (error instanceof ValidationError) throw new ResumeError(`${file}: ${error.message}`);
    throw error;
  }
}

/**
 * What a run folder's config.json holds that is ignored (backendPaths from an earlier version),
 * as a line for the log; null when nothing is, or the file cannot be read (the command that
 * needs it says so itself).
 */
export function ignoredInRunConfig(runDir: string): string | null {
  const file = path.join(runDir, 'config.json');
  try {
    const json: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return isObject(json) ? withoutBackendPaths(json.config, file).ignored : null;
  } catch {
    return null;
  }
}

/** summary.json's run-end, or null when there is none (a killed run) or it is unreadable. */
export function readSummary(runDir: string): RunEndEvent | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8');
  } catch {
    return null;
  }
  try {
    const event = parseTrainerEvent(JSON.parse(text));
    return event.type === 'run-end' ? event : null;
  } catch {
    return null;
  }
}

/**
 * A killed writer can leave metrics.jsonl ending in part of a line. Cut it off so the resumed
 * session appends whole lines after whole lines; returns a note when something was cut.
 */
export function repairEventLog(file: string): string | null {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  if (data.length === 0 || data[data.length - 1] === 0x0a) return null;
  const cut = data.lastIndexOf(0x0a) + 1;
  const tail = data.subarray(cut).toString('utf8');
  try {
    // A whole event missing only its newline is kept.
    parseTrainerEvent(JSON.parse(tail));
    fs.appendFileSync(file, '\n');
    return null;
  } catch {
    fs.truncateSync(file, cut);
    return `metrics.jsonl ended in a torn line (${data.length - cut} bytes, left by the killed session); it was skipped`;
  }
}

function trimTornLine(file: string): void {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch {
    return;
  }
  if (data.length > 0 && data[data.length - 1] !== 0x0a) fs.truncateSync(file, data.lastIndexOf(0x0a) + 1);
}
