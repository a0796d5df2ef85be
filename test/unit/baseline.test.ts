// --baseline: the plain model trained after the WAS run with the same seed, data order and
// initial weights, in <run>/baseline; its events in the parent's stream inside envelopes; the
// WAS gain in the run-end and the summary; a stop in the baseline part, and its resume.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig, type TrainConfig } from '../../src/shared/config';
import { currentHistory, parseEventLines, type BaselineEvent, type TrainerEvent } from '../../src/shared/protocol';
import { selectBackend } from '../../src/trainer/backend/select';
import { summaryTable } from '../../src/trainer/output/format';
import { resumeTraining, runTraining, type RunResult, type TracePoint } from '../../src/trainer/train/session';
import { runNumbers } from '../support/run-numbers';

const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-baseline-'));

function config(patch: Record<string, unknown> = {}): TrainConfig {
  return resolveConfig([
    {
      patch: {
        model: 'small-cnn',
        data: { name: 'synthetic', validationSize: 64, augment: 'on', synthetic: { trainCount: 320, testCount: 64, size: 16, channels: 1, classes: 4 } },
        was: { transform: 'shift' },
        epochs: 2,
        batchSize: 32,
        evalBatchSize: 64,
        seed: 21,
        backend: 'wasm',
        logEverySteps: 2,
        runsDir,
        bn: { recalibrationBatches: 2 },
        baseline: true,
      },
      where: 'test',
    },
    { patch, where: 'test case' },
  ]);
}

async function run(start: (io: { emit(e: TrainerEvent): void; stopRequested(): string | null; trace(p: TracePoint): void }) => Promise<RunResult>, stopInBaselineAt = Infinity) {
  const events: TrainerEvent[] = [];
  const trace: TracePoint[] = [];
  let baselineStep = 0;
  const result = await start({
    emit: (e) => {
      events.push(e);
      if (e.type === 'baseline' && e.event.type === 'step') baselineStep = e.event.step;
    },
    stopRequested: () => (baselineStep >= stopInBaselineAt ? 'test stop' : null),
    trace: (p) => trace.push(p),
  });
  return { ...result, events, trace };
}


before(async () => {
  await selectBackend('wasm', { searchPaths: [] });
});

let paired: Awaited<ReturnType<typeof run>>;

test('--baseline trains the plain model on the same batches from the same initial weights, in <run>/baseline', async () => {
  paired = await run((io) => runTraining(config({ runName: 'paired' }), io));
  assert.equal(paired.end.status, 'completed', paired.end.reason ?? '');

  // Same init for every parameter but the alpha, which only the WAS model has.
  const inits = paired.trace.filter((p) => p.kind === 'initialized');
  assert.deepEqual(inits.map((p) => p.part), ['was', 'baseline']);
  const [was, plain] = inits.map((p) => (p.kind === 'initialized' ? p.weights : new Map<string, Float32Array>()));
  assert.deepEqual([...was.keys()].filter((k) => k !== 'conv2.alpha'), [...plain.keys()]);
  assert.ok(was.has('conv2.alpha') && !plain.has('conv2.alpha'));
  for (const [name, values] of plain) assert.deepEqual(values, was.get(name), name);

  // Same batches in the same order (the augmentation draws come from the same stream too).
  const batches = (part: string) => paired.trace.filter((p) => p.kind === 'batch' && p.part === part).map((p) => (p.kind === 'batch' ? [p.epoch, p.step, Array.from(p.indices)] : []));
  assert.equal(batches('was').length, 2 * 8);
  assert.deepEqual(batches('baseline'), batches('was'));

  // The baseline's own run folder, config and checkpoints.
  const dir = path.join(paired.runDir, 'baseline');
  const saved = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.equal(saved.config.was.transform, 'none');
  assert.equal(saved.config.baseline, false);
  assert.equal(saved.seed, 21);
  assert.ok(fs.existsSync(path.join(dir, 'checkpoints', 'last.json')));
  const plainEnd = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  assert.equal(plainEnd.status, 'completed');

  // The comparison: baseline test accuracy and the WAS gain in points, per mode.
  const b = paired.end.baseline!;
  assert.deepEqual(b.test, { accuracy: plainEnd.test.aom, epoch: plainEnd.test.epoch });
  assert.equal(b.runDir, dir);
  assert.equal(b.gain!.aom, 100 * (paired.end.test!.aom - plainEnd.test.aom));
  assert.equal(b.gain!.dom, 100 * (paired.end.test!.dom - plainEnd.test.aom));
  const table = summaryTable(paired.end, paired.runDir);
  assert.match(table, /baseline test accuracy\s+\d+\.\d\d% \(epoch \d\)/);
  assert.match(table, /WAS gain AOM \/ DOM\s+[+-]\d+\.\d\d points \/ [+-]\d+\.\d\d points/);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(paired.runDir, 'summary.json'), 'utf8')).baseline, JSON.parse(JSON.stringify(b)));

  // The parent's stream: its own events, then the baseline's inside envelopes, then its run-end.
  const { events } = parseEventLines(fs.readFileSync(path.join(paired.runDir, 'metrics.jsonl'), 'utf8'));
  const inner = events.filter((e): e is BaselineEvent => e.type === 'baseline').map((e) => e.event);
  const plainEvents = parseEventLines(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')).events;
  assert.deepEqual(inner, plainEvents, 'the envelopes carry exactly the baseline folder\'s events');
  assert.equal(inner.filter((e) => e.type === 'epoch').length, 2);
  const firstEnvelope = events.findIndex((e) => e.type === 'baseline');
  assert.ok(events.slice(0, firstEnvelope).some((e) => e.type === 'epoch'), 'the WAS epochs come first');
  assert.equal(events.at(-1)?.type, 'run-end');
  assert.equal(events.filter((e) => e.type === 'run-end').length, 1);
});

test('a stop applies to the baseline part; resuming finishes it with the same numbers', async () => {
  const stopped = await run((io) => runTraining(config({ runName: 'stopped-in-baseline' }), io), 11);
  assert.equal(stopped.end.status, 'stopped');
  assert.equal(stopped.end.reason, 'baseline: test stop');
  assert.equal(stopped.end.baseline?.status, 'stopped');
  assert.deepEqual(stopped.end.test, paired.end.test, 'the WAS part completed and was tested');

  const resumed = await run((io) => resumeTraining(stopped.runDir, io));
  assert.equal(resumed.end.status, 'completed', resumed.end.reason ?? '');
  const strip = (e: RunResult['end']) => ({ ...e.baseline!, runDir: path.basename(e.baseline!.runDir) });
  assert.deepEqual(strip(resumed.end), strip(paired.end));
  assert.deepEqual(resumed.end.test, paired.end.test);
  // The baseline part resumed from its own epoch-1 checkpoint.
  const baselineStart = resumed.events.find((e) => e.type === 'baseline' && e.event.type === 'run-start');
  assert.ok(baselineStart?.type === 'baseline' && baselineStart.event.type === 'run-start' && baselineStart.event.resumedFrom?.epoch === 1);

  const history = (dir: string) => currentHistory(parseEventLines(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')).events);
  const inner = (events: TrainerEvent[]) => events.filter((e): e is BaselineEvent => e.type === 'baseline').map((e) => e.event);
  assert.deepEqual(runNumbers(inner(history(stopped.runDir))), runNumbers(inner(history(paired.runDir))));
  assert.deepEqual(runNumbers(history(path.join(stopped.runDir, 'baseline'))), runNumbers(history(path.join(paired.runDir, 'baseline'))));
});
