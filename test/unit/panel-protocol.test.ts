// The extension host <-> webview contract: every message each way parses back to itself after
// the JSON trip VS Code makes it take; malformed and unknown messages are rejected naming the
// field; save-file names and PNG payloads are checked; the page HTML carries a strict CSP.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createNonce, panelCsp, renderPanelHtml } from '../../src/shared/panel-html';
import {
  DEFAULT_PANEL_SETTINGS,
  HOST_MESSAGE_TYPES,
  PANEL_PROTOCOL_VERSION,
  WEBVIEW_LIMITS,
  WEBVIEW_MESSAGE_TYPES,
  parseHostMessage,
  parseWebviewMessage,
  pngDataUrlToBase64,
  type HostMessage,
  type PanelRun,
  type WebviewMessage,
} from '../../src/shared/panel-protocol';
import { encodeEvent, parseEventLines, parseTrainerEvent } from '../../src/shared/protocol';
import { ValidationError } from '../../src/shared/validate';

const { events } = parseEventLines(fs.readFileSync(path.join(__dirname, '../fixtures/webview/was-shift-baseline.metrics.jsonl'), 'utf8'));
const aRun: PanelRun = { runId: '20261128-020000-small-cnn-synthetic', label: 'small-cnn synthetic', status: 'running', reason: null, events };

/** What VS Code does to a message between the two sides. */
const trip = (message: unknown): unknown => JSON.parse(JSON.stringify(message));

const hostMessages: HostMessage[] = [
  { type: 'snapshot', protocolVersion: PANEL_PROTOCOL_VERSION, layout: 'full', runs: [aRun], activeRunId: aRun.runId, compare: [], mode: 'aom', settings: DEFAULT_PANEL_SETTINGS },
  { type: 'snapshot', protocolVersion: PANEL_PROTOCOL_VERSION, layout: 'compact', runs: [], activeRunId: null, compare: ['a', 'b'], mode: 'dom', settings: { smoothing: 0.9, lossLogScale: true } },
  { type: 'events', runId: 'r', events: events.slice(0, 5) },
  { type: 'run-added', run: { ...aRun, status: 'queued', events: [] } },
  { type: 'run-removed', runId: 'r' },
  { type: 'run-status', runId: 'r', status: 'failed', reason: 'trainer exited with code 1' },
  { type: 'run-status', runId: 'r', status: 'stopping', reason: null },
  { type: 'mode', mode: 'dom' },
  { type: 'active-run', runId: null },
  { type: 'active-run', runId: 'r' },
  { type: 'compare', runIds: ['a', 'b'] },
];

const png = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const webviewMessages: WebviewMessage[] = [
  { type: 'ready', protocolVersion: PANEL_PROTOCOL_VERSION },
  { type: 'stop', runId: 'r' },
  { type: 'switch-mode', mode: 'dom', runId: 'r' },
  { type: 'switch-mode', mode: 'aom', runId: null },
  { type: 'export-weights', runId: 'r', mode: 'aom' },
  { type: 'save-file', kind: 'csv', suggestedName: 'small-cnn synthetic-metrics.csv', content: 'run,series\nr,x\n' },
  { type: 'save-file', kind: 'png', suggestedName: 'run (2)-loss.png', content: png },
  { type: 'set-compare', runIds: ['a', 'b'] },
  { type: 'select-run', runId: 'r' },
  { type: 'log', level: 'warn', message: 'dropped a malformed message' },
];

test('every host message survives the JSON trip and parses back to itself', () => {
  assert.deepEqual(new Set(hostMessages.map((m) => m.type)), new Set(HOST_MESSAGE_TYPES), 'every type is covered');
  for (const message of hostMessages) assert.deepEqual(parseHostMessage(trip(message)), message, message.type);
});

test('every webview message survives the JSON trip and parses back to itself', () => {
  assert.deepEqual(new Set(webviewMessages.map((m) => m.type)), new Set(WEBVIEW_MESSAGE_TYPES), 'every type is covered');
  for (const message of webviewMessages) assert.deepEqual(parseWebviewMessage(trip(message)), message, message.type);
});

test('events inside host messages go through the trainer-event parser (NaN survives as null)', () => {
  const step = events.find((e) => e.type === 'step')!;
  const diverged = JSON.parse(encodeEvent({ ...step, loss: Number.NaN }));
  const parsed = parseHostMessage({ type: 'events', runId: 'r', events: [diverged] });
  assert.ok(parsed.type === 'events' && parsed.events[0].type === 'step' && Number.isNaN(parsed.events[0].loss));
  assert.deepEqual(parseHostMessage(trip({ type: 'events', runId: 'r', events })), { type: 'events', runId: 'r', events: events.map((e) => parseTrainerEvent(trip(e))) });
});

test('malformed host messages are rejected with a ValidationError naming the field', () => {
  const snapshot = hostMessages[0] as Extract<HostMessage, { type: 'snapshot' }>;
  const cases: [unknown, RegExp][] = [
    [null, /^message: expected an object/],
    ['ready', /^message: expected an object/],
    [[], /^message: expected an object/],
    [{}, /^message\.type: expected one of snapshot, events/],
    [{ type: 'ready' }, /^message\.type: expected one of/],
    [{ type: 'events', runId: 'r', events: [{ type: 'step', time: 1 }] }, /^events\.events\[0\]: step\.epoch: expected a finite number/],
    [{ type: 'events', runId: 'r', events: {} }, /^events\.events: expected an array/],
    [{ type: 'events', runId: '', events: [] }, /^events\.runId: expected a run id/],
    [{ type: 'mode', mode: 'both' }, /^mode\.mode: expected one of aom, dom/],
    [{ type: 'run-status', runId: 'r', status: 'exploded', reason: null }, /^run-status\.status: expected one of queued/],
    [{ type: 'compare', runIds: [1] }, /^compare\.runIds\[0\]: expected a string/],
    [{ ...snapshot, protocolVersion: 2 }, /^snapshot\.protocolVersion: this page speaks version 1, got 2/],
    [{ ...snapshot, runs: [aRun, aRun] }, /^snapshot\.runs: runId ".*" appears twice/],
    [{ ...snapshot, layout: 'wide' }, /^snapshot\.layout: expected one of full, compact/],
    [{ ...snapshot, settings: { smoothing: 1, lossLogScale: false } }, /^snapshot\.settings\.smoothing: must be at most 0\.99/],
    [{ ...snapshot, runs: [{ ...aRun, label: 3 }] }, /^snapshot\.runs\[0\]\.label: expected a string/],
    [{ type: 'run-added', run: { ...aRun, status: 'done' } }, /^run-added\.run\.status: expected one of/],
  ];
  for (const [value, pattern] of cases) {
    assert.throws(() => parseHostMessage(value), (e: unknown) => e instanceof ValidationError && pattern.test(e.message), JSON.stringify(value)?.slice(0, 80));
  }
});

test('malformed or hostile webview messages are rejected: the webview is untrusted', () => {
  const cases: [unknown, RegExp][] = [
    [undefined, /^message: expected an object/],
    [{ type: 'snapshot' }, /^message\.type: expected one of ready, stop/],
    [{ type: 'sav-file' }, /^message\.type: expected one of .*; got "sav-file" \(did you mean "save-file"\?\)$/],
    [{ type: 'save-file', suggestedName: 'a.csv', content: '' }, /^save-file\.kind: expected one of csv, png; got undefined$/],
    [{ type: 'ready' }, /^ready\.protocolVersion: expected a finite number/],
    [{ type: 'stop' }, /^stop\.runId: expected a string/],
    [{ type: 'stop', runId: 'x'.repeat(WEBVIEW_LIMITS.runIdLength + 1) }, /^stop\.runId: longer than 512/],
    [{ type: 'switch-mode', mode: 'AOM', runId: null }, /^switch-mode\.mode: expected one of aom, dom/],
    [{ type: 'export-weights', runId: 'r' }, /^export-weights\.mode: expected one of/],
    [{ type: 'save-file', kind: 'exe', suggestedName: 'a.exe', content: '' }, /^save-file\.kind: expected one of csv, png/],
    [{ type: 'save-file', kind: 'csv', suggestedName: '../../.bashrc.csv', content: '' }, /^save-file\.suggestedName: expected a plain file name ending in \.csv/],
    [{ type: 'save-file', kind: 'csv', suggestedName: '/etc/x.csv', content: '' }, /suggestedName/],
    [{ type: 'save-file', kind: 'csv', suggestedName: '.hidden.csv', content: '' }, /suggestedName/],
    [{ type: 'save-file', kind: 'csv', suggestedName: 'a.png', content: '' }, /suggestedName/],
    [{ type: 'save-file', kind: 'png', suggestedName: 'a.png', content: 'data:text/html;base64,PGgxPg==' }, /^save-file\.content: expected a data:image\/png;base64, URL/],
    [{ type: 'save-file', kind: 'png', suggestedName: 'a.png', content: 'data:image/png;base64,<script>' }, /^save-file\.content/],
    [{ type: 'save-file', kind: 'csv', suggestedName: 'a.csv', content: 7 }, /^save-file\.content: expected a string/],
    [{ type: 'set-compare', runIds: Array.from({ length: 65 }, (_, i) => `r${i}`) }, /^set-compare\.runIds: at most 64 runs/],
    [{ type: 'log', level: 'debug', message: 'x' }, /^log\.level: expected one of info, warn, error/],
    [{ type: 'log', level: 'info', message: 'x'.repeat(WEBVIEW_LIMITS.logMessageLength + 1) }, /^log\.message: longer than/],
  ];
  for (const [value, pattern] of cases) {
    assert.throws(() => parseWebviewMessage(value), (e: unknown) => e instanceof ValidationError && pattern.test(e.message), JSON.stringify(value)?.slice(0, 80));
  }
});

test('set-compare drops repeated run ids; the PNG payload decodes to PNG bytes', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'set-compare', runIds: ['a', 'b', 'a'] }), { type: 'set-compare', runIds: ['a', 'b'] });
  const bytes = Buffer.from(pngDataUrlToBase64(png), 'base64');
  assert.deepEqual([...bytes.subarray(1, 4)], [...Buffer.from('PNG')]);
  assert.throws(() => pngDataUrlToBase64('data:image/gif;base64,R0lG'), ValidationError);
});

test('renderPanelHtml: strict CSP with the nonce, escaped URIs, one script and one stylesheet', () => {
  const nonce = createNonce();
  const html = renderPanelHtml({
    scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.js?a=1&b="2"',
    styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/media/panel.css',
    cspSource: 'https://*.vscode-cdn.net',
    nonce,
    title: 'WAS <Lab>',
    layout: 'compact',
  });
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1].replace(/&#39;/g, "'");
  assert.equal(csp, panelCsp('https://*.vscode-cdn.net', nonce));
  assert.equal(
    csp,
    `default-src 'none'; script-src 'nonce-${nonce}'; style-src https://*.vscode-cdn.net 'nonce-${nonce}'; img-src https://*.vscode-cdn.net; font-src https://*.vscode-cdn.net; base-uri 'none'; form-action 'none'`,
  );
  assert.ok(!csp.includes('unsafe'), 'no unsafe-inline, no unsafe-eval');
  assert.match(html, new RegExp(`<script nonce="${nonce}" src="https://file\\+\\.vscode-resource\\.vscode-cdn\\.net/ext/dist/webview\\.js\\?a=1&amp;b=&quot;2&quot;"></script>`));
  assert.equal(html.match(/<script/g)!.length, 1);
  assert.ok(!/<style/.test(html) && !/ style=/.test(html), 'no inline styles');
  assert.match(html, /<title>WAS &lt;Lab&gt;<\/title>/);
  assert.match(html, /<body data-layout="compact">/);
});

test('renderPanelHtml refuses a missing nonce or a cspSource that would widen the policy', () => {
  const base = { scriptUri: 's', styleUri: 'c', cspSource: 'https://x', nonce: createNonce() };
  assert.throws(() => renderPanelHtml({ ...base, nonce: '' }), /nonce/);
  assert.throws(() => renderPanelHtml({ ...base, nonce: "abc'; script-src *" }), /nonce/);
  assert.throws(() => renderPanelHtml({ ...base, cspSource: "https://x; script-src 'unsafe-inline'" }), /cspSource/);
  assert.throws(() => renderPanelHtml({ ...base, cspSource: 'https://x *' }), /cspSource/);
  assert.throws(() => renderPanelHtml({ ...base, cspSource: '' }), /cspSource/);
  assert.throws(() => renderPanelHtml({ ...base, cspSource: "'self' 'unsafe-eval'" }), /cspSource/);
  assert.throws(() => renderPanelHtml({ ...base, cspSource: "'self' 'nonce-abc'" }), /cspSource/);
  // VS Code's real values are lists: local, and remote/browser with the extension origin first.
  for (const cspSource of ["'self' https://*.vscode-cdn.net", "https://file+.vscode-resource.vscode-cdn.net/ 'self' https://*.vscode-cdn.net"])
    assert.match(panelCsp(cspSource, base.nonce), new RegExp(`style-src ${cspSource.replace(/[.*+?]/g, '\\$&')} 'nonce-`));
});

test('createNonce: 32 URL-safe characters, different every time', () => {
  const nonces = new Set(Array.from({ length: 1000 }, () => createNonce()));
  assert.equal(nonces.size, 1000);
  for (const n of nonces) assert.match(n, /^[A-Za-z0-9_-]{32}$/);
});
