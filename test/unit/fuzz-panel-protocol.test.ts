// Fuzzing both directions of the panel protocol (src/shared/panel-protocol.ts): the host parses
// every webview message (the page is untrusted) with parseWebviewMessage, the page parses every
// host message with parseHostMessage. Random values, valid messages with fields changed, and
// oversized ones each give a message or a ValidationError; never another exception, and an
// oversized message is refused without reading it all. Seed and case counts: test/support/fuzz.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_PANEL_SETTINGS, PANEL_PROTOCOL_VERSION, WEBVIEW_LIMITS, parseHostMessage, parseWebviewMessage } from '../../src/shared/panel-protocol';
import { ValidationError } from '../../src/shared/validate';
import { VALID_EVENTS, anyValue, fuzzOptions, mutated, parsesOrRejects } from '../support/fuzz';

const run = { runId: 'r1', label: 'lenet mnist', status: 'running', reason: null, events: VALID_EVENTS.slice(0, 6) };
const HOST_MESSAGES: readonly unknown[] = [
  { type: 'snapshot', protocolVersion: PANEL_PROTOCOL_VERSION, layout: 'full', runs: [run, { ...run, runId: 'r2', events: VALID_EVENTS }], activeRunId: 'r1', compare: ['r2'], mode: 'aom', settings: DEFAULT_PANEL_SETTINGS },
  { type: 'snapshot', protocolVersion: PANEL_PROTOCOL_VERSION, layout: 'compact', runs: [], activeRunId: null, compare: [], mode: 'dom', settings: { smoothing: 0.9, lossLogScale: true } },
  { type: 'events', runId: 'r1', events: VALID_EVENTS },
  { type: 'run-added', run: { ...run, status: 'queued', events: [] } },
  { type: 'run-removed', runId: 'r1' },
  { type: 'run-status', runId: 'r1', status: 'failed', reason: 'trainer exited with code 1' },
  { type: 'mode', mode: 'dom' },
  { type: 'active-run', runId: null },
  { type: 'compare', runIds: ['a', 'b'] },
];

const PNG = 'data:image/png;base64,iVBORw0KGgo=';
const WEBVIEW_MESSAGES: readonly unknown[] = [
  { type: 'ready', protocolVersion: PANEL_PROTOCOL_VERSION },
  { type: 'stop', runId: 'r' },
  { type: 'switch-mode', mode: 'dom', runId: 'r' },
  { type: 'switch-mode', mode: 'aom', runId: null },
  { type: 'export-weights', runId: 'r', mode: 'aom' },
  { type: 'save-file', kind: 'csv', suggestedName: 'metrics.csv', content: 'run,series\nr,x\n' },
  { type: 'save-file', kind: 'png', suggestedName: 'run (2)-loss.png', content: PNG },
  { type: 'set-compare', runIds: ['a', 'b'] },
  { type: 'select-run', runId: 'r' },
  { type: 'log', level: 'warn', message: 'dropped a malformed message' },
];

test('fuzz: the valid panel messages parse', () => {
  for (const message of HOST_MESSAGES) parseHostMessage(message);
  for (const message of WEBVIEW_MESSAGES) parseWebviewMessage(message);
});

test('fuzz: parseWebviewMessage on random values', () => {
  fc.assert(fc.property(anyValue, (value) => void parsesOrRejects(() => parseWebviewMessage(value), ValidationError)), fuzzOptions(3000));
});

test('fuzz: parseWebviewMessage on valid messages with fields changed, dropped or added', () => {
  fc.assert(
    fc.property(mutated(WEBVIEW_MESSAGES), (value) => {
      const result = parsesOrRejects(() => parseWebviewMessage(value), ValidationError);
      if (!result.ok) return;
      // What the host acts on is within the limits it declares.
      const message = result.value;
      if ('runId' in message && message.runId !== null) assert.ok(message.runId.length >= 1 && message.runId.length <= WEBVIEW_LIMITS.runIdLength);
      if (message.type === 'set-compare') assert.ok(message.runIds.length <= WEBVIEW_LIMITS.compareRuns);
      if (message.type === 'save-file') assert.match(message.suggestedName, /^[A-Za-z0-9_][^/\\]*$/);
    }),
    fuzzOptions(4000),
  );
});

test('fuzz: parseHostMessage on random values', () => {
  fc.assert(fc.property(anyValue, (value) => void parsesOrRejects(() => parseHostMessage(value), ValidationError)), fuzzOptions(3000));
});

test('fuzz: parseHostMessage on valid messages with fields changed (events inside included)', () => {
  fc.assert(fc.property(mutated(HOST_MESSAGES), (value) => void parsesOrRejects(() => parseHostMessage(value), ValidationError)), fuzzOptions(3000));
});

test('fuzz: oversized webview messages are refused at once, naming the limit', () => {
  const many = Array.from({ length: 1_000_000 }, (_, i) => `r${i}`);
  const huge = 'x'.repeat(WEBVIEW_LIMITS.fileContentLength + 1);
  const cases: [unknown, RegExp][] = [
    [{ type: 'set-compare', runIds: many }, /^set-compare\.runIds: at most 64 runs/],
    [{ type: 'save-file', kind: 'csv', suggestedName: 'a.csv', content: huge }, /^save-file\.content: longer than/],
    [{ type: 'save-file', kind: 'csv', suggestedName: huge, content: '' }, /^save-file\.suggestedName: longer than 255/],
    [{ type: 'log', level: 'info', message: huge }, /^log\.message: longer than 8192/],
    [{ type: 'stop', runId: huge }, /^stop\.runId: longer than 512/],
    [{ type: huge }, /^message\.type: expected one of/],
    [{ type: 'save-file', kind: huge }, /^save-file\.kind: expected one of csv, png/],
  ];
  for (const [value, message] of cases) {
    const started = Date.now();
    assert.throws(() => parseWebviewMessage(value), (e: unknown) => e instanceof ValidationError && message.test(e.message), message.source);
    assert.ok(Date.now() - started < 1000, `${message.source}: took ${Date.now() - started} ms`);
  }
});
