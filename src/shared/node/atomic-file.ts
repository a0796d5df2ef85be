// Files that appear whole or not at all, for the trainer and the extension alike (Node only: the
// webview never imports src/shared/node/). The data goes to a temporary sibling, is flushed to
// disk (fsync), and the sibling is renamed over the target: rename(2) replaces a file in one step,
// so a reader sees the old file or the new one, and a crash leaves at most a stray
// `<file>.<pid>.tmp` beside it, never a torn target.

import * as fs from 'node:fs';

/** The temporary sibling written before the rename (a checkpoint sweep removes `<name>.*.tmp`). */
export function tempSibling(file: string): string {
  return `${file}.${process.pid}.tmp`;
}

/** Writes `file` and flushes it to disk before returning. */
export function writeFileDurably(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** writeFileDurably, awaited. */
export async function writeFileDurablyAsync(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await fs.promises.open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `file` atomically with `data` (flushed to disk first). On failure the target is as it was and the temporary file is gone. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = tempSibling(file);
  try {
    writeFileDurably(tmp, data);
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
}

/** writeFileAtomic, awaited. */
export async function writeFileAtomicAsync(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempSibling(file);
  try {
    await writeFileDurablyAsync(tmp, data);
    await fs.promises.rename(tmp, file);
  } catch (error) {
    await fs.promises.rm(tmp, { force: true });
    throw error;
  }
}

// A rename or a new file is an entry in its directory: until the directory itself is flushed, a
// power cut can forget the entry even though the file's bytes reached the disk. Where a directory
// cannot be opened or flushed (Windows: EISDIR/EPERM on open; some file systems: EINVAL on fsync),
// there is nothing more to do and the error is ignored: the rename is as durable as that platform
// makes it.
const UNSYNCABLE_DIRECTORY = new Set(['EISDIR', 'EPERM', 'EACCES', 'EINVAL', 'ENOTSUP', 'EBADF']);

/** Flushes `dir`'s entries (renames into it, new files) to disk; a no-op where directories cannot be flushed. */
export function fsyncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch (error) {
    if (UNSYNCABLE_DIRECTORY.has((error as NodeJS.ErrnoException).code ?? '')) return;
    throw error;
  }
  try {
    fs.fsyncSync(fd);
  } catch (error) {
    if (!UNSYNCABLE_DIRECTORY.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
  } finally {
    fs.closeSync(fd);
  }
}

/** fsyncDirectory, awaited. */
export async function fsyncDirectoryAsync(dir: string): Promise<void> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(dir, 'r');
  } catch (error) {
    if (UNSYNCABLE_DIRECTORY.has((error as NodeJS.ErrnoException).code ?? '')) return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    if (!UNSYNCABLE_DIRECTORY.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
  } finally {
    await handle.close();
  }
}
