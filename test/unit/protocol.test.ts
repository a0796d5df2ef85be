// The event stream crosses process and file boundaries: every event parses back to itself,
// malformed input is rejected naming the field, and a torn last line of metrics.jsonl is skipped.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../src/shared/config';
import {
  encodeEvent,
  parseEventLines,
  parseTrainerCommand,
  parseTrainerEvent,
  type TrainerEvent,
} from '../../src/shared/protocol';
import { ValidationError } from '../../src/shared/validate';

const samples: TrainerEvent[] = [
  {
    type: 'run-start',
    time: 1,
    runId: 'r1',
    runDir: '/tmp/r1',
    config: DEFAULTS,
    seed: 5,
    backend: { name: 'wasm', reason: 'auto', skipped: [{ name: 'tensorflow-gpu', reason: 'not found' }] },
    versions: { tfjs: '4.22.0' },
    model: { name: 'lenet', parameters: 61707, shadowLayers: ['conv2'] },
    dataset: { name: 'mnist', source: 'x', train: 55000, validation: 5000, test: 10000, classes: 10 },
    stepsPerEpoch: 859,
    epochs: 3,
  },
  { type: 'phase', time: 2, phase: 'training', epoch: 1 },
  { type: 'phase', time: 2, phase: 'loading-data', epoch: null },
  { type: 'step', time: 3, epoch: 1, step: 20, stepInEpoch: 20, stepsPerEpoch: 859, loss: 0.5, accuracy: 0.9, lr: 0.05, samplesPerSec: 900 },
  {
    type: 'epoch', time: 4, epoch: 1, trainLoss: 0.3, trainAccuracy: 0.9, aomAccuracy: 0.97, domAccuracy: 0.96, selectionSplit: 'validation',
    lr: 0.04, samplesPerSec: 950, durationSec: 60, alphas: { conv2: 0.4 }, best: true, numTensors: 30,
  },
  { type: 'log', time: 5, level: 'warn', message: 'hello' },
  {
    type: 'run-end', time: 6, status: 'completed', reason: null, epochsCompleted: 3, bestEpoch: 3, bestAomAccuracy: 0.98,
    test: { aom: 0.981, dom: 0.975, epoch: 3 }, durationSec: 200, samplesPerSec: 900,
  },
  { type: 'run-end', time: 6, status: 'failed', reason: 'boom', epochsCompleted: 0, bestEpoch: null, bestAomAccuracy: null, test: null, durationSec: 1, samplesPerSec: 0 },
];

test('every event type survives encode -> parse unchanged', () => {
  for (const event of samples) assert.deepEqual(parseTrainerEvent(JSON.parse(encodeEvent(event))), event);
});

test('NaN and infinite metrics survive the JSON round trip', () => {
  const step: TrainerEvent = { ...(samples[3] as Extract<TrainerEvent, { type: 'step' }>), loss: NaN, lr: Infinity };
  const back = parseTrainerEvent(JSON.parse(encodeEvent(step)));
  assert.ok(back.type === 'step' && Number.isNaN(back.loss) && back.lr === Infinity);
});

test('malformed events are rejected naming the field', () => {
  const cases: [unknown, RegExp][] = [
    [null, /event: expected an object/],
    [{ type: 'step' }, /step.time: expected a finite number/],
    [{ type: 'bogus', time: 1 }, /unknown event type "bogus"/],
    [{ ...samples[3], epoch: -1 }, /step.epoch: must be at least 0/],
    [{ ...samples[3], loss: 'low' }, /step.loss: expected a number/],
    [{ ...samples[4], alphas: { conv2: 'x' } }, /epoch.alphas.conv2/],
    [{ ...samples[5], level: 'debug' }, /log.level: expected one of info, warn, error/],
    [{ ...samples[6], status: 'done' }, /run-end.status: expected one of completed, stopped, failed/],
    [{ ...samples[0], backend: { name: 'gpu', reason: '', skipped: [] } }, /run-start.backend.name/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => parseTrainerEvent(value), (e: unknown) => e instanceof ValidationError && message.test(e.message), message.source);
  }
});

test('commands to the trainer are validated', () => {
  assert.deepEqual(parseTrainerCommand({ type: 'stop' }), { type: 'stop' });
  assert.throws(() => parseTrainerCommand({ type: 'explode' }), /command.type: expected one of stop/);
  assert.throws(() => parseTrainerCommand('stop'), /command: expected an object/);
});

test('metrics.jsonl: a torn last line is skipped and reported; a bad line elsewhere is an error', () => {
  const lines = samples.map(encodeEvent);
  const whole = parseEventLines(lines.join('\n') + '\n');
  assert.equal(whole.events.length, samples.length);
  assert.equal(whole.tornLastLine, false);
  const torn = parseEventLines(lines.slice(0, 3).join('\n') + '\n' + lines[3].slice(0, 25));
  assert.equal(torn.events.length, 3);
  assert.equal(torn.tornLastLine, true);
  assert.throws(() => parseEventLines([lines[0], '{"type": ', lines[1]].join('\n')), /line 2: not JSON/);
  assert.throws(() => parseEventLines([lines[0], '{"type":"nope","time":1}'].join('\n') + '\n'), /line 2: .*unknown event type/);
});
