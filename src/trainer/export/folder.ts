// Writing an export folder so that a finished one is whole or absent: the files go into a hidden
// temporary sibling, which is renamed onto the destination at the end. An interrupted or failed
// write removes the temporary folder (a killed process leaves only that hidden folder, never a
// half-written destination). An existing destination is replaced only when asked, and only if
// it is empty or a previous WAS Lab export (never an arbitrary folder).

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileDurably } from '../../shared/node/atomic-file';

/** The file that marks a folder as a WAS Lab export. */
export const EXPORT_MARKER = 'was-export.json';

export interface FolderFile {
  name: string;
  data: Buffer | string;
}

/** The destination exists and may not be replaced; the message says what to do. */
export class DestinationExistsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DestinationExistsError';
  }
}

export interface WriteOptions {
  /** Replace an existing destination (an earlier export or an empty folder). */
  force: boolean;
  /** Called after each file is written (tests interrupt the write here). */
  afterFile?: (name: string) => void;
}

export function writeFolderAtomically(dest: string, files: readonly FolderFile[], options: WriteOptions): void {
  const target = path.resolve(dest);
  const parent = path.dirname(target);
  checkDestination(target, options.force);
  fs.mkdirSync(parent, { recursive: true });
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = path.join(parent, `.${path.basename(target)}.partial-${tag}`);
  fs.mkdirSync(tmp);
  try {
    for (const file of files) {
      if (file.name !== path.basename(file.name)) throw new Error(`export file name "${file.name}" is not a plain name`);
      writeFileDurably(path.join(tmp, file.name), file.data);
      options.afterFile?.(file.name);
    }
    if (fs.existsSync(target)) {
      checkDestination(target, options.force);
      const old = path.join(parent, `.${path.basename(target)}.replaced-${tag}`);
      fs.renameSync(target, old);
      fs.renameSync(tmp, target);
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      // rename(2) onto a non-empty folder fails, so a destination created meanwhile is never clobbered.
      fs.renameSync(tmp, target);
    }
  } catch (error) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
}

/** Throws DestinationExistsError unless `target` is absent, or replaceable with `force`. */
export function checkDestination(target: string, force: boolean): void {
  const stat = fs.statSync(target, { throwIfNoEntry: false });
  if (!stat) return;
  if (!force) throw new DestinationExistsError(`${target} already exists; pass --force to replace it`);
  if (!stat.isDirectory()) throw new DestinationExistsError(`${target} exists and is not a folder; not replacing it`);
  const entries = fs.readdirSync(target);
  if (entries.length > 0 && !entries.includes(EXPORT_MARKER))
    throw new DestinationExistsError(`${target} exists and is not a WAS Lab export (no ${EXPORT_MARKER}); not replacing it, even with --force`);
}
