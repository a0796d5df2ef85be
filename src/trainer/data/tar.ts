// A small streaming tar reader (ustar, GNU long names, pax paths) over node's gunzip, so the
// CIFAR .tar.gz archives can be read in place without extracting them or adding a package.
// Only the wanted members are kept in memory; the rest of the stream is skipped.

import * as fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { errorMessage } from '../../shared/errors';
import { isGzip, isZlibError } from './files';
import { DataError } from './types';

export const TAR_BLOCK = 512;
const NAME = { offset: 0, length: 100 };
const SIZE = { offset: 124, length: 12 };
const CHECKSUM = { offset: 148, length: 8 };
const TYPE_OFFSET = 156;
const MAGIC = { offset: 257, length: 6 };
const PREFIX = { offset: 345, length: 155 };
const TYPE_FILE = new Set(['0', '\0', '7']);
const TYPE_GNU_LONG_NAME = 'L';
const TYPE_PAX = 'x';
/** A long name or pax header is a few hundred bytes; one larger than this is not a real one. */
const MAX_NAME_MEMBER = 1024 * 1024;

/** Members whose name (leading './' removed) passes `wanted`, keyed by that name. */
export async function readTarMembers(archive: string, wanted: (name: string) => boolean): Promise<Map<string, Buffer>> {
  const members = new Map<string, Buffer>();
  await readTar(archive, wanted, (name, data) => members.set(name, data));
  return members;
}

/**
 * Streams the archive once, handing each wanted member to `onMember` as soon as it is
 * complete (so a caller can decode and drop it: only one member is held at a time).
 * A DataError thrown by `onMember` stops the parse and is rethrown.
 */
export async function readTar(
  archive: string,
  wanted: (name: string) => boolean,
  onMember: (name: string, data: Buffer) => void,
): Promise<void> {
  const head = await readHead(archive);
  const parser = new TarParser(archive, wanted, onMember);
  // After a tar error the rest is still gunzipped (not parsed): if the gzip data is corrupt,
  // that is the root cause and the better message. pipeline() would report a sink's own
  // error as an abort, so the parser's error is kept aside.
  let parseError: DataError | null = null;
  const sink = async (source: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of source) {
      if (parseError) continue;
      try {
        parser.push(chunk);
      } catch (err) {
        if (!(err instanceof DataError)) throw err;
        parseError = err;
      }
    }
  };
  try {
    // A plain .tar works too; the gzip magic decides, not the name.
    if (isGzip(head)) await pipeline(fs.createReadStream(archive), zlib.createGunzip(), sink);
    else await pipeline(fs.createReadStream(archive), sink);
  } catch (err) {
    if (isZlibError(err)) throw new DataError(`Corrupt gzip data in ${archive}: ${errorMessage(err)}`, 'format');
    if (err instanceof DataError) throw err;
    throw new DataError(`Cannot read ${archive}: ${errorMessage(err)}`, 'missing');
  }
  if (parseError) throw parseError;
  parser.finish();
}

async function readHead(file: string): Promise<Uint8Array> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (err) {
    throw new DataError(`Cannot open ${file}: ${errorMessage(err)}`, 'missing');
  }
  try {
    const head = new Uint8Array(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Push-style parser: header block, member data, padding to the next block, repeat. Exported for
 * the fuzz tests, which push bytes in random chunks without a file; readTar is the way to use it.
 */
export class TarParser {
  private readonly header = Buffer.alloc(TAR_BLOCK);
  private headerFill = 0;
  private position = 0;
  private remaining = 0;
  private padding = 0;
  private ended = false;
  /**
   * The member being read. A kept member's bytes are gathered as they arrive, never allocated from
   * the header's size up front: a 1 KB archive whose header claims 4 GB costs 1 KB, then is truncated.
   */
  private current: { name: string; type: string; chunks: Buffer[] | null; fill: number } | null = null;
  private nextName: string | null = null;

  constructor(
    private readonly archive: string,
    private readonly wanted: (name: string) => boolean,
    private readonly onMember: (name: string, data: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.ended) {
      const available = chunk.length - offset;
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, available);
        const member = this.current;
        if (member?.chunks) member.chunks.push(chunk.subarray(offset, offset + n));
        if (member) member.fill += n;
        offset += n;
        this.remaining -= n;
        if (this.remaining === 0) this.endMember();
      } else if (this.padding > 0) {
        const n = Math.min(this.padding, available);
        offset += n;
        this.padding -= n;
      } else {
        const n = Math.min(TAR_BLOCK - this.headerFill, available);
        chunk.copy(this.header, this.headerFill, offset, offset + n);
        this.headerFill += n;
        offset += n;
        if (this.headerFill === TAR_BLOCK) {
          this.headerFill = 0;
          this.readHeader();
          this.position += TAR_BLOCK;
        }
      }
    }
  }

  finish(): void {
    if (this.remaining > 0 || this.headerFill > 0) {
      const name = this.current ? ` inside member ${this.current.name}` : '';
      throw new DataError(`Truncated tar archive ${this.archive}: it ends${name}`, 'format');
    }
  }

  private readHeader(): void {
    const h = this.header;
    if (h.every((b) => b === 0)) {
      this.ended = true; // end-of-archive marker; anything after it is ignored
      return;
    }
    const stored = readOctal(h, CHECKSUM.offset, CHECKSUM.length);
    let sum = 0;
    for (let i = 0; i < TAR_BLOCK; i++) {
      sum += i >= CHECKSUM.offset && i < CHECKSUM.offset + CHECKSUM.length ? 0x20 : h[i];
    }
    if (stored !== sum) {
      throw new DataError(
        `${this.archive} is not a valid tar archive: bad header checksum at byte ${this.position}`,
        'format',
      );
    }
    const type = String.fromCharCode(h[TYPE_OFFSET]);
    const size = readSize(h);
    if (size === null) throw new DataError(`${this.archive} is not a valid tar archive: bad size field in the header at byte ${this.position}`, 'format');
    if ((type === TYPE_GNU_LONG_NAME || type === TYPE_PAX) && size > MAX_NAME_MEMBER)
      throw new DataError(`${this.archive} is not a valid tar archive: a ${size}-byte name header at byte ${this.position}`, 'format');
    let name = this.nextName ?? headerName(h);
    this.nextName = null;
    name = name.replace(/^(\.\/)+/, '');
    const keep = type === TYPE_GNU_LONG_NAME || type === TYPE_PAX || (TYPE_FILE.has(type) && this.wanted(name));
    this.current = { name, type, chunks: keep ? [] : null, fill: 0 };
    this.remaining = size;
    if (size === 0) this.endMember();
  }

  private endMember(): void {
    const member = this.current;
    this.current = null;
    if (!member) return;
    const size = member.fill;
    this.padding = (TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK;
    this.position += size + this.padding;
    if (!member.chunks) return;
    const data = Buffer.concat(member.chunks, size);
    if (member.type === TYPE_GNU_LONG_NAME) {
      this.nextName = cString(data, 0, data.length);
    } else if (member.type === TYPE_PAX) {
      this.nextName = paxPath(data);
    } else {
      this.onMember(member.name, data);
    }
  }
}

function headerName(h: Buffer): string {
  const name = cString(h, NAME.offset, NAME.length);
  // Only POSIX ustar ("ustar\0") has a prefix field; old GNU ("ustar  ") keeps times there.
  const isPosix = h.toString('latin1', MAGIC.offset, MAGIC.offset + MAGIC.length) === 'ustar\0';
  const prefix = isPosix ? cString(h, PREFIX.offset, PREFIX.length) : '';
  return prefix ? `${prefix}/${name}` : name;
}

/** Size field: octal text, or GNU base-256 when the top bit is set (files over 8 GB); null when it is neither. */
function readSize(h: Buffer): number | null {
  if (h[SIZE.offset] & 0x80) {
    let value = h[SIZE.offset] & 0x7f;
    for (let i = 1; i < SIZE.length; i++) value = value * 256 + h[SIZE.offset + i];
    return Number.isSafeInteger(value) ? value : null;
  }
  const value = readOctal(h, SIZE.offset, SIZE.length);
  return Number.isNaN(value) ? null : value;
}

/** Octal digits (space- or NUL-padded, as tar writes them); NaN for anything else. */
function readOctal(h: Buffer, offset: number, length: number): number {
  const text = cString(h, offset, length).trim();
  if (text === '') return 0;
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : Number.NaN;
}

function cString(b: Buffer, offset: number, length: number): string {
  const end = b.indexOf(0, offset);
  return b.toString('utf8', offset, end === -1 || end > offset + length ? offset + length : end);
}

/** pax extended header records are "<len> key=value\n"; only `path` matters here. */
function paxPath(data: Buffer): string | null {
  let path: string | null = null;
  for (const line of data.toString('utf8').split('\n')) {
    const match = /^\d+ path=(.*)$/.exec(line);
    if (match) path = match[1];
  }
  return path;
}
