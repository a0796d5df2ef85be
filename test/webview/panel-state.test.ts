// The panel's state reducers without a browser: every host message and page action, what the
// host is told after a page action, and what the views are given (active run, runs on display,
// smoothing, loss scale, charts per layout). The state handed in is frozen: a reducer that
// mutates it instead of returning a new one fails here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { duration } from '../../src/shared/format';
import type { HostMessage } from '../../src/shared/panel-protocol';
import { etaSeconds, foldProgress, progressOf } from '../../src/shared/progress';
import type { TrainerEvent } from '../../src/shared/protocol';
import {
  activeRun,
  chartShown,
  displayedRuns,
  initialPanelState,
  lossLogScale,
  pageActionMessage,
  reduceHostMessage,
  reducePageAction,
  smoothing,
  type PageAction,
  type PanelState,
} from '../../webview/panel-state';
import { INITIAL_UI_STATE } from '../../webview/ui-state';
import { fixtureEvents, run, snapshot } from './harness';

const WAS = fixtureEvents('was-shift');
const CROP = fixtureEvents('was-crop');

function frozen(state: PanelState): PanelState {
  Object.freeze(state.compare);
  Object.freeze(state.ui.hiddenSeries);
  Object.freeze(state.ui);
  return Object.freeze(state);
}

function reduceAll(state: PanelState, ...messages: HostMessage[]): PanelState {
  return messages.reduce((s, m) => reduceHostMessage(frozen(s), m), state);
}

const EMPTY = initialPanelState('full', { ...INITIAL_UI_STATE });
const THREE = reduceAll(EMPTY, snapshot([run('a', WAS), run('b', CROP), run('c', WAS, 'running')], { activeRunId: 'b', compare: ['c'], mode: 'dom', smoothing: 0.6 }));

test('a snapshot replaces everything the page knows', () => {
  assert.equal(EMPTY.received, false);
  assert.equal(activeRun(EMPTY), null);
  assert.equal(THREE.received, true);
  assert.deepEqual([...THREE.runs.keys()], ['a', 'b', 'c']);
  assert.equal(THREE.mode, 'dom');
  assert.equal(activeRun(THREE)?.runId, 'b');
  assert.deepEqual(displayedRuns(THREE).map((r) => r.runId), ['b', 'c'], 'the active run first, then the compared ones');
  assert.equal(smoothing(THREE), 0.6, "the host's default until the user picks one");
  assert.equal(EMPTY.runs.size, 0, 'the state handed in is left as it was');
});

test('events grow their run in place and make a new state; unknown runs leave it as it was', () => {
  const partial = reduceAll(EMPTY, snapshot([run('a', WAS.slice(0, 10), 'running')]));
  const model = partial.runs.get('a')!;
  const version = model.version;
  const next = reduceAll(partial, { type: 'events', runId: 'a', events: WAS.slice(10) });
  assert.notEqual(next, partial);
  assert.equal(next.runs.get('a'), model);
  assert.ok(model.version > version, 'the version the views compare went up');
  assert.equal(model.epochs.length, 3);
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    assert.equal(reduceHostMessage(frozen(next), { type: 'events', runId: 'nope', events: [] as TrainerEvent[] }), next);
  } finally {
    console.warn = warn;
  }
});

test('runs come and go: the first added becomes active, a removed one leaves the compare list', () => {
  const added = reduceAll(reduceAll(EMPTY, snapshot([])), { type: 'run-added', run: run('x', WAS) }, { type: 'run-added', run: run('y', CROP) });
  assert.equal(added.activeRunId, 'x');
  assert.deepEqual([...added.runs.keys()], ['x', 'y']);

  const removed = reduceAll(THREE, { type: 'run-removed', runId: 'c' }, { type: 'run-removed', runId: 'b' });
  assert.deepEqual([...removed.runs.keys()], ['a']);
  assert.deepEqual(removed.compare, []);
  assert.equal(removed.activeRunId, null);
  assert.equal(activeRun(removed)?.runId, 'a', 'with no active run the first one is shown');
  assert.equal(THREE.runs.size, 3);
});

test('status, mode, active run and compare list come from the host', () => {
  const next = reduceAll(
    THREE,
    { type: 'run-status', runId: 'c', status: 'failed', reason: 'trainer exited with code 1' },
    { type: 'mode', mode: 'aom' },
    { type: 'active-run', runId: 'a' },
    { type: 'compare', runIds: ['b', 'gone'] },
  );
  assert.equal(next.runs.get('c')?.effectiveStatus(), 'failed');
  assert.equal(next.runs.get('c')?.reason, 'trainer exited with code 1');
  assert.equal(next.mode, 'aom');
  assert.deepEqual(displayedRuns(next).map((r) => r.runId), ['a', 'b'], 'a compared run that does not exist is skipped');
});

test('page actions: smoothing, loss scale and hidden series are the user’s, kept in ui', () => {
  const act = (state: PanelState, action: PageAction) => reducePageAction(frozen(state), action);
  let state = act(THREE, { type: 'set-smoothing', smoothing: 0.9 });
  state = act(state, { type: 'set-loss-log-scale', on: true });
  assert.equal(smoothing(state), 0.9);
  assert.equal(lossLogScale(state), true);
  assert.equal(lossLogScale(THREE), false);

  state = act(state, { type: 'toggle-series', key: 'loss:a:train|raw' });
  assert.deepEqual(state.ui.hiddenSeries, ['loss:a:train'], 'the faint raw line hides with its smoothed one');
  state = act(state, { type: 'toggle-series', key: 'loss:a:train' });
  assert.deepEqual(state.ui.hiddenSeries, []);
  assert.equal(pageActionMessage(THREE, state, { type: 'set-smoothing', smoothing: 0.9 }), null, 'the host is not told');
});

test('picking a run or a compared run changes the state and tells the host', () => {
  const same = reducePageAction(frozen(THREE), { type: 'select-run', runId: 'b' });
  assert.equal(same, THREE, 'the run already shown: nothing changes');
  assert.equal(pageActionMessage(THREE, same, { type: 'select-run', runId: 'b' }), null);
  assert.equal(reducePageAction(THREE, { type: 'select-run', runId: '' }), THREE);

  const select: PageAction = { type: 'select-run', runId: 'a' };
  const picked = reducePageAction(THREE, select);
  assert.equal(activeRun(picked)?.runId, 'a');
  assert.deepEqual(pageActionMessage(THREE, picked, select), { type: 'select-run', runId: 'a' });

  const on: PageAction = { type: 'set-compare', runId: 'a', on: true };
  const compared = reducePageAction(frozen(picked), on);
  assert.deepEqual(compared.compare, ['c', 'a']);
  assert.deepEqual(pageActionMessage(picked, compared, on), { type: 'set-compare', runIds: ['c', 'a'] });
  const off = reducePageAction(frozen(compared), { type: 'set-compare', runId: 'c', on: false });
  assert.deepEqual(off.compare, ['a']);
});

// Issue 15: the compact view is a summary (its numbers are the facts' rows), not a copy of the
// panel's charts: the loss chart only (it was loss and accuracy).
test('the compact layout shows the loss chart only', () => {
  const compact = reduceAll(EMPTY, snapshot([run('a', WAS)], { layout: 'compact' }));
  assert.deepEqual((['loss', 'accuracy', 'lr', 'throughput', 'alpha'] as const).filter((id) => chartShown(compact, id)), ['loss']);
  assert.equal(chartShown(THREE, 'alpha'), true);
});

test('progress, ETA and durations', () => {
  const live = reduceAll(EMPTY, snapshot([run('r', WAS.slice(0, 12), 'running')])).runs.get('r')!;
  const progress = progressOf(foldProgress(WAS.slice(0, 12)), true);
  assert.deepEqual(progress, live.progress(), 'the panel folds progress as the terminal and the status bar do');
  assert.ok(progress && progress.step > 0 && progress.fraction < 1);
  assert.equal(etaSeconds({ ...progress, step: 9, totalSteps: 18 }, { time: 0, step: 0 }, 9000), 9, '9 steps in 9 s, 9 to go');
  const lastStep = WAS.filter((e) => e.type === 'step').at(-1)!;
  const allSteps = reduceAll(EMPTY, snapshot([run('r', WAS.slice(0, WAS.indexOf(lastStep) + 1), 'running')])).runs.get('r')!;
  assert.equal(allSteps.progress()?.step, allSteps.progress()?.totalSteps);
  assert.equal(allSteps.etaSeconds(), null, 'done: no ETA');
  assert.deepEqual([duration(7, '—'), duration(185, '—'), duration(7440, '—'), duration(-1, '—'), duration(null, '—')], ['7s', '3m05s', '2h04m', '—', '—']);
});
