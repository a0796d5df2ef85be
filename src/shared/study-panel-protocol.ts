// The message contract between the extension host and the study page (webview/study/), declared
// once as panel-protocol.ts declares the metrics page's: one union per direction, each side parsing
// what it receives from `unknown` (the host the page's messages: the page is untrusted; the page
// the host's), a malformed message dropped and logged where it arrives.
//
// The conversation: the page posts `ready` once its script has loaded (also after a reload); the
// host answers with `study`: the whole study.json as last read (or why it cannot be read), and
// posts `study` again whenever the file changes (a running study rewrites it as its runs move).
// Clicking a run posts `open-run`; the host opens that run folder in the metrics panel.

import * as v from 'valibot';
import { LOG_LEVELS } from './protocol';
import { boundedText, finiteNumber, oneOf, orNull, parseTagged, tagged, taggedUnion, text } from './schema';
import { STUDY_RESULTS } from './study';

export const STUDY_PANEL_PROTOCOL_VERSION = 1;

/** Caps on what the page may send. */
export const STUDY_PAGE_LIMITS = { runNameLength: 256, logMessageLength: 8192 } as const;

const HOST_MESSAGES = [
  /**
   * The study the page shows: its folder name, its results as last read (null when none could be
   * read yet), and why the file could not be read (null when it could), e.g. a half-written one.
   */
  tagged('study', {
    protocolVersion: finiteNumber({ integer: true, min: 1 }),
    name: text(),
    results: orNull(STUDY_RESULTS),
    problem: orNull(text()),
    /** Whether this window's study process is running it now (Stop Study applies). */
    live: v.boolean(),
  }),
] as const;

const HostMessageSchema = taggedUnion(HOST_MESSAGES, 'message type');
export type StudyHostMessage = v.InferOutput<typeof HostMessageSchema>;

const PAGE_MESSAGES = [
  tagged('ready', { protocolVersion: finiteNumber({ integer: true, min: 1 }) }),
  /** Open this run of the study (its folder name in <study>/runs) in the metrics panel. */
  tagged('open-run', {
    run: v.pipe(
      boundedText(STUDY_PAGE_LIMITS.runNameLength),
      v.check((name) => name !== '', 'expected a run name, got an empty string'),
    ),
  }),
  /** Something for the output channel (webview consoles are hidden). */
  tagged('log', { level: oneOf(LOG_LEVELS), message: boundedText(STUDY_PAGE_LIMITS.logMessageLength) }),
] as const;

const PageMessageSchema = taggedUnion(PAGE_MESSAGES, 'message type');
export type StudyPageMessage = v.InferOutput<typeof PageMessageSchema>;

/** Parse a message from the host (used by the study page). Throws ValidationError. */
export function parseStudyHostMessage(value: unknown): StudyHostMessage {
  return parseTagged(HostMessageSchema, value, 'message');
}

/** Parse a message from the study page (used by the host). Throws ValidationError. */
export function parseStudyPageMessage(value: unknown): StudyPageMessage {
  return parseTagged(PageMessageSchema, value, 'message');
}

/** The key the metrics panel and the Runs tree use for a study's run: `<study>/<run>` (a run folder name holds no "/"). */
export function studyRunId(study: string, run: string): string {
  return `${study}/${run}`;
}

/** The study and run of a study run id, or null for any other run id. */
export function splitStudyRunId(runId: string): { study: string; run: string } | null {
  const slash = runId.indexOf('/');
  if (slash <= 0 || slash !== runId.lastIndexOf('/') || slash === runId.length - 1) return null;
  return { study: runId.slice(0, slash), run: runId.slice(slash + 1) };
}
