// What the Runs tree and status bar show, as data (src/extension/tree-items.ts, lab-runs.ts,
// run-progress.ts, command-args.ts): disk records merged with this window's trainers, the chosen
// mode's accuracy first, icons and menu context values by status, progress and ETA from events.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filePathOf, modeOf, runIdOf, runIdsOf } from '../../src/extension/lab/command-args';
import { mergeRuns, type LabRun } from '../../src/extension/lab/lab-runs';
import { panelStatus } from '../../src/extension/lab/panel-connection';
import { runProgress } from '../../src/extension/lab/run-progress';
import type { RunRecord } from '../../src/extension/runs/run-store';
import type { Job } from '../../src/extension/runs/supervisor';
import { accuracyText, runTreeItem } from '../../src/extension/lab/tree-items';
import type { DomSearchEvent, EpochEvent, RunStartEvent, StepEvent, TrainerEvent } from '../../src/shared/protocol';
import { domTestAccuracy, testGap } from '../../src/extension/runs/mode-evaluation';
import { DEFAULTS } from '../../src/shared/config';

function record(runId: string, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    runId,
    dir: `/runs/${runId}`,
    status: 'completed',
    reason: null,
    model: 'lenet',
    dataset: 'mnist',
    transform: 'shift',
    preset: 'sound',
    epochs: 3,
    epochsCompleted: 3,
    best: { epoch: 3, aom: 0.981, dom: 0.975, split: 'validation' },
    test: { aom: 0.9871, dom: 0.979, epoch: 3 },
    baseline: null,
    domFlopsTarget: null,
    domSearches: [],
    hasCheckpoint: false,
    createdMs: 0,
    lastWriteMs: 0,
    problems: [],
    ...extra,
  };
}

function start(time: number, extra: Partial<RunStartEvent> = {}): RunStartEvent {
  return {
    type: 'run-start', time, runId: 'live', runDir: '/runs/live', config: DEFAULTS, seed: 1,
    backend: { name: 'wasm', reason: 'auto', skipped: [] }, versions: {},
    model: { name: 'lenet', parameters: 61706, shadowLayers: ['conv2'] },
    dataset: { name: 'mnist', source: 'bundled', train: 55000, validation: 5000, test: 10000, classes: 10 },
    stepsPerEpoch: 100, epochs: 3, ...extra,
  };
}
const step = (time: number, epoch: number, n: number): StepEvent => ({ type: 'step', time, epoch, step: n, stepInEpoch: n - (epoch - 1) * 100, stepsPerEpoch: 100, loss: 0.5, accuracy: 0.9, lr: 0.05, samplesPerSec: 500 });
const epoch = (time: number, e: number, aom: number, dom: number): EpochEvent => ({ type: 'epoch', time, epoch: e, trainLoss: 0.3, trainAccuracy: 0.9, aomAccuracy: aom, domAccuracy: dom, selectionSplit: 'validation', lr: 0.05, samplesPerSec: 500, durationSec: 10, alphas: {}, best: true, numTensors: 10 });

function job(runId: string, state: Job['state'], events: TrainerEvent[] = []): Job {
  return { runId, state, reason: null, events, exit: null, process: null, spec: { runId, runDir: `/runs/${runId}`, runsDir: '/runs', title: runId, model: 'vgg16', dataset: 'cifar10', transform: 'crop', launch: { trainerPath: '', args: [], cwd: '' } } };
}

test('merge: queued runs (no folder yet) first; a live trainer\'s state beats its folder\'s; other folders as on disk', () => {
  const runs = mergeRuns([record('b'), record('a', { status: 'incomplete' })], [job('a', 'running'), job('q', 'queued')]);
  assert.deepEqual(runs.map((r) => [r.runId, r.status]), [['q', 'queued'], ['b', 'completed'], ['a', 'running']]);
  assert.equal(runs[0].record, null);
  assert.equal(runs[0].dir, '/runs/q');
});

test('tree items: the chosen mode leads; test numbers when measured, else the best validation epoch', () => {
  const done: LabRun = { runId: 'done', dir: '/runs/done', status: 'completed', reason: null, record: record('done'), job: null };
  const aom = runTreeItem(done, 'aom');
  assert.equal(aom.label, 'lenet · mnist · shift');
  assert.equal(aom.description, 'AOM 98.71% · DOM 97.90% (test)');
  assert.equal(runTreeItem(done, 'dom').description, 'DOM 97.90% · AOM 98.71% (test)');
  assert.deepEqual(aom.icon, { id: 'pass', color: 'testing.iconPassed' });
  assert.equal(aom.contextValue, 'wasRun.completed');
  assert.match(aom.tooltip, /Folder: `\/runs\/done`/);

  const failed: LabRun = { ...done, status: 'failed', reason: 'the trainer was killed by SIGKILL', record: record('f', { status: 'failed', test: null }) };
  const item = runTreeItem(failed, 'aom');
  assert.equal(item.description, 'failed · AOM 98.10% · DOM 97.50% (val)');
  assert.equal(item.contextValue, 'wasRun.failed');
  assert.equal(item.icon.id, 'error');
  assert.match(item.tooltip, /Status: failed \(the trainer was killed by SIGKILL\)/);

  const plain = runTreeItem({ ...done, record: record('p', { transform: 'none', baseline: null }) }, 'aom');
  assert.equal(plain.label, 'lenet · mnist · plain');
  const paired = runTreeItem({ ...done, record: record('w', { baseline: { runDir: '/runs/w/baseline', status: 'completed', test: { accuracy: 0.985, epoch: 3 }, gain: { aom: 0.21, dom: -0.6 } } }) }, 'aom');
  assert.match(paired.tooltip, /Baseline \(plain model\) test: 98.50%; WAS gain AOM \+0.21 points, DOM -0.60 points/);
});

test('tree items for runs of this window: queued from its spec, running with epoch and live accuracy', () => {
  const queued = runTreeItem({ runId: 'q', dir: '/runs/q', status: 'queued', reason: null, record: null, job: job('q', 'queued') }, 'aom');
  assert.equal(queued.label, 'vgg16 · cifar10 · crop');
  assert.equal(queued.description, 'queued');
  assert.equal(queued.icon.id, 'clock');
  const events = [start(0), step(1000, 1, 50), step(2000, 1, 100), epoch(2500, 1, 0.9, 0.85), step(3000, 2, 150)];
  const running: LabRun = { runId: 'live', dir: '/runs/live', status: 'running', reason: null, record: null, job: job('live', 'running', events) };
  assert.equal(runTreeItem(running, 'dom').description, 'epoch 2/3 · 50% · DOM 85.00% · AOM 90.00% (val)');
  assert.equal(runTreeItem(running, 'aom').icon.id, 'sync~spin');
  assert.equal(accuracyText({ ...running, job: job('live', 'starting', [start(0)]) }, 'aom'), '');
});

test('progress and ETA from events; a resumed session paces itself from its own start', () => {
  const events = [start(0), step(1000, 1, 50), step(2000, 1, 100), epoch(2500, 1, 0.9, 0.85), step(3000, 2, 150)];
  const p = runProgress(events, 3000)!;
  assert.deepEqual([p.epoch, p.epochs, p.stepInEpoch, p.stepsPerEpoch, p.fraction], [2, 3, 50, 100, 0.5]);
  assert.equal(p.etaSec, 3, '150 steps in 3 s, 150 to go');
  assert.equal(p.lastEpoch?.aomAccuracy, 0.9);
  assert.equal(runProgress([], 0), null);
  // Resumed after epoch 1 (step 100) at t = 10 s; 50 more steps by t = 15 s; 150 left.
  const resumed = [...events, start(10_000, { resumedFrom: { epoch: 1, step: 100 } }), step(15_000, 2, 150)];
  const r = runProgress(resumed, 15_000)!;
  assert.equal(r.fraction, 0.5);
  assert.equal(r.etaSec, 15);
});

test('the panel has no "incomplete": a silent folder without summary is failed, a fresh one running elsewhere', () => {
  const now = 1_000_000;
  const silent: LabRun = { runId: 's', dir: '/runs/s', status: 'incomplete', reason: null, record: record('s', { status: 'incomplete', lastWriteMs: now - 600_000 }), job: null };
  assert.equal(panelStatus(silent, now).status, 'failed');
  assert.equal(panelStatus({ ...silent, record: record('s', { status: 'incomplete', lastWriteMs: now - 5_000 }) }, now).status, 'running');
});

test('switching mode on a finished run: what its test set has not seen yet, and how to get it', () => {
  const search = (flopsTarget: number, test: { aom: number; dom: number } | null): DomSearchEvent => ({
    type: 'dom-search', time: 0, checkpoint: 'best', epoch: 3, flopsTarget, algorithm: 'lazy-greedy', split: 'validation',
    flops: { aom: 100, dom: 70, budget: 70, minimum: 40 }, accuracy: { aom: 0.98, dom: 0.97, stochasticDom: 0.96 }, test, layers: [], evaluations: 9, durationSec: 1,
  });
  assert.deepEqual(testGap(record('done'), 'dom'), { kind: 'none' }, 'the stochastic DOM was tested at the end');
  const targeted = record('t', { status: 'stopped', domFlopsTarget: 0.7, hasCheckpoint: true });
  assert.deepEqual(testGap(targeted, 'aom'), { kind: 'none' });
  assert.deepEqual(testGap(targeted, 'dom'), { kind: 'search-dom', flopsTarget: 0.7 }, 'stopped before its DOM search');
  assert.deepEqual(testGap({ ...targeted, domSearches: [search(0.5, { aom: 0.98, dom: 0.9 })] }, 'dom'), { kind: 'search-dom', flopsTarget: 0.7 }, 'another target does not count');
  const searched = { ...targeted, domSearches: [search(0.7, { aom: 0.98, dom: 0.965 })] };
  assert.deepEqual(testGap(searched, 'dom'), { kind: 'none' });
  assert.equal(domTestAccuracy(searched), 0.965);
  assert.match(runTreeItem({ runId: 't', dir: '/runs/t', status: 'stopped', reason: null, record: searched, job: null }, 'dom').tooltip, /Deterministic DOM \(at most 70% of the AOM FLOPs\) test: 96.50%/);
  const early = record('e', { status: 'failed', test: null, hasCheckpoint: true });
  assert.equal(testGap(early, 'aom').kind, 'resume');
  assert.deepEqual(testGap({ ...early, hasCheckpoint: false }, 'aom'), { kind: 'none' }, 'nothing to resume from');
});

test('command arguments: run ids from strings and tree elements, modes, file Uris; nothing trusted by shape', () => {
  assert.equal(runIdOf('r1'), 'r1');
  assert.equal(runIdOf({ runId: 'r2', status: 'x' }), 'r2');
  assert.equal(runIdOf({ runId: 3 }), undefined);
  assert.equal(runIdOf('dom'), undefined, 'a mode is not a run');
  assert.equal(runIdOf(undefined), undefined);
  assert.deepEqual(runIdsOf({ runId: 'a' }, [{ runId: 'a' }, { runId: 'b' }, 'c', 7]), ['a', 'b', 'c']);
  assert.deepEqual(runIdsOf({ runId: 'a' }, undefined), ['a']);
  assert.equal(modeOf('dom'), 'dom');
  assert.equal(modeOf('DOM'), undefined);
  assert.equal(filePathOf({ scheme: 'file', fsPath: '/ws/a.was.json' }), '/ws/a.was.json');
  assert.equal(filePathOf({ scheme: 'untitled', fsPath: 'Untitled-1' }), undefined);
});
