// Issue 14, finding 4: what the extension host reads from a trainer is bounded. The line splitter
// hands on lines in linear time and drops one over the cap, saying its length; an IPC message over
// the cap is refused with its size; a run's history is thinned to a few thousand steps per series
// with its extremes kept; metrics.jsonl is read incrementally (only what was appended: a change to
// bytes already read is not seen again, a file that shrank or was replaced is read from its start)
// and in pieces, with what the rest of the extension says of torn and damaged lines. Real files
// in a temporary folder; no timing is asserted (bench/metrics-read.ts measures it).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BoundedEvents, downsampleEvents, HISTORY_STEPS, stepCount } from '../../src/extension/runs/history-sampling';
import { LineSplitter } from '../../src/extension/runs/line-splitter';
import { MetricsCache } from '../../src/extension/runs/metrics-cache';
import { parseIpcEvent } from '../../src/extension/runs/trainer-process';
import { MAX_EVENT_SIZE, type StepEvent, type TrainerEvent } from '../../src/shared/protocol';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'was-bounded-'));

function splitAll(chunks: readonly string[], maxLength?: number): { lines: string[]; oversized: number[] } {
  const lines: string[] = [];
  const oversized: number[] = [];
  const splitter = new LineSplitter({ onLine: (l) => lines.push(l), onOversized: (n) => oversized.push(n), maxLength });
  for (const chunk of chunks) splitter.push(chunk);
  splitter.flush();
  return { lines, oversized };
}

test('line splitter: lines across chunks, \\r\\n, empty lines and a last line without a newline, as split() gives them', () => {
  const text = 'first\r\nsecond\n\nthird line, longer\nlast without newline';
  const expected = text.split(/\r?\n/);
  for (const size of [1, 2, 3, 7, text.length]) {
    const chunks = Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));
    assert.deepEqual(splitAll(chunks), { lines: expected, oversized: [] }, `chunks of ${size}`);
  }
  // Many small chunks: 100 000 lines fed a few characters at a time.
  const many = Array.from({ length: 100_000 }, (_, i) => `{"n":${i}}`).join('\n') + '\n';
  const small = Array.from({ length: Math.ceil(many.length / 5) }, (_, i) => many.slice(i * 5, (i + 1) * 5));
  const { lines } = splitAll(small);
  assert.equal(lines.length, 100_000);
  assert.equal(lines[99_999], '{"n":99999}');
});

test('line splitter: a 50 MB line without a newline is dropped, its length said, and holds no memory; the lines around it are kept', () => {
  const chunk = 'x'.repeat(64 * 1024);
  const lines: string[] = [];
  const oversized: number[] = [];
  const splitter = new LineSplitter({ onLine: (l) => lines.push(l), onOversized: (n) => oversized.push(n) });
  splitter.push('before\n');
  const chunks = (50 * 1024 * 1024) / chunk.length;
  for (let i = 0; i < chunks; i++) splitter.push(chunk);
  assert.equal(splitter.pendingLength, 50 * 1024 * 1024);
  assert.equal(splitter.pending(), null, 'the pieces of a line over the cap are let go');
  splitter.push('\nafter\n');
  assert.deepEqual(lines, ['before', 'after']);
  assert.deepEqual(oversized, [50 * 1024 * 1024]);
  // At the cap it is still a line; one past it is not.
  assert.deepEqual(splitAll(['a'.repeat(MAX_EVENT_SIZE) + '\n']).lines.map((l) => l.length), [MAX_EVENT_SIZE]);
  assert.deepEqual(splitAll(['a'.repeat(MAX_EVENT_SIZE + 1)]).oversized, [MAX_EVENT_SIZE + 1], 'flush reports it too');
});

test('an IPC message over the cap is refused with its size; one under it parses', () => {
  const log = { type: 'log', time: 1, level: 'info', message: 'hello' };
  assert.deepEqual(parseIpcEvent(log), log);
  assert.throws(() => parseIpcEvent({ ...log, message: 'x'.repeat(2 * 1024 * 1024) }), /a message of 2\.0 MiB, over the 1\.0 MiB cap for one event/);
  assert.throws(() => parseIpcEvent({ type: 'explode' }), /event/);
});

function step(n: number, loss: number, accuracy = 0.5, epoch = 1): StepEvent {
  return { type: 'step', time: n, epoch, step: n, stepInEpoch: n, stepsPerEpoch: 1_000_000, loss, accuracy, lr: 0.01, samplesPerSec: 100 };
}

function epochEvent(epoch: number): TrainerEvent {
  return { type: 'epoch', time: epoch, epoch, trainLoss: 1, trainAccuracy: 0.5, aomAccuracy: 0.5, domAccuracy: 0.5, selectionSplit: 'validation', lr: 0.01, samplesPerSec: 100, durationSec: 1, alphas: {}, best: false, numTensors: 1 } as TrainerEvent;
}

function steps(events: readonly TrainerEvent[]): StepEvent[] {
  return events.filter((e): e is StepEvent => e.type === 'step');
}

test('downsampling: at most about the budget per series, every other event kept in order, the extremes and the ends kept', () => {
  const events: TrainerEvent[] = [];
  for (let n = 1; n <= 100_000; n++) {
    const loss = n === 54_321 ? 50 : n === 77_777 ? Number.NaN : 1 + 0.1 * Math.sin(n);
    events.push(step(n, loss, n === 12_345 ? 0 : 0.5));
    if (n % 10_000 === 0) events.push(epochEvent(n / 10_000));
    if (n % 1000 === 0) events.push({ type: 'baseline', time: n, event: step(n, n === 50_000 ? 40 : 2) });
  }
  const thinned = downsampleEvents(events, 1000);
  const kept = steps(thinned);
  assert.ok(kept.length <= 1000 + 2 + 250, `${kept.length} steps kept`);
  assert.ok(kept.length >= 500, 'thinned, not emptied');
  assert.equal(stepCount(thinned), kept.length);
  assert.deepEqual(thinned.filter((e) => e.type === 'epoch'), events.filter((e) => e.type === 'epoch'));
  const baseline = thinned.filter((e) => e.type === 'baseline');
  assert.equal(baseline.length, 100, 'the baseline series (100 steps) is under its own budget');
  assert.ok(kept.some((s) => s.loss === 50), 'the loss spike survives');
  assert.ok(kept.some((s) => Number.isNaN(s.loss)), 'the diverged step survives');
  assert.ok(kept.some((s) => s.accuracy === 0), 'the accuracy dip survives');
  assert.equal(kept[0].step, 1);
  assert.equal(kept.at(-1)!.step, 100_000, 'the last step (the page reads progress from it)');
  const order = thinned.map((e) => events.indexOf(e));
  assert.deepEqual(order, [...order].sort((a, b) => a - b), 'stream order, the events themselves');
  // Thinned again (as the cache does while a history grows): still bounded, still the spike.
  const again = steps(downsampleEvents([...thinned, ...events.slice(-5000)], 1000));
  assert.ok(again.length <= 1000 + 2 + 250 && again.some((s) => s.loss === 50));
  // Under the budget: the very same list.
  const few = events.slice(0, 500);
  assert.equal(downsampleEvents(few, 1000), few);
  assert.equal(HISTORY_STEPS, 4000);
});

test('a live run in the host: its events stay bounded however long it runs, every epoch, the spike and the latest step kept', () => {
  const history = new BoundedEvents([], 1000);
  let longest = 0;
  for (let n = 1; n <= 50_000; n++) {
    history.push(step(n, n === 31_337 ? 50 : 1 + 0.1 * Math.sin(n)));
    if (n % 5000 === 0) history.push(epochEvent(n / 5000));
    longest = Math.max(longest, stepCount(history.events));
    assert.equal(steps(history.events).at(-1)!.step, n, 'the latest step is always there (progress reads it)');
  }
  assert.ok(longest <= 2 * 1000 + 2, `at most ${longest} steps held at once`);
  assert.equal(history.events.filter((e) => e.type === 'epoch').length, 10);
  assert.ok(steps(history.events).some((s) => s.loss === 50), 'the loss spike survives');
  const order = steps(history.events).map((s) => s.step);
  assert.deepEqual(order, [...order].sort((a, b) => a - b));
});

const LOG = (message: string): string => JSON.stringify({ type: 'log', time: 1, level: 'info', message });

function runDir(name: string, text: string): { dir: string; file: string } {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'metrics.jsonl');
  fs.writeFileSync(file, text);
  return { dir, file };
}

function messages(events: readonly TrainerEvent[]): string[] {
  return events.map((e) => (e.type === 'log' ? e.message : e.type));
}

test('metrics cache: only the appended bytes are read; a line split across reads is whole once its end is written', async () => {
  const { dir, file } = runDir('incremental', `${LOG('one')}\n${LOG('two')}\n`);
  const cache = new MetricsCache({ chunkBytes: 7 });
  assert.deepEqual(messages((await cache.read(dir)).events), ['one', 'two']);
  // Damage a byte already read, in place (same file, same size): an incremental read never sees it.
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, 'X', 0);
  fs.closeSync(fd);
  const half = LOG('thré€');
  fs.appendFileSync(file, half.slice(0, 10));
  const torn = await cache.read(dir);
  assert.deepEqual(messages(torn.events), ['one', 'two']);
  assert.match(torn.problems.join(), /last line is torn/);
  fs.appendFileSync(file, `${half.slice(10)}\n`);
  const whole = cache.readSync(dir);
  assert.deepEqual(messages(whole.events), ['one', 'two', 'thré€'], 'multi-byte characters across 7-byte pieces');
  assert.deepEqual(whole.problems, []);
  // A last line without its newline that is a whole event counts, once.
  fs.appendFileSync(file, LOG('four'));
  assert.deepEqual(messages((await cache.read(dir)).events), ['one', 'two', 'thré€', 'four']);
  fs.appendFileSync(file, '\n');
  assert.deepEqual(messages((await cache.read(dir)).events), ['one', 'two', 'thré€', 'four']);
  // Two reads at once share one.
  fs.appendFileSync(file, `${LOG('five')}\n`);
  const [a, b] = await Promise.all([cache.read(dir), cache.read(dir)]);
  assert.deepEqual(messages(a.events), messages(b.events));
  assert.equal(messages(a.events).filter((m) => m === 'five').length, 1);
});

test('metrics cache: a file that shrank or was replaced is read from its start; a missing one has no events', async () => {
  const { dir, file } = runDir('replaced', `${LOG('old one')}\n${LOG('old two')}\n`);
  const cache = new MetricsCache();
  assert.deepEqual(messages((await cache.read(dir)).events), ['old one', 'old two']);
  fs.writeFileSync(file, `${LOG('new')}\n`);
  assert.deepEqual(messages((await cache.read(dir)).events), ['new'], 'shrank');
  const next = path.join(dir, 'next.jsonl');
  fs.writeFileSync(next, `${LOG('other A')}\n${LOG('other B')}\n`);
  fs.renameSync(next, file);
  assert.deepEqual(messages((await cache.read(dir)).events), ['other A', 'other B'], 'replaced by another file');
  fs.rmSync(file);
  assert.deepEqual(await cache.read(dir), { events: [], problems: [] });
});

test('metrics cache: an oversized line is skipped with its size and the lines after it kept; a damaged line stops the history', async () => {
  const huge = LOG('x'.repeat(MAX_EVENT_SIZE + 10));
  const { dir } = runDir('oversized', `${LOG('a')}\n${huge}\n${LOG('b')}\n`);
  const read = await new MetricsCache({ chunkBytes: 64 * 1024 }).read(dir);
  assert.deepEqual(messages(read.events), ['a', 'b']);
  assert.deepEqual(read.problems, ['metrics.jsonl: line 2 is 1.0 MiB, over the 1.0 MiB cap for one event; skipped']);
  const damaged = runDir('damaged', `${LOG('a')}\n{"type":"step","time":"yesterday"}\n${LOG('b')}\n`);
  const stopped = await new MetricsCache().read(damaged.dir);
  assert.deepEqual(messages(stopped.events), ['a']);
  assert.match(stopped.problems[0], /^metrics.jsonl: line 2: step.time: expected a finite number.*; the lines after it are ignored$/);
});

test('metrics cache: a long run is kept thinned while it is read, its spike and last step kept', async () => {
  const lines: string[] = [];
  for (let n = 1; n <= 30_000; n++) {
    lines.push(JSON.stringify(step(n, n === 20_001 ? 99 : 1)));
    if (n % 5000 === 0) lines.push(JSON.stringify(epochEvent(n / 5000)));
  }
  const { dir, file } = runDir('long', lines.join('\n') + '\n');
  const cache = new MetricsCache({ maxSteps: 400, chunkBytes: 4096 });
  const first = await cache.read(dir);
  const kept = steps(first.events);
  assert.ok(kept.length <= 2 * 400 + 2 + 200, `${kept.length} steps kept`);
  assert.ok(kept.some((s) => s.loss === 99));
  assert.equal(kept.at(-1)!.step, 30_000);
  assert.equal(first.events.filter((e) => e.type === 'epoch').length, 6);
  fs.appendFileSync(file, JSON.stringify(step(30_001, 1)) + '\n');
  assert.equal(steps((await cache.read(dir)).events).at(-1)!.step, 30_001, 'the live tail comes after');
});
