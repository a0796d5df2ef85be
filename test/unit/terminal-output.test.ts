// Terminal output of was-train: a progress bar with ETA on a TTY, plain lines otherwise, raw JSON
// with --json. The TTY is a recording stand-in stream (no real terminal in tests).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../src/shared/config';
import { parseTrainerEvent, type TrainerEvent } from '../../src/shared/protocol';
import { terminalSink } from '../../src/trainer/output/terminal';
import { summaryTable } from '../../src/trainer/output/format';

function recordingStream(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = { isTTY, columns: 120, write: (s: string) => chunks.push(s) > 0 } as unknown as NodeJS.WriteStream;
  return { stream, text: () => chunks.join('') };
}

const t0 = 1_000_000;
const events: TrainerEvent[] = [
  {
    type: 'run-start', time: t0, runId: 'r', runDir: '/tmp/r', config: DEFAULTS, seed: 1,
    backend: { name: 'wasm', reason: 'auto', skipped: [] }, versions: {},
    model: { name: 'lenet', parameters: 61707, shadowLayers: ['conv2'] },
    dataset: { name: 'mnist', source: 's', train: 55000, validation: 5000, test: 10000, classes: 10 },
    stepsPerEpoch: 100, epochs: 2,
  },
  { type: 'step', time: t0 + 10_000, epoch: 1, step: 50, stepInEpoch: 50, stepsPerEpoch: 100, loss: 0.5, accuracy: 0.8, lr: 0.05, samplesPerSec: 320 },
  {
    type: 'epoch', time: t0 + 21_000, epoch: 1, trainLoss: 0.4, trainAccuracy: 0.85, aomAccuracy: 0.97, domAccuracy: 0.96,
    selectionSplit: 'validation', lr: 0.04, samplesPerSec: 320, durationSec: 21, alphas: { conv2: 0.5 }, best: true, numTensors: 20,
  },
  {
    type: 'run-end', time: t0 + 42_000, status: 'completed', reason: null, epochsCompleted: 2, bestEpoch: 2, bestAomAccuracy: 0.98,
    test: { aom: 0.9874, dom: 0.9834, epoch: 2 }, durationSec: 42, samplesPerSec: 320,
  },
];

test('on a TTY: a progress bar with step, loss and ETA, and epoch lines that stay', () => {
  const { stream, text } = recordingStream(true);
  const sink = terminalSink('auto', stream);
  events.forEach(sink);
  const out = text();
  // Step 50 of 200 after 10 s: 30 s to go.
  assert.match(out, /\r\x1b\[2Kepoch 1\/2 \[#{12}\.{12}\] 50\/100 loss 0\.5000 acc 80\.00% 320\/s ETA 30s/);
  assert.match(out, /epoch 1 done in 21s: .*validation AOM 97\.00% DOM 96\.00% \(best\)\n/);
  assert.match(out, /run completed\n$/);
});

test('not a TTY (or --plain): one plain line per event', () => {
  const { stream, text } = recordingStream(false);
  events.forEach(terminalSink('auto', stream));
  const lines = text().trim().split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[1], /^epoch 1 step 50\/100 loss 0\.5000 acc 80\.00% lr 0\.0500 320 samples\/s$/);
  assert.ok(!text().includes('\r'));
});

test('--json: one parseable event per line', () => {
  const { stream, text } = recordingStream(true);
  events.forEach(terminalSink('json', stream));
  const parsed = text().trim().split('\n').map((l) => parseTrainerEvent(JSON.parse(l)));
  assert.deepEqual(parsed, events);
});

test('the summary table has the best epoch, AOM and DOM test accuracy, time and samples/s', () => {
  const table = summaryTable(events[3] as Extract<TrainerEvent, { type: 'run-end' }>, '/tmp/r');
  assert.match(table, /best epoch\s+2/);
  assert.match(table, /test accuracy AOM\s+98\.74%/);
  assert.match(table, /test accuracy DOM\s+98\.34%/);
  assert.match(table, /time\s+42s/);
  assert.match(table, /samples\/s\s+320/);
});
