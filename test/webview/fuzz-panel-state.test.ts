// Past the parser: host messages that parse (parseHostMessage) but carry hostile or odd values
// (a run-start whose config is not a config, NaN losses, epochs out of order, runs repeated and
// removed) are reduced by the page's state (reduceHostMessage) and drawn into what the views
// are given (chart series, the compare table, the CSV) without an exception. The parsers'
// own fuzz tests are test/unit/fuzz-*.test.ts; seed and case counts: test/support/fuzz.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_PANEL_SETTINGS, PANEL_PROTOCOL_VERSION, parseHostMessage, type HostMessage } from '../../src/shared/panel-protocol';
import { chartSeries } from '../../webview/chart-series';
import { compareRows } from '../../webview/compare';
import { buildCsv } from '../../webview/csv';
import { activeRun, displayedRuns, initialPanelState, reduceHostMessage, smoothing } from '../../webview/panel-state';
import { INITIAL_UI_STATE } from '../../webview/ui-state';
import { VALID_EVENTS, fuzzOptions, mutated } from '../support/fuzz';

const run = (runId: string) => ({ runId, label: runId, status: 'running', reason: null, events: VALID_EVENTS });
const MESSAGES: readonly unknown[] = [
  { type: 'snapshot', protocolVersion: PANEL_PROTOCOL_VERSION, layout: 'full', runs: [run('a'), run('b')], activeRunId: 'a', compare: ['b'], mode: 'aom', settings: DEFAULT_PANEL_SETTINGS },
  { type: 'events', runId: 'a', events: VALID_EVENTS },
  { type: 'events', runId: 'b', events: VALID_EVENTS.slice(2, 9) },
  { type: 'run-added', run: run('c') },
  { type: 'run-removed', runId: 'b' },
  { type: 'run-status', runId: 'a', status: 'failed', reason: 'x' },
  { type: 'mode', mode: 'dom' },
  { type: 'active-run', runId: 'c' },
  { type: 'compare', runIds: ['a', 'c', 'zz'] },
];

/** Mutated messages, kept only when they parse: what a page can be handed. */
const parsedMessage: fc.Arbitrary<HostMessage> = fc.oneof(fc.constantFrom(...MESSAGES), mutated(MESSAGES)).map((value) => {
  try {
    return parseHostMessage(value);
  } catch {
    return parseHostMessage(MESSAGES[1]);
  }
});

test('fuzz: the page reduces and draws any sequence of host messages that parse', () => {
  fc.assert(
    fc.property(fc.array(parsedMessage, { minLength: 1, maxLength: 6 }), (messages) => {
      let state = initialPanelState('full', { ...INITIAL_UI_STATE });
      for (const message of messages) state = reduceHostMessage(state, message);
      const runs = displayedRuns(state);
      chartSeries(runs, state.mode, smoothing(state));
      compareRows(runs, state.mode);
      buildCsv(runs, smoothing(state));
      const active = activeRun(state);
      assert.ok(active === null || state.runs.has(active.runId));
    }),
    fuzzOptions(1500),
  );
});

test('a run-start whose config is damaged reads with defaults in its place, and the compare table draws', () => {
  const start = structuredClone(VALID_EVENTS[0]) as { config: Record<string, unknown> };
  start.config = { model: 'small-cnn', data: 'gone', was: { transform: 7 }, epochs: -1 };
  const message = parseHostMessage({ type: 'run-added', run: { ...run('x'), events: [start] } });
  let state = reduceHostMessage(initialPanelState('full', { ...INITIAL_UI_STATE }), message);
  state = reduceHostMessage(state, parseHostMessage({ type: 'active-run', runId: 'x' }));
  const rows = compareRows(displayedRuns(state), state.mode);
  const cell = (key: string) => rows.find((r) => r.key === key)?.cells[0].text;
  assert.deepEqual([cell('model'), cell('dataset'), cell('transform'), cell('epochs')], ['small-cnn', 'mnist', 'shift', '3']);
});
