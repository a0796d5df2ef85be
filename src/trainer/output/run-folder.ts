// A run's folder on disk: config.json (the resolved config, seed, backend, versions),
// metrics.jsonl (the event stream, append-only, one event per line), log.txt (the same events
// as readable lines) and summary.json (the final numbers). JSON files are written atomically.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeEvent, type TrainerEvent } from '../../shared/protocol';
import { formatEvent } from './format';

export class RunFolder {
  private constructor(
    readonly dir: string,
    readonly id: string,
  ) {}

  /** Creates runsDir/<name>; without a name, <yyyymmdd-hhmmss>-<model>-<dataset>, made unique. */
  static create(runsDir: string, name: string | null, model: string, dataset: string, now = new Date()): RunFolder {
    fs.mkdirSync(runsDir, { recursive: true });
    if (name !== null) {
      if (!/^[\w.-]+$/.test(name) || name === '.' || name === '..')
        throw new Error(`run name "${name}" may only hold letters, digits, '.', '_' and '-'`);
      const dir = path.join(runsDir, name);
      try {
        fs.mkdirSync(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST')
          throw new Error(`run folder ${dir} already exists; choose another run name or remove it`);
        throw error;
      }
      return new RunFolder(dir, name);
    }
    const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    const base = `${stamp}-${model}-${dataset}`;
    for (let i = 1; ; i++) {
      const id = i === 1 ? base : `${base}-${i}`;
      const dir = path.join(runsDir, id);
      try {
        fs.mkdirSync(dir);
        return new RunFolder(dir, id);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
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
  }

  /** One event: a single append per line, so a killed writer can only tear the last line. */
  append(event: TrainerEvent): void {
    fs.appendFileSync(this.metricsPath, encodeEvent(event) + '\n');
    const line = formatEvent(event);
    if (line !== null) fs.appendFileSync(path.join(this.dir, 'log.txt'), `${new Date(event.time).toISOString()} ${line}\n`);
  }
}

export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}
