// Where the extension may write or delete: inside the runs folder only, as the file system
// resolves it (symlinks followed, fs.realpath), and, to delete, only folders that are WAS runs.
// A workspace names the runs folder (was.runsFolder) and its experiment files name runs, so
// neither path is trusted: every site that writes or deletes under the runs folder asks here first.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorMessage } from '../../shared/errors';
import { runFolderEntryKind, runNameProblem, RUN_FOLDER_FILES, RUN_FOLDER_FOLDERS } from '../../shared/run-naming';

/** A path the extension will not write or delete; the message says which and why. */
export class RunPathError extends Error {
  override readonly name = 'RunPathError';
}

/**
 * `target` as the file system resolves it: every symlink followed. A tail that does not exist yet
 * is joined to its deepest existing ancestor, resolved; a dangling symlink on the way is refused
 * (writing through it would land wherever it points).
 */
export function resolvePath(target: string): string {
  const missing: string[] = [];
  let existing = path.resolve(target);
  for (;;) {
    try {
      return path.join(fs.realpathSync(existing), ...missing);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new RunPathError(`cannot resolve ${target}: ${errorMessage(error)}`);
      if (fs.lstatSync(existing, { throwIfNoEntry: false })?.isSymbolicLink()) throw new RunPathError(`${existing} is a symlink to nothing; not writing through it`);
      const parent = path.dirname(existing);
      if (parent === existing) throw new RunPathError(`cannot resolve ${target}: ${errorMessage(error)}`);
      missing.unshift(path.basename(existing));
      existing = parent;
    }
  }
}

/** `target` resolved; throws RunPathError unless it lies strictly inside `runsDir` (resolved too). */
export function insideRunsFolder(runsDir: string, target: string): string {
  return insideFolder(runsDir, target, 'the runs folder');
}

/** `target` resolved; throws RunPathError unless it lies strictly inside `folder` (resolved too), called `noun` in the message. */
export function insideFolder(folder: string, target: string, noun: string): string {
  const root = resolvePath(folder);
  const real = resolvePath(target);
  const relative = path.relative(root, real);
  if (relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
    const via = real !== path.resolve(target) ? ` (it resolves to ${real})` : '';
    throw new RunPathError(`${target} is not inside ${noun} ${folder}${via}`);
  }
  return real;
}

/** runsDir/<name> for a name the shared run-name rule accepts, inside the runs folder; RunPathError otherwise. */
export function runFolderPath(runsDir: string, name: string): string {
  const problem = runNameProblem(name);
  if (problem !== null) throw new RunPathError(problem);
  const dir = path.join(runsDir, name);
  insideRunsFolder(runsDir, dir);
  return dir;
}

/**
 * Why `dir` may not be deleted as a run, or null when it may: it must be a real folder (not a
 * symlink) directly in the runs folder, holding only what the trainer puts in a run folder
 * (shared/run-naming.ts), each of the right kind; its baseline/ is a run folder too.
 */
export function deletableRunProblem(runsDir: string, dir: string): string | null {
  try {
    const real = insideRunsFolder(runsDir, dir);
    if (path.dirname(real) !== resolvePath(runsDir)) return `${dir} is not a folder directly in the runs folder ${runsDir}`;
    if (!fs.lstatSync(dir).isDirectory()) return `${dir} is not a folder`;
    return unknownEntryProblem(dir);
  } catch (error) {
    return errorMessage(error);
  }
}

/** Deletes the run folder `dir` after deletableRunProblem; throws RunPathError naming the problem. */
export function deleteRunFolder(runsDir: string, dir: string): void {
  const problem = deletableRunProblem(runsDir, dir);
  if (problem !== null) throw new RunPathError(problem);
  // fs.rm does not follow symlinks inside: a link is removed, not what it points to.
  fs.rmSync(dir, { recursive: true });
}

function unknownEntryProblem(dir: string): string | null {
  const known = `a run folder holds only ${[...RUN_FOLDER_FILES, ...RUN_FOLDER_FOLDERS.map((f) => `${f}/`)].join(', ')}`;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const kind = runFolderEntryKind(entry.name);
    const where = path.join(dir, entry.name);
    if (kind === null) return `${where} is not part of a WAS run (${known}); not deleting ${dir}: delete it yourself if you mean to`;
    if (kind === 'file' && !entry.isFile()) return `${where} should be a file but is not (a folder or a symlink); not deleting ${dir}`;
    if (kind === 'folder' && !entry.isDirectory()) return `${where} should be a folder but is not (a file or a symlink); not deleting ${dir}`;
    if (entry.name === 'baseline') {
      const inner = unknownEntryProblem(where);
      if (inner !== null) return inner;
    }
  }
  return null;
}
