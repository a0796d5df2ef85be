// The progress fold shared by the terminal, the status bar and tree, and the panel: steps done,
// the epoch under way, ETA at the latest session's pace, throughput and run time, against
// hand-computed values.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../src/shared/config';
import type { EpochEvent, RunEndEvent, RunStartEvent, StepEvent, TrainerEvent } from '../../src/shared/protocol';
import { NO_PROGRESS, advanceProgress, etaSeconds, foldProgress, progressOf, runSeconds, samplesPerSecond } from '../../src/shared/progress';

// 2 epochs of 10 steps: 20 steps planned.
function start(time: number, extra: Partial<RunStartEvent> = {}): RunStartEvent {
  return {
    type: 'run-start', time, runId: 'r', runDir: '/runs/r', config: DEFAULTS, seed: 1,
    backend: { name: 'wasm', reason: 'auto', skipped: [] }, versions: {},
    model: { name: 'lenet', parameters: 61706, shadowLayers: ['conv2'] },
    dataset: { name: 'mnist', source: 'bundled', train: 55000, validation: 5000, test: 10000, classes: 10 },
    stepsPerEpoch: 10, epochs: 2, ...extra,
  };
}
const step = (time: number, n: number, samplesPerSec = 100): StepEvent => ({
  type: 'step', time, epoch: Math.ceil(n / 10), step: n, stepInEpoch: ((n - 1) % 10) + 1, stepsPerEpoch: 10, loss: 1, accuracy: 0.5, lr: 0.1, samplesPerSec,
});
const epoch = (time: number, e: number, samplesPerSec = 80): EpochEvent => ({
  type: 'epoch', time, epoch: e, trainLoss: 1, trainAccuracy: 0.5, aomAccuracy: 0.6, domAccuracy: 0.55, selectionSplit: 'validation',
  lr: 0.1, samplesPerSec, durationSec: 5, alphas: {}, best: true, numTensors: 1,
});
const end = (time: number, status: RunEndEvent['status'], samplesPerSec: number): RunEndEvent => ({
  type: 'run-end', time, status, reason: null, epochsCompleted: 2, bestEpoch: 2, bestAomAccuracy: 0.6, test: null, durationSec: 42, samplesPerSec,
});

test('steps done, fraction and the epoch under way', () => {
  assert.equal(progressOf(NO_PROGRESS, true), null, 'nothing before run-start');
  const fresh = foldProgress([start(0)]);
  assert.deepEqual(progressOf(fresh, true), { epoch: 1, epochs: 2, step: 0, totalSteps: 20, fraction: 0 });
  const mid = foldProgress([start(0), step(1000, 4)]);
  assert.deepEqual(progressOf(mid, true), { epoch: 1, epochs: 2, step: 4, totalSteps: 20, fraction: 0.2 });
  // Epoch 1 ended and no step of epoch 2 yet: 10 steps done; a live run is in epoch 2, a stopped one still shows 1.
  const between = foldProgress([start(0), step(1000, 10), epoch(1500, 1)]);
  assert.deepEqual(progressOf(between, true), { epoch: 2, epochs: 2, step: 10, totalSteps: 20, fraction: 0.5 });
  assert.equal(progressOf(between, false)?.epoch, 1);
  // A completed run counts every step, even when the last step event was logged earlier.
  const done = foldProgress([start(0), step(1000, 15), end(2000, 'completed', 90)]);
  assert.deepEqual(progressOf(done, false), { epoch: 2, epochs: 2, step: 20, totalSteps: 20, fraction: 1 });
  const stopped = foldProgress([start(0), step(1000, 15), end(2000, 'stopped', 90)]);
  assert.equal(progressOf(stopped, false)?.step, 15);
});

test('ETA: this session\'s time per step times the steps left; null without a pace, 0 when every step is done', () => {
  const s = foldProgress([start(1000), step(5000, 8)]);
  // 8 steps in 4 s: 0.5 s a step, 12 left at t = 5 s; at t = 9 s the pace is 1 s a step.
  assert.equal(etaSeconds(progressOf(s, true)!, s.session, 5000), 6);
  assert.equal(etaSeconds(progressOf(s, true)!, s.session, 9000), 12);
  assert.equal(etaSeconds(progressOf(s, true)!, s.session, 1000), null, 'no time passed');
  const none = foldProgress([start(1000)]);
  assert.equal(etaSeconds(progressOf(none, true)!, none.session, 5000), null, 'no step yet');
  const all = foldProgress([start(0), step(4000, 20)]);
  assert.equal(etaSeconds(progressOf(all, true)!, all.session, 4000), 0);
  assert.equal(etaSeconds({ epoch: 1, epochs: 1, step: 1, totalSteps: 2, fraction: 0.5 }, null, 1000), null);
});

test('a resumed session paces itself from its checkpoint, and what it superseded is left out', () => {
  // Session 1: 15 steps, killed. Session 2 resumes after epoch 1 (step 10) at t = 100 s; 2 steps by t = 104 s.
  const events: TrainerEvent[] = [start(0), step(1000, 10), epoch(1500, 1), step(3000, 15), start(100_000, { resumedFrom: { epoch: 1, step: 10 } })];
  const resumed = foldProgress(events);
  assert.deepEqual(resumed.session, { time: 100_000, step: 10 });
  assert.equal(progressOf(resumed, true)?.step, 10, 'step 15 of the first session was superseded');
  assert.equal(etaSeconds(progressOf(resumed, true)!, resumed.session, 102_000), null, 'no step in this session yet');
  const later = foldProgress([...events, step(104_000, 12)]);
  assert.equal(progressOf(later, true)?.fraction, 0.6);
  assert.equal(etaSeconds(progressOf(later, true)!, later.session, 104_000), 16, '2 s a step, 8 left');
});

test('baseline envelopes are the plain model\'s progress, not the run\'s; every other event moves the clock', () => {
  let s = advanceProgress(NO_PROGRESS, start(0));
  s = advanceProgress(s, step(1000, 3));
  const before = s;
  s = advanceProgress(s, { type: 'baseline', time: 2000, event: step(2000, 9) });
  assert.equal(s, before);
  s = advanceProgress(s, { type: 'log', time: 3000, level: 'info', message: 'x' });
  assert.equal(s.lastTime, 3000);
  assert.equal(s.lastStep?.step, 3);
  s = advanceProgress(s, { type: 'phase', time: 3500, phase: 'evaluating', epoch: 1 });
  assert.equal(s.phase, 'evaluating');
});

test('throughput: the run\'s average once ended, else the latest epoch\'s, else the latest step\'s', () => {
  assert.equal(samplesPerSecond(NO_PROGRESS), null);
  assert.equal(samplesPerSecond(foldProgress([start(0), step(1000, 3, 120)])), 120);
  assert.equal(samplesPerSecond(foldProgress([start(0), step(1000, 10, 120), epoch(1100, 1, 80), step(2000, 13, 130)])), 80);
  assert.equal(samplesPerSecond(foldProgress([start(0), epoch(1100, 1, 80), end(3000, 'completed', 90)])), 90);
  assert.equal(samplesPerSecond(foldProgress([start(0), epoch(1100, 1, 80), end(3000, 'failed', 0)])), 80, 'a failed run has no average');
});

test('run time: the trainer\'s own total once ended, else this session up to its latest event', () => {
  assert.equal(runSeconds(NO_PROGRESS), null);
  assert.equal(runSeconds(foldProgress([start(1000), step(8500, 3)])), 7.5);
  assert.equal(runSeconds(foldProgress([start(1000), step(8500, 3), end(9000, 'completed', 90)])), 42);
});
