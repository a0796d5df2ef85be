// A run's folder on disk: config.json (the resolved config, seed, backend, versions),
// metrics.jsonl (the event stream, append-only, one event per line), log.txt (the same events
// as readable lines) and summary.json (the final numbers). JSON files are written atomically
// and durably, the folder flushed after the rename (shared/node/atomic-file.ts).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsyncDirectory, writeFileAtomic } from '../../shared/node/atomic-file';
import { encodeEvent, type TrainerEvent } from '../../shared/protocol';
import { defaultRunName, firstFreeRunName, runNameProblem } from '../../shared/run-naming';
import { formatEvent } from './format';

/** A run folder that cannot be made: a bad name, or one taken already (the message says which). */
export class RunFolderError extends Error {
  override readonly name = 'RunFolderError';
}

export class RunFolder {
  private constructor(
    readonly dir: string,
    readonly id: string,
  ) {}

  /** Creates runsDir/<name>; without a name, <yyyymmdd-hhmmss>-<model>-<dataset>, made unique (shared/run-naming.ts). */
  static create(runsDir: string, name: string | null, model: string, dataset: string, now = new Date()): RunFolder {
    fs.mkdirSync(runsDir, { recursive: true });
    if (name !== null) {
      const problem = runNameProblem(name);
      if (problem !== null) throw new RunFolderError(problem);
      const dir = path.join(runsDir, name);
      if (!makeFolder(dir)) throw new RunFolderError(`run folder ${dir} already exists; choose another run name or remove it`);
      return new RunFolder(dir, name);
    }
    // Creating the folder claims the name: of two trainers started in the same second, one gets -2.
    const id = firstFreeRunName(defaultRunName(model, dataset, now), (candidate) => !makeFolder(path.join(runsDir, candidate)));
    return new RunFolder(path.join(runsDir, id), id);
  }

  /** An existing run folder (resume): events go on being appended to its metrics.jsonl and log.txt. */
  static open(dir: string, id = path.basename(dir)): RunFolder {
    if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`no run folder at ${dir}`);
    return new RunFolder(dir, id);
  }

  get metricsPath(): string {
    return path.join(this.dir, 'metrics.jsonl');
  }

  writeJson(name: 'config.json' | 'summary.json', value: unknown): void {
    writeFileAtomic(path.join(this.dir, name), JSON.stringify(value, null, 2) + '\n');
    // The rename is durable only once the folder's entries are.
    fsyncDirectory(this.dir);
  }

  /** One event: a single append per line, so a killed writer can only tear the last line. */
  append(event: TrainerEvent): void {
    fs.appendFileSync(this.metricsPath, encodeEvent(event) + '\n');
    const line = formatEvent(event);
    if (line !== null) fs.appendFileSync(path.join(this.dir, 'log.txt'), `${new Date(event.time).toISOString()} ${line}\n`);
  }
}

/** Creates `dir`; false when it exists already. */
function makeFolder(dir: string): boolean {
  try {
    fs.mkdirSync(dir);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}
