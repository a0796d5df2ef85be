// The panel's pure parts, without a browser: downsampling keeps what a chart must show, the
// incremental EMA equals a full one, a run folds its real event stream (resumed sessions and
// --baseline envelopes included), the compare table flags differences, CSV is safe to open.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunStartEvent, StepEvent, TrainerEvent } from '../../src/shared/protocol';
import { chartSeries } from '../../webview/chart-series';
import { compareRows } from '../../webview/compare';
import { buildCsv } from '../../webview/csv';
import { RunModel } from '../../webview/run-model';
import { Series, downsampleMinMax, type Point } from '../../webview/series';
import { fixtureEvents, run } from './harness';

const WAS = fixtureEvents('was-shift');
const WITH_BASELINE = fixtureEvents('was-shift-baseline');

test('min/max downsampling keeps the ends, every bucket extreme, x order and gaps', () => {
  const points: Point[] = Array.from({ length: 100_000 }, (_, i) => ({ x: i / 1000, y: Math.sin(i / 50) + (i === 31_337 ? 10 : 0) }));
  points[50_000] = { x: 50, y: Number.NaN };
  const out = downsampleMinMax(points, 500, 0, 100);
  assert.ok(out.length <= 2000 && out.length > 500, String(out.length));
  assert.deepEqual(out[0], points[0]);
  assert.deepEqual(out.at(-1), points.at(-1));
  assert.ok(out.some((p) => p.y > 9), 'a one-point spike survives');
  assert.ok(out.some((p) => Number.isNaN(p.y)), 'a gap survives');
  for (let i = 1; i < out.length; i++) assert.ok(out[i].x >= out[i - 1].x, 'in x order');
  const short = points.slice(0, 100);
  const copy = downsampleMinMax(short, 500, 0, 100);
  assert.deepEqual(copy, short);
  assert.notEqual(copy, short, 'always a new array (chart.js patches the arrays it is given)');
});

test('the incremental EMA equals one computed at once, and skips non-finite values', () => {
  const whole = new Series();
  const growing = new Series();
  const ys = [3, 2.5, Number.NaN, 2, 1.8, 1.1, 1.3, 0.9];
  ys.forEach((y, i) => whole.push(i, y));
  ys.forEach((y, i) => {
    growing.push(i, y);
    growing.smoothedPoints(0.8);
  });
  assert.deepEqual(growing.smoothedPoints(0.8), whole.smoothedPoints(0.8));
  const smoothed = whole.smoothedPoints(0.8);
  assert.equal(smoothed[0].y, 3, 'debiased: the first value is itself');
  assert.ok(Number.isNaN(smoothed[2].y));
  assert.equal(whole.smoothedPoints(0), whole.points, 'factor 0 is the raw series');
});

test('a real run folds into series, progress, selection and test numbers', () => {
  const model = RunModel.fromPanelRun(run('r', WAS));
  const steps = WAS.filter((e): e is StepEvent => e.type === 'step');
  assert.equal(model.metric('stepLoss').length, steps.length);
  assert.deepEqual(model.metric('stepLoss').points.at(-1), { x: 3, y: steps.at(-1)!.loss });
  assert.deepEqual(model.progress(), { epoch: 3, epochs: 3, step: 18, totalSteps: 18, fraction: 1 });
  assert.equal(model.effectiveStatus(), 'completed');
  assert.equal(model.etaSeconds(), null, 'no ETA once done');
  assert.equal(model.selectedEpoch()?.epoch, 3);
  assert.ok(model.logs.length >= 2, 'the log lines before run-start are kept');
  assert.equal(model.isPlain(), false);

  const live = RunModel.fromPanelRun(run('r', WAS.slice(0, WAS.indexOf(steps[8]) + 1), 'running'));
  assert.equal(live.progress()?.step, 9);
  assert.ok((live.etaSeconds() ?? 0) > 0);
});

test('a --baseline run carries the plain model as a nested run, drawn as its own series', () => {
  const model = RunModel.fromPanelRun(run('r', WITH_BASELINE));
  assert.ok(model.baseline);
  assert.equal(model.baseline.isPlain(), true);
  assert.equal(model.baseline.epochs.length, 3);
  assert.equal(model.epochs.length, 3, 'the baseline epochs are not the run own');
  const specs = chartSeries([model], 'aom', 0);
  assert.deepEqual(specs.accuracy.map((s) => s.part), ['train', 'AOM val', 'DOM val', 'baseline val']);
  assert.equal(specs.accuracy.at(-1)?.series, model.baseline.metric('aom'));
});

test('a resumed session supersedes the epochs after its checkpoint', () => {
  const start = WAS.find((e): e is RunStartEvent => e.type === 'run-start')!;
  const model = RunModel.fromPanelRun(run('r', WAS, 'completed'));
  assert.equal(model.epochs.length, 3);
  // A second session resumes from epoch 1 and has done one step so far.
  const resumed: TrainerEvent[] = [
    { ...start, time: start.time + 1e6, resumedFrom: { epoch: 1, step: 6 } },
    { type: 'step', time: start.time + 1e6 + 500, epoch: 2, step: 7, stepInEpoch: 1, stepsPerEpoch: 6, loss: 9, accuracy: 0.5, lr: 0.01, samplesPerSec: 100 },
  ];
  model.append(resumed);
  assert.equal(model.epochs.length, 1, 'epochs 2 and 3 of the first session are superseded');
  assert.equal(model.end, null, 'so is its run-end');
  assert.deepEqual(model.metric('stepLoss').points.at(-1), { x: 1 + 1 / 6, y: 9 });
  assert.equal(model.progress()?.step, 7);
});

test('compare rows flag differing settings and the best results', () => {
  const runs = [RunModel.fromPanelRun(run('a', WAS)), RunModel.fromPanelRun(run('b', fixtureEvents('was-crop'))), RunModel.fromPanelRun(run('c', fixtureEvents('baseline')))];
  const rows = compareRows(runs, 'aom');
  const row = (key: string) => rows.find((r) => r.key === key)!;
  assert.equal(row('transform').differs, true);
  assert.deepEqual(row('transform').cells.map((c) => c.diff), [false, true, true]);
  assert.equal(row('seed').differs, false);
  assert.equal(row('test-aom').cells.filter((c) => c.best).length, 1);
  assert.equal(rows.find((r) => r.key === 'baseline'), undefined, 'no baseline anywhere: no row');
  assert.equal(row('test-aom').label, 'Test AOM');
  assert.equal(compareRows(runs, 'dom').find((r) => r.group === 'result' && r.key.startsWith('test-'))!.key, 'test-dom', 'the mode leads');
});

test('CSV: one row per point, quoted, and safe from spreadsheet formulas', () => {
  const model = RunModel.fromPanelRun({ ...run('r', WAS), label: '=HYPERLINK("x"),run' });
  const csv = buildCsv([model], 0.5).trimEnd().split('\n');
  assert.equal(csv[0], 'run,series,epoch,step,value,smoothed');
  assert.ok(csv[1].startsWith(`"'=HYPERLINK(""x""),run",step train loss,`), csv[1]);
});
