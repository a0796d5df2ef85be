// The event stream crosses process and file boundaries: every event parses back to itself,
// malformed input is rejected naming the field, and a torn last line of metrics.jsonl is skipped.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toJsonSchema } from '@valibot/to-json-schema';
import { DEFAULTS } from '../../src/shared/config';
import {
  currentHistory,
  encodeEvent,
  parseEventLines,
  parseTrainerCommand,
  parseTrainerEvent,
  TrainerEventSchema,
  type DomSearchEvent,
  type EpochEvent,
  type RunEndEvent,
  type RunStartEvent,
  type StepEvent,
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

/** The events resume and --baseline add: a resumed run-start, a run-end with its baseline, an envelope. */
const resumeAndBaseline: TrainerEvent[] = [
  { ...(samples[0] as RunStartEvent), resumedFrom: { epoch: 2, step: 1718 } },
  {
    type: 'run-end', time: 7, status: 'completed', reason: null, epochsCompleted: 3, bestEpoch: 3, bestAomAccuracy: 0.98,
    test: { aom: 0.981, dom: 0.975, epoch: 3 }, durationSec: 400, samplesPerSec: 900,
    baseline: { runDir: '/tmp/r1/baseline', status: 'completed', test: { accuracy: 0.978, epoch: 2 }, gain: { aom: 0.3, dom: -0.3 } },
  },
  { type: 'baseline', time: 8, event: samples[4] },
  { type: 'baseline', time: 8, event: { ...(samples[0] as RunStartEvent), resumedFrom: { epoch: 1, step: 859 } } },
];

test('every event type survives encode -> parse unchanged', () => {
  for (const event of [...samples, ...resumeAndBaseline]) assert.deepEqual(parseTrainerEvent(JSON.parse(encodeEvent(event))), event);
});

test('resume and baseline fields are checked; an envelope holds one plain event', () => {
  const cases: [unknown, RegExp][] = [
    [{ ...samples[0], resumedFrom: { epoch: -1, step: 0 } }, /run-start.resumedFrom.epoch: must be at least 0/],
    [{ ...resumeAndBaseline[1], baseline: { runDir: 'b', status: 'done', test: null, gain: null } }, /run-end.baseline.status: expected one of/],
    [{ ...resumeAndBaseline[1], baseline: { runDir: 'b', status: 'completed', test: { epoch: 1 }, gain: null } }, /run-end.baseline.test.accuracy/],
    [{ type: 'baseline', time: 1, event: { type: 'step' } }, /step.time: expected a finite number/],
    [{ type: 'baseline', time: 1, event: resumeAndBaseline[2] }, /baseline.event: a baseline envelope inside another/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => parseTrainerEvent(value), (e: unknown) => e instanceof ValidationError && message.test(e.message), message.source);
  }
});

test('currentHistory drops what a resumed session redid, in the run and in its baseline', () => {
  const start = samples[0] as RunStartEvent;
  const step = (epoch: number, n: number): TrainerEvent => ({ ...(samples[3] as StepEvent), epoch, step: n });
  const epoch = (n: number): TrainerEvent => ({ ...(samples[4] as EpochEvent), epoch: n });
  const end = samples[7];
  const killedLate = [start, step(1, 1), epoch(1), step(2, 2), epoch(2), step(3, 3)];
  const stop: TrainerEvent = { type: 'log', time: 9, level: 'info', message: 'stop requested' };
  const resumed: TrainerEvent = { ...start, resumedFrom: { epoch: 1, step: 1 } };
  const events = [...killedLate, stop, end, resumed, step(2, 2), epoch(2), step(3, 3), epoch(3), samples[6]];
  assert.deepEqual(currentHistory(events), [start, step(1, 1), epoch(1), stop, resumed, step(2, 2), epoch(2), step(3, 3), epoch(3), samples[6]]);

  // Baseline envelopes resolve among themselves; a fresh baseline run-start drops the earlier attempt.
  const wrap = (event: TrainerEvent): TrainerEvent => ({ type: 'baseline', time: 1, event });
  const withBaseline = [start, epoch(1), wrap(start), wrap(step(1, 1)), wrap(start), wrap(epoch(1)), wrap(resumed), wrap(step(2, 2))];
  assert.deepEqual(currentHistory(withBaseline), [start, epoch(1), withBaseline[4], withBaseline[5], withBaseline[6], withBaseline[7]]);
});

/** FLOPs and the deterministic DOM: a dom-search event, run-end with flops, run-start with AOM FLOPs. */
const domLayers = [
  { layer: 'conv2', dy: 1, dx: 0, kernel: [2, 3] as [number, number], flops: { aom: 3_612_672, dom: 2_408_448 } },
  { layer: 'conv3', dy: 0, dx: 0, kernel: [3, 3] as [number, number], flops: { aom: 100, dom: 100 } },
];
const flopsEvents: TrainerEvent[] = [
  {
    type: 'dom-search', time: 9, checkpoint: 'best', epoch: 3, flopsTarget: 0.7, algorithm: 'lazy-greedy', split: 'validation',
    flops: { aom: 3_869_824, dom: 2_665_600, budget: 2_708_876, minimum: 1_862_784 },
    accuracy: { aom: 0.99, dom: 0.985, stochasticDom: 0.98 }, test: { aom: 0.991, dom: 0.987 },
    layers: domLayers, evaluations: 9, durationSec: 12.5,
  },
  { type: 'dom-search', time: 9, checkpoint: 'last', epoch: 1, flopsTarget: 1, algorithm: 'greedy', split: 'test',
    flops: { aom: 10, dom: 10, budget: 10, minimum: 5 }, accuracy: { aom: 0.5, dom: 0.5, stochasticDom: null }, test: null, layers: [], evaluations: 1, durationSec: 0.1 },
  { ...(samples[6] as RunEndEvent), flops: { aom: 3_869_824, dom: { target: 0.7, flops: 2_665_600, accuracy: 0.985, test: 0.987, layers: domLayers } } },
  { ...(samples[6] as RunEndEvent), flops: { aom: 3_869_824, dom: null } },
  { ...(samples[0] as RunStartEvent), model: { name: 'lenet', parameters: 61707, shadowLayers: ['conv2'], flops: 416_520 } },
  { type: 'phase', time: 2, phase: 'searching-dom', epoch: 3 },
];

test('FLOPs and DOM-search events survive encode -> parse unchanged; bad ones are rejected naming the field', () => {
  for (const event of flopsEvents) assert.deepEqual(parseTrainerEvent(JSON.parse(encodeEvent(event))), event);
  const search = flopsEvents[0] as DomSearchEvent;
  const cases: [unknown, RegExp][] = [
    [{ ...search, algorithm: 'annealing' }, /dom-search.algorithm: expected one of lazy-greedy, greedy/],
    [{ ...search, checkpoint: 'first' }, /dom-search.checkpoint: expected one of best, last/],
    [{ ...search, flopsTarget: 1.5 }, /dom-search.flopsTarget: must be at most 1/],
    [{ ...search, flops: { ...search.flops, dom: -1 } }, /dom-search.flops.dom: must be at least 0/],
    [{ ...search, accuracy: { aom: 0.9, dom: 'x', stochasticDom: null } }, /dom-search.accuracy.dom: expected a number/],
    [{ ...search, layers: [{ ...domLayers[0], kernel: [2] }] }, /dom-search.layers\[0\].kernel: expected \[height, width\]/],
    [{ ...search, layers: [{ ...domLayers[0], dy: 0.5 }] }, /dom-search.layers\[0\].dy/],
    [{ ...flopsEvents[2], flops: { aom: 1, dom: { target: 2, flops: 1, accuracy: 0.5, test: null, layers: [] } } }, /run-end.flops.dom.target: must be at most 1/],
    [{ ...flopsEvents[2], flops: { dom: null } }, /run-end.flops.aom/],
    [{ ...flopsEvents[4], model: { name: 'lenet', parameters: 1, shadowLayers: [], flops: 'many' } }, /run-start.model.flops/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => parseTrainerEvent(value), (e: unknown) => e instanceof ValidationError && message.test(e.message), message.source);
  }
});

const wasKernels: TrainerEvent = {
  type: 'was-kernels',
  time: 5,
  epoch: 2,
  family: 'mixed',
  layers: [
    {
      layer: 'conv2',
      k: 2,
      alpha: 0.9,
      channels: [
        {
          in: 0,
          out: 3,
          plain: [0.1, -0.2, 0.3, 0.4],
          shadows: [
            { transform: { kind: 'shift', dy: 1, dx: 0 }, kernel: [0, 0, 0.1, -0.2] },
            { transform: { kind: 'crop', top: 0, left: 0, height: 1, width: 2 }, kernel: [0.1, -0.2, 0.1, -0.2] },
          ],
        },
      ],
    },
  ],
};
const testConfusion: TrainerEvent = { type: 'test-confusion', time: 6, epoch: 2, classes: 2, aom: [[3, 1], [0, 4]], dom: null };

test('was-kernels, test-confusion, the epoch losses and the search path survive encode -> parse; bad ones are rejected naming the field', () => {
  const epoch = { ...(samples.find((e) => e.type === 'epoch') as EpochEvent), aomLoss: 0.5, domLoss: 0.7 };
  const search = { ...(flopsEvents[0] as DomSearchEvent), path: [{ layer: 'conv2', dy: 1, dx: 0, flops: 10, accuracy: 0.5 }] };
  for (const event of [wasKernels, testConfusion, epoch, search]) assert.deepEqual(parseTrainerEvent(JSON.parse(encodeEvent(event))), event);
  const layer = (wasKernels as { layers: object[] }).layers[0];
  const cases: [unknown, RegExp][] = [
    [{ ...wasKernels, layers: [{ ...layer, k: 3 }] }, /was-kernels.layers\[0\]: a kernel plane of layer conv2 does not hold k\*k = 9 numbers/],
    [{ ...wasKernels, family: 'rotate' }, /was-kernels.family: expected one of shift, crop, mixed/],
    [{ ...testConfusion, aom: [[1, 2]] }, /test-confusion.aom is not 2 x 2 \(classes\)/],
    [{ ...testConfusion, aom: [[1, -2], [0, 1]] }, /test-confusion.aom\[0\]\[1\]: must be at least 0/],
    [{ ...epoch, aomLoss: 'low' }, /epoch.aomLoss: expected a number/],
    [{ ...search, path: [{ layer: 'conv2', dy: 1, dx: 0, flops: -1, accuracy: 0.5 }] }, /dom-search.path\[0\].flops: must be at least 0/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => parseTrainerEvent(value), (e: unknown) => e instanceof ValidationError && message.test(e.message), message.source);
  }
  // A resumed session redoes the kernel reports after its checkpoint and the test phase.
  const start = samples[0] as RunStartEvent;
  const kernelsAt = (epoch: number): TrainerEvent => ({ ...wasKernels, epoch } as TrainerEvent);
  const resumed: TrainerEvent = { ...start, resumedFrom: { epoch: 1, step: 1 } };
  const history = [start, kernelsAt(1), kernelsAt(2), testConfusion, resumed, kernelsAt(2)];
  assert.deepEqual(currentHistory(history), [start, history[1], resumed, history[5]]);
  // Old runs lack the new fields: still read.
  const { aomLoss: _a, domLoss: _d, ...old } = epoch;
  assert.equal((parseTrainerEvent(old) as EpochEvent).aomLoss, undefined);
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
    // An unknown type lists the types, with the nearest; a missing field names its own rule; an array is no object.
    [{ type: 'stpe', time: 1 }, /^event\.type: unknown event type "stpe"; expected one of run-start, phase, step, .*baseline \(did you mean "step"\?\)$/],
    [{ ...samples[0], backend: { name: 'wasm', reason: '', skipped: [{ name: 'cpu' }] } }, /^run-start\.backend\.skipped\[0\]\.reason: expected a string, got undefined$/],
    [{ ...samples[4], alphas: [] }, /^epoch\.alphas: expected an object, got an array$/],
    [[], /^event: expected an object, got an array$/],
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

test('the one declaration also gives a JSON schema of metrics.jsonl lines: every event type, its required fields, metrics that may be null', () => {
  const schema = toJsonSchema(TrainerEventSchema, { errorMode: 'ignore' });
  const members = (schema.oneOf ?? []).filter((m) => typeof m === 'object');
  const typeOf = (m: (typeof members)[number]) => {
    const type = m.properties?.type;
    return typeof type === 'object' ? type.const : undefined;
  };
  assert.deepEqual(members.map(typeOf), ['run-start', 'phase', 'step', 'epoch', 'log', 'run-end', 'dom-search', 'was-kernels', 'test-confusion', 'baseline']);
  const step = members.find((m) => typeOf(m) === 'step')!;
  assert.deepEqual(step.required, ['type', 'time', 'epoch', 'step', 'stepInEpoch', 'stepsPerEpoch', 'loss', 'accuracy', 'lr', 'samplesPerSec']);
  assert.deepEqual(step.properties?.epoch, { type: 'integer', minimum: 0 });
  assert.deepEqual(step.properties?.loss, { anyOf: [{ type: 'number' }, { type: 'null' }, { const: 'Infinity' }, { const: '-Infinity' }] });
});
