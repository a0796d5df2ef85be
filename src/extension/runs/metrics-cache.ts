// metrics.jsonl read a piece at a time and kept per run: each read takes only the bytes appended
// since the last one (the offset, and the line in progress, are kept), so following a run that
// grows costs what it grew, and a metrics page's snapshot reads nothing the cache already holds.
// A file that shrank or was replaced (another inode) is read again from its start. The history
// kept is thinned as it grows (history-sampling.ts), so a 200 MB file costs a few thousand
// events of memory, not a gigabyte. Reads are asynchronous (fs.promises, in pieces), off the
// extension host's main path; two reads of one run at once share one.
//
// What a line may be is what the rest of the extension says (run-store.ts): a torn last line is
// reported and skipped while it stays last; a damaged line stops the history there, with a
// problem naming it; a line over MAX_EVENT_SIZE is skipped, with a problem naming its size.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { errorMessage } from '../../shared/errors';
import { MAX_EVENT_SIZE, parseTrainerEvent, type TrainerEvent } from '../../shared/protocol';
import { downsampleEvents, HISTORY_STEPS, isStep } from './history-sampling';
import { formatSize, LineSplitter } from './line-splitter';

export interface RunHistory {
  /** In stream order; the steps thinned to about `maxSteps` per series. */
  events: readonly TrainerEvent[];
  problems: string[];
}

export interface MetricsCacheOptions {
  /** Step events per series kept (default HISTORY_STEPS). */
  maxSteps?: number;
  /** Bytes read at a time (default 1 MiB). */
  chunkBytes?: number;
}

const TORN = 'metrics.jsonl: the last line is torn (the trainer was killed while writing); skipped';

/** What one run's file has given so far. */
class MetricsFile {
  offset = 0;
  identity = '';
  private readonly decoder = new StringDecoder('utf8');
  private readonly splitter: LineSplitter;
  private events: TrainerEvent[] = [];
  /** Step events held (both series): the history is thinned when they pass twice the budget. */
  private steps = 0;
  private problems: string[] = [];
  private lineNumber = 0;
  /** A damaged line stops the history: the lines after it are not read. */
  private stopped = false;

  constructor(private readonly maxSteps: number) {
    this.splitter = new LineSplitter({
      onLine: (line) => this.line(line),
      onOversized: (length) => {
        this.lineNumber++;
        this.problems.push(`metrics.jsonl: line ${this.lineNumber} is ${formatSize(length)}, over the ${formatSize(MAX_EVENT_SIZE)} cap for one event; skipped`);
      },
    });
  }

  /** Bytes from `offset` on. */
  consume(bytes: Buffer): void {
    this.offset += bytes.length;
    if (this.stopped) return;
    this.splitter.push(this.decoder.write(bytes));
    if (this.steps > 2 * this.maxSteps) {
      this.events = [...downsampleEvents(this.events, this.maxSteps)];
      this.steps = this.events.filter(isStep).length;
    }
  }

  /** The history so far: the line in progress, when it is a whole event (a file without a last newline), included. */
  history(): RunHistory {
    const pending = this.stopped ? '' : this.splitter.pending();
    if (pending === null || pending.trim() === '') return { events: [...this.events], problems: [...this.problems] };
    const event = parseLine(pending, this.lineNumber + 1);
    if (event instanceof Error) return { events: [...this.events], problems: [...this.problems, TORN] };
    return { events: [...this.events, event], problems: [...this.problems] };
  }

  private line(line: string): void {
    this.lineNumber++;
    if (this.stopped || line.trim() === '') return;
    const event = parseLine(line, this.lineNumber);
    if (event instanceof Error) {
      this.problems.push(`metrics.jsonl: ${event.message}; the lines after it are ignored`);
      this.stopped = true;
      return;
    }
    this.events.push(event);
    if (isStep(event)) this.steps++;
  }
}

function parseLine(line: string, lineNumber: number): TrainerEvent | Error {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error) {
    return new Error(`line ${lineNumber}: not JSON: ${errorMessage(error)}`);
  }
  try {
    return parseTrainerEvent(json);
  } catch (error) {
    return new Error(`line ${lineNumber}: ${errorMessage(error)}`);
  }
}

export class MetricsCache {
  private readonly files = new Map<string, MetricsFile>();
  private readonly reading = new Map<string, Promise<RunHistory>>();
  private readonly maxSteps: number;
  private readonly chunkBytes: number;

  constructor(options: MetricsCacheOptions = {}) {
    this.maxSteps = options.maxSteps ?? HISTORY_STEPS;
    this.chunkBytes = options.chunkBytes ?? 1024 * 1024;
  }

  /** The run's history with what was appended since the last read; a missing file has none. */
  read(dir: string): Promise<RunHistory> {
    const running = this.reading.get(dir);
    if (running) return running;
    const read = this.readAppended(dir).finally(() => this.reading.delete(dir));
    this.reading.set(dir, read);
    return read;
  }

  /**
   * The history as last read, never reading: `complete` when that read reached the file's present
   * end (same file, same size). Undefined when the file was never read, or is another file now.
   */
  lastRead(dir: string): { history: RunHistory; complete: boolean } | undefined {
    const file = this.files.get(dir);
    if (!file) return undefined;
    let stat: fs.Stats;
    try {
      stat = fs.statSync(path.join(dir, 'metrics.jsonl'));
    } catch {
      return undefined;
    }
    if (file.identity !== `${stat.dev}:${stat.ino}` || stat.size < file.offset) return undefined;
    return { history: file.history(), complete: file.offset === stat.size };
  }

  /** Lets go of a run's history (its folder was deleted). */
  forget(dir: string): void {
    this.files.delete(dir);
  }

  /**
   * The same, synchronously, for a command that needs a run's events now (readRunEvents, with
   * every event kept): in pieces too, and only what was appended since any read of the run.
   */
  readSync(dir: string): RunHistory {
    let fd: number;
    try {
      fd = fs.openSync(path.join(dir, 'metrics.jsonl'), 'r');
    } catch (error) {
      return this.missing(dir, error);
    }
    try {
      const stat = fs.fstatSync(fd);
      const file = this.fileFor(dir, stat);
      const buffer = Buffer.alloc(this.bufferSize(stat, file));
      while (file.offset < stat.size) {
        const bytesRead = fs.readSync(fd, buffer, 0, Math.min(buffer.length, stat.size - file.offset), file.offset);
        if (bytesRead === 0) break;
        file.consume(buffer.subarray(0, bytesRead));
      }
      return file.history();
    } catch (error) {
      return this.unreadable(dir, error);
    } finally {
      fs.closeSync(fd);
    }
  }

  private async readAppended(dir: string): Promise<RunHistory> {
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(path.join(dir, 'metrics.jsonl'), 'r');
    } catch (error) {
      return this.missing(dir, error);
    }
    try {
      const stat = await handle.stat();
      const file = this.fileFor(dir, stat);
      // Up to the size seen now: a file that keeps growing is not chased.
      const buffer = Buffer.alloc(this.bufferSize(stat, file));
      while (file.offset < stat.size && this.files.get(dir) === file) {
        const at = file.offset;
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, stat.size - at), at);
        if (bytesRead === 0) break;
        // A synchronous read (readSync) may have taken these bytes while this one waited.
        if (file.offset === at) file.consume(buffer.subarray(0, bytesRead));
      }
      return (this.files.get(dir) ?? file).history();
    } catch (error) {
      return this.unreadable(dir, error);
    } finally {
      await handle.close();
    }
  }

  private bufferSize(stat: fs.Stats, file: MetricsFile): number {
    return Math.min(this.chunkBytes, Math.max(1, stat.size - file.offset));
  }

  private missing(dir: string, error: unknown): RunHistory {
    this.files.delete(dir);
    return { events: [], problems: (error as NodeJS.ErrnoException).code === 'ENOENT' ? [] : [`metrics.jsonl: ${errorMessage(error)}`] };
  }

  private unreadable(dir: string, error: unknown): RunHistory {
    this.files.delete(dir);
    return { events: [], problems: [`metrics.jsonl: ${errorMessage(error)}`] };
  }

  /** The run's file state; a fresh one when the file shrank or is another file than the one read. */
  private fileFor(dir: string, stat: fs.Stats): MetricsFile {
    const identity = `${stat.dev}:${stat.ino}`;
    const known = this.files.get(dir);
    if (known && known.identity === identity && stat.size >= known.offset) return known;
    const file = new MetricsFile(this.maxSteps);
    file.identity = identity;
    this.files.set(dir, file);
    return file;
  }
}
