// Lines out of a chunked text stream (a child's stdout and stderr, metrics.jsonl read in pieces),
// in time linear in the input: each chunk is scanned once for '\n' and the pieces of the line in
// progress are kept in a list, joined once when the line ends. (Splitting `pending + chunk` again
// at every chunk made a 50 MB line without a newline cost 14.9 s: issue 14.) The line in progress
// is capped: past `maxLength` characters its pieces are let go, the rest of it is only counted,
// and at its end `onOversized` says how long it was instead of `onLine` handing it on.

import { MAX_EVENT_SIZE } from '../../shared/protocol';

export interface LineSplitterOptions {
  /** A whole line, without its '\n' (nor a '\r' before it). */
  onLine(line: string): void;
  /** A line longer than `maxLength` characters was dropped; `length` counts them all. */
  onOversized(length: number): void;
  /** Default MAX_EVENT_SIZE. */
  maxLength?: number;
}

export class LineSplitter {
  private pieces: string[] = [];
  private length = 0;
  private readonly maxLength: number;

  constructor(private readonly options: LineSplitterOptions) {
    this.maxLength = options.maxLength ?? MAX_EVENT_SIZE;
  }

  /** Characters of the line in progress (its dropped ones included). */
  get pendingLength(): number {
    return this.length;
  }

  /** The line in progress ('' when there is none); null once it is over the cap. */
  pending(): string | null {
    return this.length > this.maxLength ? null : this.pieces.join('');
  }

  push(chunk: string): void {
    let start = 0;
    for (let end = chunk.indexOf('\n'); end !== -1; end = chunk.indexOf('\n', start)) {
      this.take(chunk, start, end);
      this.endLine();
      start = end + 1;
    }
    this.take(chunk, start, chunk.length);
  }

  /** The stream ended: a last line without a newline is handed on too. */
  flush(): void {
    if (this.length > 0) this.endLine();
  }

  /** Drops the line in progress (the stream is read again from its start). */
  reset(): void {
    this.pieces = [];
    this.length = 0;
  }

  private take(chunk: string, from: number, to: number): void {
    if (from === to) return;
    this.length += to - from;
    if (this.length > this.maxLength) this.pieces = [];
    else this.pieces.push(from === 0 && to === chunk.length ? chunk : chunk.slice(from, to));
  }

  private endLine(): void {
    const { length } = this;
    const line = length > this.maxLength ? null : this.pieces.join('');
    this.reset();
    if (line === null) this.options.onOversized(length);
    else this.options.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}

/** "1.5 MiB": a size for a message. */
export function formatSize(characters: number): string {
  return characters < 1024 * 1024 ? `${(characters / 1024).toFixed(1)} KiB` : `${(characters / 1024 / 1024).toFixed(1)} MiB`;
}
