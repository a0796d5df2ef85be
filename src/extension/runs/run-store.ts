// Runs as they are on disk: each folder under the runs folder with config.json, metrics.jsonl and
// summary.json (README "A run folder"). Everything read is parsed from `unknown` through the shared
// parsers; a torn or damaged metrics.jsonl yields the events before the damage and a problem note,
// never an exception, so one bad folder cannot empty the Runs tree.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { currentHistory, parseTrainerEvent, type BaselineComparison, type DomSearchEvent, type EpochEvent, type RunEndEvent, type RunStatus, type TrainerEvent } from '../../shared/protocol';
import { isObject } from '../../shared/validate';
import { errorMessage } from '../../shared/errors';
import { fsyncDirectory, writeFileAtomic } from '../../shared/node/atomic-file';
import { blockingLock } from '../../shared/node/run-lock';
import { MetricsCache, type RunHistory } from './metrics-cache';
import { Emitter } from '../base/emitter';

/** A folder without summary.json: running now, or its trainer was killed. */
export type DiskRunStatus = RunStatus | 'incomplete';

export interface RunRecord {
  /** The folder name; the key every part of the extension uses for a run. */
  runId: string;
  dir: string;
  status: DiskRunStatus;
  reason: string | null;
  model: string | null;
  dataset: string | null;
  transform: string | null;
  preset: string | null;
  epochs: number | null;
  epochsCompleted: number;
  /** Selection-split accuracies at the best epoch (by AOM), from the epoch events. */
  best: { epoch: number; aom: number; dom: number; split: 'validation' | 'test' } | null;
  /** Test accuracies at the selected epoch, from summary.json. */
  test: { aom: number; dom: number; epoch: number } | null;
  /** With --baseline: the plain model's test accuracy and the WAS gain over it (summary.json). */
  baseline: BaselineComparison | null;
  /** The run's FLOPs target for a deterministic DOM (config dom.flopsTarget); null: DOM is the stochastic reference DOM. */
  domFlopsTarget: number | null;
  /** Deterministic DOM searches saved in dom/ (at the end of the run, or by `was-train dom`). */
  domSearches: DomSearchEvent[];
  /** A checkpoint to resume, export or search from (checkpoints/last.json). */
  hasCheckpoint: boolean;
  /** Milliseconds since the epoch: when the run was created, and when a file of it last changed. */
  createdMs: number;
  lastWriteMs: number;
  /** Things that could not be read (a torn last line, a damaged file), for the tooltip and log. */
  problems: string[];
}

export interface RunEvents {
  events: TrainerEvent[];
  problems: string[];
}

const RUN_FILES = ['config.json', 'metrics.jsonl', 'summary.json'] as const;
const CHECKPOINT_FILE = path.join('checkpoints', 'last.json');
/** What else a record depends on: a folder's time changes when a file is added to it. */
const OTHER_PATHS = [CHECKPOINT_FILE, 'dom'] as const;
/** A resumed session loads tfjs and its checkpoint before its first line: seconds after any summary. */
const STALE_SUMMARY_SLACK_MS = 1000;

/**
 * The events of metrics.jsonl, up to the first damaged line; missing file: none. Every event, read
 * in pieces (metrics-cache.ts) for a command that needs them all; the views use a MetricsCache.
 */
export function readRunEvents(dir: string): RunEvents {
  const { events, problems } = new MetricsCache({ maxSteps: Number.POSITIVE_INFINITY }).readSync(dir);
  return { events: [...events], problems };
}

/**
 * Reads one run folder into a record; null when the folder is not a run (none of its files, or a
 * config.json not the trainer's). `readEvents` gives its
 * metrics.jsonl (RunStore passes its cache's, which reads only what was appended since).
 */
export function readRun(dir: string, readEvents: (dir: string) => RunHistory = readRunEvents): RunRecord | null {
  const stats = RUN_FILES.map((name) => statOrNull(path.join(dir, name)));
  if (stats.every((s) => s === null)) return null;
  const problems: string[] = [];
  const config = readJson(path.join(dir, 'config.json'), problems);
  const [configStat, metricsStat, summaryStat] = stats;
  // Some other program's config.json (a runs folder a workspace pointed anywhere): not a run. The
  // trainer writes config.json atomically, so one that is not its shape was never the trainer's.
  if (configStat !== null && !isRunConfig(config)) return null;
  const summary = isCurrent(summaryStat, metricsStat) ? readSummary(dir, problems) : null;

  // Epoch events give the best DOM accuracy; the run-start event stands in for a missing config.json.
  const needEvents = summary === null || summary.test === null || !isObject(config);
  const { events, problems: eventProblems } = needEvents ? readEvents(dir) : { events: [], problems: [] };
  problems.push(...eventProblems);
  // A resumed run redid the epochs after its checkpoint: count the latest session's, not both.
  const history = currentHistory(events);
  const runStart = history.find((e) => e.type === 'run-start');
  const trainConfig = isObject(config) && isObject(config.config) ? config.config : runStart ? (runStart.config as unknown as Record<string, unknown>) : null;
  const epochEvents = history.filter((e): e is EpochEvent => e.type === 'epoch');
  const bestEvent = [...epochEvents].reverse().find((e) => e.best) ?? null;

  const createdAt = isObject(config) && typeof config.createdAt === 'string' ? Date.parse(config.createdAt) : Number.NaN;
  const mtimes = stats.filter((s) => s !== null).map((s) => s.mtimeMs);
  return {
    runId: path.basename(dir),
    dir,
    status: summary?.status ?? 'incomplete',
    reason: summary?.reason ?? null,
    model: stringAt(trainConfig, ['model']),
    dataset: stringAt(trainConfig, ['data', 'name']),
    transform: stringAt(trainConfig, ['was', 'transform']),
    preset: stringAt(trainConfig, ['preset']),
    epochs: numberAt(trainConfig, ['epochs']),
    epochsCompleted: summary?.epochsCompleted ?? epochEvents.length,
    best: bestEvent ? { epoch: bestEvent.epoch, aom: bestEvent.aomAccuracy, dom: bestEvent.domAccuracy, split: bestEvent.selectionSplit } : null,
    test: summary?.test ?? null,
    baseline: summary?.baseline ?? null,
    domFlopsTarget: numberAt(trainConfig, ['dom', 'flopsTarget']),
    domSearches: readDomSearches(dir, problems),
    hasCheckpoint: statOrNull(path.join(dir, CHECKPOINT_FILE)) !== null,
    createdMs: Number.isFinite(createdAt) ? createdAt : (runStart?.time ?? Math.min(...mtimes)),
    lastWriteMs: Math.max(...mtimes),
    problems,
  };
}

/** Every run folder under `runsDir`, newest first. A missing runs folder holds no runs. */
export function listRuns(runsDir: string, read: (dir: string) => RunRecord | null = readRun): RunRecord[] {
  let names: fs.Dirent[];
  try {
    names = fs.readdirSync(runsDir, { withFileTypes: true });
  } catch {
    return [];
  }
  const records = names.filter((d) => d.isDirectory()).map((d) => read(path.join(runsDir, d.name)));
  return records.filter((r): r is RunRecord => r !== null).sort((a, b) => b.createdMs - a.createdMs || b.runId.localeCompare(a.runId));
}

/**
 * listRuns with a cache: a folder is read again only when one of its files changed size or time,
 * so a refresh re-reads only what changed. A folder a trainer of this window is writing
 * (`isLive`) keeps its first record: its live numbers come from the trainer's events, and
 * re-parsing a growing metrics.jsonl at every refresh would load the extension host. A listing
 * never waits for metrics.jsonl: what it needs from one not read to its end yet is read in the
 * background (only the bytes appended since the last read; the record has what was read before
 * meanwhile), and onDidReadMetrics says when.
 */
export class RunStore {
  private readonly cache = new Map<string, { signature: string; record: RunRecord | null }>();
  /** The runs' metrics.jsonl, read incrementally; the metrics pages read their histories from it too. */
  readonly metrics = new MetricsCache();
  private readonly metricsRead = new Emitter<void>();
  /**
   * A run's metrics.jsonl that a listing needed has been read (asynchronously): list again for
   * records with its epochs. Until then the record has what config.json and summary.json say.
   */
  readonly onDidReadMetrics = this.metricsRead.event;
  /** What a background read of a file it could not read gave (its problem), for the record made next. */
  private readonly unread = new Map<string, RunHistory>();

  list(runsDir: string, isLive: (runId: string) => boolean = () => false): RunRecord[] {
    const seen = new Set<string>();
    const records = listRuns(runsDir, (dir) => {
      seen.add(dir);
      const hit = this.cache.get(dir);
      if (hit && isLive(path.basename(dir))) return hit.record;
      return this.read(dir);
    });
    for (const dir of this.cache.keys()) {
      // A run folder outside the runs folder (a study's, read by `read`) is not this listing's to forget.
      if (seen.has(dir) || path.dirname(dir) !== runsDir) continue;
      this.cache.delete(dir);
      this.metrics.forget(dir);
    }
    return records;
  }

  /** One run folder's record (a study's run, which no listing holds), read again only when its files changed. */
  read(dir: string): RunRecord | null {
    const hit = this.cache.get(dir);
    const signature = [...RUN_FILES, ...OTHER_PATHS].map((name) => {
      const s = statOrNull(path.join(dir, name));
      return s ? `${s.size}:${s.mtimeMs}` : '-';
    }).join('|');
    if (hit?.signature === signature) return hit.record;
    const record = readRun(dir, (d) => this.metricsOf(d));
    this.cache.set(dir, { signature, record });
    return record;
  }

  /**
   * A run's metrics as far as they are read, never waiting: what is not read yet is read
   * asynchronously, off the extension host's main path, and then the record is made again.
   */
  private metricsOf(dir: string): RunHistory {
    const known = this.metrics.lastRead(dir);
    if (known?.complete) return known.history;
    // A file that could not be read (missing, unreadable) is tried again only when the folder changes.
    const unread = this.unread.get(dir);
    if (unread && !known) {
      this.unread.delete(dir);
      return unread;
    }
    void this.metrics.read(dir).then((history) => {
      if (!this.metrics.lastRead(dir)) this.unread.set(dir, history);
      this.cache.delete(dir);
      this.metricsRead.fire();
    });
    // Meanwhile what was read before (a growing file keeps its epochs), or nothing.
    return known?.history ?? { events: [], problems: [] };
  }
}

/**
 * Writes summary.json for a run whose trainer died before writing one (killed, crashed), so the
 * folder itself says it failed and why. Never replaces a current summary (one the trainer wrote
 * for its latest session) nor writes into a folder another process holds the lock of;
 * metrics.jsonl is left alone (appending after a torn line would damage it).
 */
export function writeMissingSummary(dir: string, status: RunStatus, reason: string, events: readonly TrainerEvent[], now = Date.now()): RunEndEvent | null {
  const file = path.join(dir, 'summary.json');
  if (!fs.existsSync(dir) || isCurrent(statOrNull(file), statOrNull(path.join(dir, 'metrics.jsonl')))) return null;
  // Another process is writing the run (our trainer was refused its lock): its summary is its own to write.
  if (blockingLock(dir) !== null) return null;
  const history = currentHistory(events);
  const epochs = history.filter((e): e is EpochEvent => e.type === 'epoch');
  const best = [...epochs].reverse().find((e) => e.best);
  const start = [...history].reverse().find((e) => e.type === 'run-start');
  const end: RunEndEvent = {
    type: 'run-end',
    time: now,
    status,
    reason,
    epochsCompleted: epochs.length,
    bestEpoch: best?.epoch ?? null,
    bestAomAccuracy: best?.aomAccuracy ?? null,
    test: null,
    durationSec: start ? (now - start.time) / 1000 : 0,
    samplesPerSec: 0,
  };
  writeFileAtomic(file, JSON.stringify(end, null, 2) + '\n');
  fsyncDirectory(dir);
  return end;
}

/**
 * The trainer writes summary.json after the run-end line, so a metrics.jsonl clearly newer than
 * the summary means a later session (a resume) is writing: the old summary no longer says how it
 * ends. The slack absorbs copies (cp -r) that write the files a few milliseconds apart.
 */
function isCurrent(summary: fs.Stats | null, metrics: fs.Stats | null): summary is fs.Stats {
  return summary !== null && (metrics === null || metrics.mtimeMs <= summary.mtimeMs + STALE_SUMMARY_SLACK_MS);
}

/** Saved DOM searches (dom/<checkpoint>-flops-<target>.json), each parsed as a dom-search event. */
function readDomSearches(dir: string, problems: string[]): DomSearchEvent[] {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(dir, 'dom')).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const out: DomSearchEvent[] = [];
  for (const name of names) {
    const json = readJson(path.join(dir, 'dom', name), problems);
    if (json === undefined) continue;
    try {
      const event = parseTrainerEvent(json);
      if (event.type === 'dom-search') out.push(event);
      else problems.push(`dom/${name}: expected a dom-search event, got ${event.type}`);
    } catch (error) {
      problems.push(`dom/${name}: ${errorMessage(error)}`);
    }
  }
  return out;
}

function readSummary(dir: string, problems: string[]): RunEndEvent | null {
  const json = readJson(path.join(dir, 'summary.json'), problems);
  if (json === undefined) return null;
  try {
    const event = parseTrainerEvent(json);
    if (event.type === 'run-end') return event;
    problems.push(`summary.json: expected a run-end event, got ${event.type}`);
  } catch (error) {
    problems.push(`summary.json: ${errorMessage(error)}`);
  }
  return null;
}

/**
 * Whether a parsed config.json is the trainer's (output/run-folder.ts: runId, createdAt, config, ...),
 * by its shape only: runs of older versions hold options this one no longer knows.
 */
function isRunConfig(json: unknown): boolean {
  return isObject(json) && typeof json.runId === 'string' && typeof json.createdAt === 'string' && isObject(json.config) && typeof json.config.model === 'string';
}

/** Parsed JSON, or undefined when the file is missing or unreadable (noted in `problems`). */
function readJson(file: string, problems: string[]): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`${path.basename(file)}: ${errorMessage(error)}`);
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    problems.push(`${path.basename(file)}: not JSON (${errorMessage(error)})`);
    return undefined;
  }
}

function statOrNull(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch {
    return null;
  }
}

function valueAt(root: unknown, keys: readonly string[]): unknown {
  let node = root;
  for (const key of keys) node = isObject(node) ? node[key] : undefined;
  return node;
}

function stringAt(root: unknown, keys: readonly string[]): string | null {
  const v = valueAt(root, keys);
  return typeof v === 'string' ? v : null;
}

function numberAt(root: unknown, keys: readonly string[]): number | null {
  const v = valueAt(root, keys);
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
