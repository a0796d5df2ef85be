// The stochastic DOM on the test split, measured dom.testDraws times with independent seeded draw
// streams: the run-end holds every draw and their mean, the draws do not depend on how many were
// asked for (the first is the one stream the test used before), a plain run reports its AOM, and
// the option is read from its flag with its limits.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseTrainerEvent, type RunEndEvent, type TrainerEvent } from '../../src/shared/protocol';
import { parseArgs, UsageError } from '../../src/trainer/args';
import { selectBackend } from '../../src/trainer/backend/select';
import { summaryTable } from '../../src/trainer/output/format';
import { domTestDrawSeed } from '../../src/trainer/train/finish';
import { runTraining } from '../../src/trainer/train/session';
import { smallRunConfig } from '../support/small-run';

const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-dom-draws-'));
const TINY = { epochs: 1, maxStepsPerEpoch: 2 };

async function runEnd(runName: string, patch: Record<string, unknown>): Promise<{ end: RunEndEvent; runDir: string }> {
  const events: TrainerEvent[] = [];
  const result = await runTraining(smallRunConfig(runsDir, TINY, { runName }, patch), { emit: (e) => events.push(e), stopRequested: () => null });
  const end = events.at(-1);
  assert.equal(end?.type, 'run-end');
  return { end: end as RunEndEvent, runDir: result.runDir };
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

before(async () => {
  await selectBackend('wasm', { searchPaths: [] });
});

test('the DOM test accuracy is the mean of dom.testDraws independent draws, each the same whatever K is', async () => {
  const four = await runEnd('four-draws', { dom: { testDraws: 4 } });
  const test4 = four.end.test;
  assert.ok(test4?.domDraws, 'the run-end holds the draws');
  assert.equal(test4.domDraws.length, 4);
  assert.equal(test4.dom, mean(test4.domDraws));
  // Independent streams: the draws differ (with one shared stream they would all be equal).
  assert.ok(new Set(test4.domDraws).size > 1, `draws ${test4.domDraws}`);
  for (const draw of test4.domDraws) assert.ok(draw >= 0 && draw <= 1);

  // The same run asked for 2 draws: the same weights, the same first two draws (nothing depends on K).
  const two = await runEnd('two-draws', { dom: { testDraws: 2 } });
  assert.equal(two.end.test?.aom, test4.aom);
  assert.deepEqual(two.end.test?.domDraws, test4.domDraws.slice(0, 2));
  assert.equal(two.end.test?.dom, mean(test4.domDraws.slice(0, 2)));

  // summary.json holds the draws too and parses as a run-end; the summary table says what the mean is of.
  const saved = parseTrainerEvent(JSON.parse(fs.readFileSync(path.join(four.runDir, 'summary.json'), 'utf8')));
  assert.deepEqual(saved, four.end);
  const table = summaryTable(four.end, four.runDir);
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  assert.ok(
    table.includes(`${pct(test4.dom)} (mean of 4 draws, ${pct(Math.min(...test4.domDraws))} to ${pct(Math.max(...test4.domDraws))})`),
    table,
  );
});

test('a run without shadow weights reports its AOM as its one DOM draw', async () => {
  const plain = await runEnd('plain', { was: { transform: 'none' }, dom: { testDraws: 3 } });
  const t = plain.end.test;
  assert.ok(t);
  assert.deepEqual(t.domDraws, [t.aom]);
  assert.equal(t.dom, t.aom);
  assert.doesNotMatch(summaryTable(plain.end, plain.runDir), /mean of/);
});

test('draw seeds: the first is the test seed, the others distinct streams', () => {
  assert.equal(domTestDrawSeed(123, 0), 123);
  const seeds = Array.from({ length: 100 }, (_, draw) => domTestDrawSeed(0xdeadbeef, draw));
  assert.equal(new Set(seeds).size, 100);
  for (const seed of seeds) assert.ok(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32);
});

test('--dom-test-draws: an integer from 1 to 100, default 5', () => {
  const parsed = parseArgs(['--dom-test-draws', '7']);
  assert.ok(parsed.kind === 'train');
  assert.equal(parsed.options.config.dom.testDraws, 7);
  const defaults = parseArgs([]);
  assert.ok(defaults.kind === 'train');
  assert.equal(defaults.options.config.dom.testDraws, 5);
  for (const [value, message] of [
    ['0', /--dom-test-draws \(dom\.testDraws\): must be at least 1/],
    ['101', /--dom-test-draws \(dom\.testDraws\): must be at most 100/],
    ['2.5', /--dom-test-draws \(dom\.testDraws\).*integer/],
  ] as const) {
    assert.throws(() => parseArgs(['--dom-test-draws', value]), (e: unknown) => e instanceof UsageError && message.test(e.message), value);
  }
});
