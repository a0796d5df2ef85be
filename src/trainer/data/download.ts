// Download a file over http(s): stream into a temp file next to the target, check its size
// and md5, then rename. A failed or mismatching download leaves nothing at the target path
// (and no temp file), so a later run never reads half an archive.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { errorMessage } from '../../shared/errors';
import { DataError } from './types';

const MAX_REDIRECTS = 5;
/** Abort when the server sends nothing for this long. */
const IDLE_TIMEOUT_MS = 60_000;

export interface DownloadOptions {
  /** Lower-case hex md5 of the whole file; checked when given. */
  readonly md5?: string;
  /** Exact byte size; checked when given, and used as the total when the server sends none. */
  readonly size?: number;
  /** Called as bytes arrive; total is null when neither the server nor `size` says it. */
  readonly onProgress?: (bytes: number, total: number | null) => void;
  readonly idleTimeoutMs?: number;
}

export async function downloadFile(url: string, destination: string, options: DownloadOptions = {}): Promise<void> {
  const dir = path.dirname(destination);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new DataError(`Cannot create folder ${dir} for the download: ${errorMessage(err)}`, 'download');
  }
  const temp = `${destination}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.part`;
  try {
    const { bytes, md5 } = await fetchToFile(url, temp, options);
    if (options.size !== undefined && bytes !== options.size) {
      throw new DataError(
        `Download of ${url} is ${bytes} bytes, expected ${options.size}; the file was deleted, try again`,
        'size',
      );
    }
    if (options.md5 !== undefined && md5 !== options.md5.toLowerCase()) {
      throw new DataError(
        `Download of ${url} has md5 ${md5}, expected ${options.md5}; the file was deleted, try again`,
        'checksum',
      );
    }
    fs.renameSync(temp, destination);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    if (err instanceof DataError) throw err;
    throw new DataError(`Cannot save the download to ${destination}: ${errorMessage(err)}`, 'download');
  }
}

async function fetchToFile(
  url: string,
  file: string,
  options: DownloadOptions,
): Promise<{ bytes: number; md5: string }> {
  const response = await openFollowingRedirects(url, options.idleTimeoutMs ?? IDLE_TIMEOUT_MS);
  const header = Number(response.headers['content-length']);
  const total = Number.isFinite(header) && header > 0 ? header : (options.size ?? null);
  const hash = crypto.createHash('md5');
  let bytes = 0;
  response.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    hash.update(chunk);
    options.onProgress?.(bytes, total);
  });
  try {
    await pipeline(response, fs.createWriteStream(file));
  } catch (err) {
    throw new DataError(`Download of ${url} failed after ${bytes} bytes: ${errorMessage(err)}`, 'download');
  }
  if (!response.complete) {
    throw new DataError(`Download of ${url} was cut off after ${bytes} bytes`, 'download');
  }
  return { bytes, md5: hash.digest('hex') };
}

function openFollowingRedirects(url: string, idleTimeoutMs: number): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const open = (current: string, redirectsLeft: number): void => {
      let parsed: URL;
      try {
        parsed = new URL(current);
      } catch {
        reject(new DataError(`Cannot download: invalid URL ${current}`, 'download'));
        return;
      }
      const client = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : null;
      if (!client) {
        reject(new DataError(`Cannot download ${current}: only http and https are supported`, 'download'));
        return;
      }
      // No keep-alive agent: one long transfer, and no idle socket left holding the process.
      const request = client.get(parsed, { agent: false }, (response) => {
        const status = response.statusCode ?? 0;
        const location = response.headers.location;
        if (status >= 300 && status < 400 && location) {
          response.resume();
          if (redirectsLeft === 0) {
            reject(new DataError(`Download of ${url} failed: too many redirects`, 'download'));
            return;
          }
          open(new URL(location, current).toString(), redirectsLeft - 1);
          return;
        }
        if (status !== 200) {
          response.resume();
          reject(new DataError(`Download of ${current} failed: HTTP ${status} ${response.statusMessage ?? ''}`.trim(), 'download'));
          return;
        }
        resolve(response);
      });
      request.setTimeout(idleTimeoutMs, () => {
        request.destroy(new Error(`no data for ${Math.round(idleTimeoutMs / 1000)} s`));
      });
      request.on('error', (err) => {
        reject(new DataError(`Download of ${current} failed: ${errorMessage(err)}`, 'download'));
      });
    };
    open(url, MAX_REDIRECTS);
  });
}
