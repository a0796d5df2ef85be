// The message contract between the extension host and the metrics webview (panel and view).
// One union per direction; the webview imports these types, the host imports them too, and
// each side parses what it receives from `unknown` with the parser for its direction:
// the host runs every webview message through parseWebviewMessage (the webview is untrusted),
// the webview runs every host message through parseHostMessage. Unknown or malformed messages
// throw a ValidationError naming the field; the receiver logs and drops them.
//
// The conversation: the webview posts `ready` once its script has loaded (also after a reload
// or when a hidden view is shown again); the host answers with a full `snapshot`, then sends
// `events`, `run-added`, `run-status`, `mode`, ... as things change. A snapshot always replaces
// everything the webview holds, so the host may send one at any time.

import { errorMessage } from './errors';
import { parseTrainerEvent, type InferenceMode, type RunStatus, type TrainerEvent } from './protocol';
import {
  ValidationError,
  expectArray,
  expectBoolean,
  expectNumber,
  expectObject,
  expectOneOf,
  expectString,
  nullable,
  type JsonObject,
} from './validate';

export const PANEL_PROTOCOL_VERSION = 1;

/** A run's life as the host sees it: the trainer's final statuses plus the states before them. */
export type PanelRunStatus = 'queued' | 'starting' | 'running' | 'stopping' | RunStatus;
export const PANEL_RUN_STATUSES: readonly PanelRunStatus[] = ['queued', 'starting', 'running', 'stopping', 'completed', 'stopped', 'failed'];
const MODES: readonly InferenceMode[] = ['aom', 'dom'];

/** One run as the webview holds it. */
export interface PanelRun {
  /** The host's key for the run (its folder name); every message about the run uses it. */
  runId: string;
  /** Short display name (legend, compare table). */
  label: string;
  status: PanelRunStatus;
  /** Why the run failed or stopped (from run-end or the supervisor); null otherwise. */
  reason: string | null;
  /**
   * Its events so far, in order, as written (metrics.jsonl, then what arrived over IPC), resumed
   * sessions and `baseline` envelopes included: the webview resolves them (currentHistory) and
   * draws a --baseline run's plain model as its own series.
   */
  events: TrainerEvent[];
}

/** Where the page is shown: the full editor panel, or the compact view docked in the bottom panel. */
export type PanelLayout = 'full' | 'compact';
export const PANEL_LAYOUTS: readonly PanelLayout[] = ['full', 'compact'];

/** Defaults from the user's `was.*` settings; the webview's own remembered choices win over them. */
export interface PanelSettings {
  /** EMA smoothing factor for step series, 0 (off) to 0.99. */
  smoothing: number;
  /** Loss chart on a log scale. */
  lossLogScale: boolean;
}

export const DEFAULT_PANEL_SETTINGS: PanelSettings = { smoothing: 0, lossLogScale: false };

// ---------------------------------------------------------------------------------------------
// Host -> webview

export type HostMessage =
  /** Everything, replacing what the webview holds. The answer to `ready`. */
  | {
      type: 'snapshot';
      protocolVersion: number;
      layout: PanelLayout;
      runs: PanelRun[];
      /** The run the progress, buttons and single-run charts are about; null when none. */
      activeRunId: string | null;
      /** Runs overlaid with the active one on the charts and in the compare table. */
      compare: string[];
      /** The current inference mode (which accuracy leads, which weights Export writes). */
      mode: InferenceMode;
      settings: PanelSettings;
    }
  /** Append events to a run the webview holds (unknown runIds are ignored). */
  | { type: 'events'; runId: string; events: TrainerEvent[] }
  /** A run appeared (started, queued, or opened): added, or replaced if the runId is known. */
  | { type: 'run-added'; run: PanelRun }
  /** A run was deleted or closed. */
  | { type: 'run-removed'; runId: string }
  | { type: 'run-status'; runId: string; status: PanelRunStatus; reason: string | null }
  | { type: 'mode'; mode: InferenceMode }
  | { type: 'active-run'; runId: string | null }
  | { type: 'compare'; runIds: string[] };

export type HostMessageType = HostMessage['type'];
export const HOST_MESSAGE_TYPES: readonly HostMessageType[] = [
  'snapshot',
  'events',
  'run-added',
  'run-removed',
  'run-status',
  'mode',
  'active-run',
  'compare',
];

// ---------------------------------------------------------------------------------------------
// Webview -> host

export type SaveFileKind = 'csv' | 'png';

export type WebviewMessage =
  /** The page has loaded and listens: send a snapshot. */
  | { type: 'ready'; protocolVersion: number }
  /** Stop this run (the Stop button). */
  | { type: 'stop'; runId: string }
  /** Switch to this mode (the target, not a toggle, so two quick clicks cannot cross). */
  | { type: 'switch-mode'; mode: InferenceMode; runId: string | null }
  /** Export this run's weights in this mode. */
  | { type: 'export-weights'; runId: string; mode: InferenceMode }
  /**
   * Save a file the webview made (it cannot write files): CSV text, or a PNG as a
   * `data:image/png;base64,` URL. The host asks where, suggesting `suggestedName`.
   */
  | { type: 'save-file'; kind: SaveFileKind; suggestedName: string; content: string }
  /** The user chose which runs to overlay (the active run is always drawn). */
  | { type: 'set-compare'; runIds: string[] }
  /** The user picked another run to follow. */
  | { type: 'select-run'; runId: string }
  /** Something the user should be able to find in the output channel (webview consoles are hidden). */
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

export type WebviewMessageType = WebviewMessage['type'];
export const WEBVIEW_MESSAGE_TYPES: readonly WebviewMessageType[] = [
  'ready',
  'stop',
  'switch-mode',
  'export-weights',
  'save-file',
  'set-compare',
  'select-run',
  'log',
];

/** Caps on what the webview may send, so a broken or hostile page cannot flood the host. */
export const WEBVIEW_LIMITS = {
  runIdLength: 512,
  compareRuns: 64,
  fileNameLength: 255,
  /** CSV text or PNG data URL, in characters. */
  fileContentLength: 64 * 1024 * 1024,
  logMessageLength: 8192,
} as const;

const PNG_DATA_URL_PREFIX = 'data:image/png;base64,';
/** A plain file name: no folders, no leading dot, the extension matching the kind. */
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.() +-]*$/;

// ---------------------------------------------------------------------------------------------
// Parsers

/** Parse a message from the host (used by the webview). Throws ValidationError. */
export function parseHostMessage(value: unknown): HostMessage {
  const o = expectObject(value, 'message');
  const type = expectOneOf(o.type, 'message.type', HOST_MESSAGE_TYPES);
  const p = (key: string) => `${type}.${key}`;
  switch (type) {
    case 'snapshot': {
      const protocolVersion = expectNumber(o.protocolVersion, p('protocolVersion'), { integer: true, min: 1 });
      if (protocolVersion !== PANEL_PROTOCOL_VERSION)
        throw new ValidationError(p('protocolVersion'), `this page speaks version ${PANEL_PROTOCOL_VERSION}, got ${protocolVersion}`);
      const runs = expectArray(o.runs, p('runs')).map((r, i) => parseRun(r, p(`runs[${i}]`)));
      const ids = new Set<string>();
      for (const run of runs) {
        if (ids.has(run.runId)) throw new ValidationError(p('runs'), `runId "${run.runId}" appears twice`);
        ids.add(run.runId);
      }
      return {
        type,
        protocolVersion,
        layout: expectOneOf(o.layout, p('layout'), PANEL_LAYOUTS),
        runs,
        activeRunId: nullable(o.activeRunId ?? null, (v) => runId(v, p('activeRunId'))),
        compare: runIds(o.compare, p('compare')),
        mode: expectOneOf(o.mode, p('mode'), MODES),
        settings: parseSettings(o.settings, p('settings')),
      };
    }
    case 'events':
      return { type, runId: runId(o.runId, p('runId')), events: events(o.events, p('events')) };
    case 'run-added':
      return { type, run: parseRun(o.run, p('run')) };
    case 'run-removed':
      return { type, runId: runId(o.runId, p('runId')) };
    case 'run-status':
      return {
        type,
        runId: runId(o.runId, p('runId')),
        status: expectOneOf(o.status, p('status'), PANEL_RUN_STATUSES),
        reason: nullable(o.reason ?? null, (v) => expectString(v, p('reason'))),
      };
    case 'mode':
      return { type, mode: expectOneOf(o.mode, p('mode'), MODES) };
    case 'active-run':
      return { type, runId: nullable(o.runId ?? null, (v) => runId(v, p('runId'))) };
    case 'compare':
      return { type, runIds: runIds(o.runIds, p('runIds')) };
  }
}

/** Parse a message from the webview (used by the host; the webview is untrusted). Throws ValidationError. */
export function parseWebviewMessage(value: unknown): WebviewMessage {
  const o = expectObject(value, 'message');
  const type = expectOneOf(o.type, 'message.type', WEBVIEW_MESSAGE_TYPES);
  const p = (key: string) => `${type}.${key}`;
  switch (type) {
    case 'ready':
      return { type, protocolVersion: expectNumber(o.protocolVersion, p('protocolVersion'), { integer: true, min: 1 }) };
    case 'stop':
      return { type, runId: runId(o.runId, p('runId')) };
    case 'switch-mode':
      return {
        type,
        mode: expectOneOf(o.mode, p('mode'), MODES),
        runId: nullable(o.runId ?? null, (v) => runId(v, p('runId'))),
      };
    case 'export-weights':
      return { type, runId: runId(o.runId, p('runId')), mode: expectOneOf(o.mode, p('mode'), MODES) };
    case 'save-file': {
      const kind = expectOneOf(o.kind, p('kind'), ['csv', 'png'] as const);
      const suggestedName = boundedString(o.suggestedName, p('suggestedName'), WEBVIEW_LIMITS.fileNameLength);
      if (!FILE_NAME.test(suggestedName) || !suggestedName.toLowerCase().endsWith(`.${kind}`))
        throw new ValidationError(p('suggestedName'), `expected a plain file name ending in .${kind}, got "${suggestedName.slice(0, 60)}"`);
      const content = boundedString(o.content, p('content'), WEBVIEW_LIMITS.fileContentLength);
      if (kind === 'png' && !(content.startsWith(PNG_DATA_URL_PREFIX) && /^[A-Za-z0-9+/]*={0,2}$/.test(content.slice(PNG_DATA_URL_PREFIX.length))))
        throw new ValidationError(p('content'), `expected a ${PNG_DATA_URL_PREFIX} URL`);
      return { type, kind, suggestedName, content };
    }
    case 'set-compare':
      return { type, runIds: runIds(o.runIds, p('runIds')) };
    case 'select-run':
      return { type, runId: runId(o.runId, p('runId')) };
    case 'log':
      return {
        type,
        level: expectOneOf(o.level, p('level'), ['info', 'warn', 'error'] as const),
        message: boundedString(o.message, p('message'), WEBVIEW_LIMITS.logMessageLength),
      };
  }
}

/** The PNG bytes of a `save-file` PNG message's data URL (for the host, after parsing). */
export function pngDataUrlToBase64(content: string): string {
  if (!content.startsWith(PNG_DATA_URL_PREFIX)) throw new ValidationError('save-file.content', `expected a ${PNG_DATA_URL_PREFIX} URL`);
  return content.slice(PNG_DATA_URL_PREFIX.length);
}

function parseRun(value: unknown, path: string): PanelRun {
  const o: JsonObject = expectObject(value, path);
  return {
    runId: runId(o.runId, `${path}.runId`),
    label: expectString(o.label, `${path}.label`),
    status: expectOneOf(o.status, `${path}.status`, PANEL_RUN_STATUSES),
    reason: nullable(o.reason ?? null, (v) => expectString(v, `${path}.reason`)),
    events: events(o.events, `${path}.events`),
  };
}

function parseSettings(value: unknown, path: string): PanelSettings {
  const o = expectObject(value, path);
  return {
    smoothing: expectNumber(o.smoothing, `${path}.smoothing`, { min: 0, max: 0.99 }),
    lossLogScale: expectBoolean(o.lossLogScale, `${path}.lossLogScale`),
  };
}

function events(value: unknown, path: string): TrainerEvent[] {
  return expectArray(value, path).map((e, i) => {
    try {
      return parseTrainerEvent(e);
    } catch (error) {
      throw new ValidationError(`${path}[${i}]`, errorMessage(error));
    }
  });
}

function runId(value: unknown, path: string): string {
  const id = boundedString(value, path, WEBVIEW_LIMITS.runIdLength);
  if (id === '') throw new ValidationError(path, 'expected a run id, got an empty string');
  return id;
}

function runIds(value: unknown, path: string): string[] {
  const list = expectArray(value, path);
  if (list.length > WEBVIEW_LIMITS.compareRuns) throw new ValidationError(path, `at most ${WEBVIEW_LIMITS.compareRuns} runs, got ${list.length}`);
  const ids = list.map((v, i) => runId(v, `${path}[${i}]`));
  return [...new Set(ids)];
}

function boundedString(value: unknown, path: string, max: number): string {
  const s = expectString(value, path);
  if (s.length > max) throw new ValidationError(path, `longer than ${max} characters (${s.length})`);
  return s;
}
