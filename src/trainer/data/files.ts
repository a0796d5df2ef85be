// File helpers shared by the loaders: find a data file (raw or .gz) and read it, turning
// every filesystem or gzip failure into a DataError that names the file and what to do.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { errorMessage } from '../../shared/errors';
import { DataError } from './types';

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

const gunzipAsync = promisify(zlib.gunzip);

/** The folder must exist; `hint` says how to get the data. */
export function requireFolder(dir: string, what: string, hint: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new DataError(`${what} folder not found: ${dir}. ${hint}`, 'missing');
  }
  if (!stat.isDirectory()) throw new DataError(`${what} path is not a folder: ${dir}. ${hint}`, 'missing');
}

/** `name` or `name.gz` inside `dir` (the raw file wins when both are there). */
export function findDataFile(dir: string, name: string, what: string, hint: string): string {
  for (const candidate of [name, `${name}.gz`]) {
    const file = path.join(dir, candidate);
    if (fs.existsSync(file)) return file;
  }
  throw new DataError(`${what} file ${name} (or ${name}.gz) not found in ${dir}. ${hint}`, 'missing');
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC_0 && bytes[1] === GZIP_MAGIC_1;
}

/** Whole file, gunzipped when it is gzip (by magic bytes, whatever its name). */
export async function readDataFile(file: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (err) {
    throw new DataError(`Cannot read ${file}: ${errorMessage(err)}`, 'missing');
  }
  if (!isGzip(bytes)) {
    if (file.endsWith('.gz')) throw new DataError(`Corrupt gzip file ${file}: no gzip header`, 'format');
    return bytes;
  }
  try {
    return await gunzipAsync(bytes);
  } catch (err) {
    throw new DataError(`Corrupt gzip file ${file}: ${errorMessage(err)}`, 'format');
  }
}

/** A plain Uint8Array over the same memory (Buffers behave differently in places, e.g. slice). */
export function plainBytes(bytes: Uint8Array, offset: number, length: number): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + offset, length);
}

export function isZlibError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}
