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

import * as v from 'valibot';
import { INFERENCE_MODES, LOG_LEVELS, RUN_STATUSES, TrainerEventSchema } from './protocol';
import { boundedText, embedded, finiteNumber, flag, listOf, objectOf, oneOf, orNull, parseTagged, tagged, taggedUnion, text } from './schema';
import { ValidationError } from './validate';

export const PANEL_PROTOCOL_VERSION = 1;

/** Caps on what the webview may send, so a broken or hostile page cannot flood the host. */
export const WEBVIEW_LIMITS = {
  runIdLength: 512,
  compareRuns: 64,
  fileNameLength: 255,
  /** CSV text or PNG data URL, in characters. */
  fileContentLength: 64 * 1024 * 1024,
  logMessageLength: 8192,
} as const;

/** A run's life as the host sees it: the trainer's final statuses plus the states before them. */
export const PANEL_RUN_STATUSES = ['queued', 'starting', 'running', 'stopping', ...RUN_STATUSES] as const;
export type PanelRunStatus = (typeof PANEL_RUN_STATUSES)[number];
/** Where the page is shown: the full editor panel, or the compact view docked in the bottom panel. */
export const PANEL_LAYOUTS = ['full', 'compact'] as const;
export type PanelLayout = (typeof PANEL_LAYOUTS)[number];

// The declarations: each message is one valibot schema, its type is inferred from it, and the
// parser for each direction runs the union of them. Problems are named `<type>.<field>`.

const mode = oneOf(INFERENCE_MODES);
const level = oneOf(LOG_LEVELS);
const protocolVersion = finiteNumber({ integer: true, min: 1 });

/** The host's key for a run (its folder name); every message about the run uses it. */
const runId = v.pipe(
  boundedText(WEBVIEW_LIMITS.runIdLength),
  v.check((id) => id !== '', 'expected a run id, got an empty string'),
);

/** Run ids, at most WEBVIEW_LIMITS.compareRuns (counted before any is read); repeats dropped. */
const runIds = v.pipe(
  listOf(v.unknown()),
  v.check((ids) => ids.length <= WEBVIEW_LIMITS.compareRuns, (issue) => `at most ${WEBVIEW_LIMITS.compareRuns} runs, got ${issue.input.length}`),
  listOf(runId),
  v.transform((ids) => [...new Set(ids)]),
);

/** Trainer events, each through the trainer-event parser (`events[0]: step.loss: ...`). */
const events = listOf(embedded(TrainerEventSchema, 'event'));

/** One run as the webview holds it. */
const PanelRunSchema = objectOf({
  runId,
  /** Short display name (legend, compare table). */
  label: text(),
  status: oneOf(PANEL_RUN_STATUSES),
  /** Why the run failed or stopped (from run-end or the supervisor); null otherwise. */
  reason: orNull(text()),
  /**
   * Its events so far, in order, as written (metrics.jsonl, then what arrived over IPC), resumed
   * sessions and `baseline` envelopes included: the webview resolves them (currentHistory) and
   * draws a --baseline run's plain model as its own series.
   */
  events,
});
export type PanelRun = v.InferOutput<typeof PanelRunSchema>;

/** Defaults from the user's `was.*` settings; the webview's own remembered choices win over them. */
const PanelSettingsSchema = objectOf({
  /** EMA smoothing factor for step series, 0 (off) to 0.99. */
  smoothing: finiteNumber({ min: 0, max: 0.99 }),
  /** Loss chart on a log scale. */
  lossLogScale: flag(),
});
export type PanelSettings = v.InferOutput<typeof PanelSettingsSchema>;

export const DEFAULT_PANEL_SETTINGS: PanelSettings = { smoothing: 0, lossLogScale: false };

// ---------------------------------------------------------------------------------------------
// Host -> webview

const HOST_MESSAGES = [
  /** Everything, replacing what the webview holds. The answer to `ready`. */
  tagged('snapshot', {
    protocolVersion: v.pipe(
      protocolVersion,
      v.check((n) => n === PANEL_PROTOCOL_VERSION, (issue) => `this page speaks version ${PANEL_PROTOCOL_VERSION}, got ${issue.input}`),
    ),
    layout: oneOf(PANEL_LAYOUTS),
    runs: v.pipe(
      listOf(PanelRunSchema),
      v.check((runs) => repeatedRunId(runs) === undefined, (issue) => `runId "${repeatedRunId(issue.input)}" appears twice`),
    ),
    /** The run the progress, buttons and single-run charts are about; null when none. */
    activeRunId: orNull(runId),
    /** Runs overlaid with the active one on the charts and in the compare table. */
    compare: runIds,
    /** The current inference mode (which accuracy leads, which weights Export writes). */
    mode,
    settings: PanelSettingsSchema,
  }),
  /** Append events to a run the webview holds (unknown runIds are ignored). */
  tagged('events', { runId, events }),
  /** A run appeared (started, queued, or opened): added, or replaced if the runId is known. */
  tagged('run-added', { run: PanelRunSchema }),
  /** A run was deleted or closed. */
  tagged('run-removed', { runId }),
  tagged('run-status', { runId, status: oneOf(PANEL_RUN_STATUSES), reason: orNull(text()) }),
  tagged('mode', { mode }),
  tagged('active-run', { runId: orNull(runId) }),
  tagged('compare', { runIds }),
] as const;

const HostMessageSchema = taggedUnion(HOST_MESSAGES);
export type HostMessage = v.InferOutput<typeof HostMessageSchema>;
export type HostMessageType = HostMessage['type'];
export const HOST_MESSAGE_TYPES: readonly HostMessageType[] = HOST_MESSAGES.map((m) => m.entries.type.literal);

function repeatedRunId(runs: readonly PanelRun[]): string | undefined {
  const ids = new Set<string>();
  for (const run of runs) {
    if (ids.has(run.runId)) return run.runId;
    ids.add(run.runId);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Webview -> host

const PNG_DATA_URL_PREFIX = 'data:image/png;base64,';
/** A plain file name: no folders, no leading dot, the extension matching the kind. */
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.() +-]*$/;

function fileName(kind: string) {
  return v.pipe(
    boundedText(WEBVIEW_LIMITS.fileNameLength),
    v.check(
      (name) => FILE_NAME.test(name) && name.toLowerCase().endsWith(`.${kind}`),
      (issue) => `expected a plain file name ending in .${kind}, got "${issue.input.slice(0, 60)}"`,
    ),
  );
}

const fileContent = boundedText(WEBVIEW_LIMITS.fileContentLength);

/**
 * Save a file the webview made (it cannot write files): CSV text, or a PNG as a
 * `data:image/png;base64,` URL. The host asks where, suggesting `suggestedName`.
 */
const SaveFileSchema = v.variant('kind', [
  tagged('save-file', { kind: v.literal('csv'), suggestedName: fileName('csv'), content: fileContent }),
  tagged('save-file', {
    kind: v.literal('png'),
    suggestedName: fileName('png'),
    content: v.pipe(
      fileContent,
      v.check(
        (url) => url.startsWith(PNG_DATA_URL_PREFIX) && /^[A-Za-z0-9+/]*={0,2}$/.test(url.slice(PNG_DATA_URL_PREFIX.length)),
        `expected a ${PNG_DATA_URL_PREFIX} URL`,
      ),
    ),
  }),
]);

const WEBVIEW_MESSAGES = [
  /** The page has loaded and listens: send a snapshot. */
  tagged('ready', { protocolVersion }),
  /** Stop this run (the Stop button). */
  tagged('stop', { runId }),
  /** Switch to this mode (the target, not a toggle, so two quick clicks cannot cross). */
  tagged('switch-mode', { mode, runId: orNull(runId) }),
  /** Export this run's weights in this mode. */
  tagged('export-weights', { runId, mode }),
  SaveFileSchema,
  /** The user chose which runs to overlay (the active run is always drawn). */
  tagged('set-compare', { runIds }),
  /** The user picked another run to follow. */
  tagged('select-run', { runId }),
  /** Something the user should be able to find in the output channel (webview consoles are hidden). */
  tagged('log', { level, message: boundedText(WEBVIEW_LIMITS.logMessageLength) }),
] as const;

const WebviewMessageSchema = taggedUnion(WEBVIEW_MESSAGES);
export type WebviewMessage = v.InferOutput<typeof WebviewMessageSchema>;
export type WebviewMessageType = WebviewMessage['type'];
export const WEBVIEW_MESSAGE_TYPES: readonly WebviewMessageType[] = WEBVIEW_MESSAGES.map((m) => (m.type === 'variant' ? m.options[0] : m).entries.type.literal);
export type SaveFileKind = Extract<WebviewMessage, { type: 'save-file' }>['kind'];

// ---------------------------------------------------------------------------------------------
// Parsers

/** Parse a message from the host (used by the webview). Throws ValidationError. */
export function parseHostMessage(value: unknown): HostMessage {
  return parseTagged(HostMessageSchema, value, 'message');
}

/** Parse a message from the webview (used by the host; the webview is untrusted). Throws ValidationError. */
export function parseWebviewMessage(value: unknown): WebviewMessage {
  return parseTagged(WebviewMessageSchema, value, 'message');
}

/** The PNG bytes of a `save-file` PNG message's data URL (for the host, after parsing). */
export function pngDataUrlToBase64(content: string): string {
  if (!content.startsWith(PNG_DATA_URL_PREFIX)) throw new ValidationError('save-file.content', `expected a ${PNG_DATA_URL_PREFIX} URL`);
  return content.slice(PNG_DATA_URL_PREFIX.length);
}
