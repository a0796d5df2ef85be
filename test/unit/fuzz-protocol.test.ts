// Fuzzing the trainer's event stream (src/shared/protocol.ts): whatever a trainer process sends
// over IPC or leaves in metrics.jsonl, parseTrainerEvent, parseTrainerCommand and the JSON-lines
// reader (parseEventLines, and the run store's readRunEvents over a file) give a valid event or a
// ValidationError naming the problem; never another exception. Seed and case counts:
// test/support/fuzz.ts (FUZZ_SEED, FUZZ_SCALE).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeEvent, parseEventLines, parseTrainerCommand, parseTrainerEvent } from '../../src/shared/protocol';
import { ValidationError } from '../../src/shared/validate';
import { readRunEvents } from '../../src/extension/runs/run-store';
import { VALID_EVENTS, anyValue, fuzzOptions, mutated, mutatedJsonText, parsesOrRejects } from '../support/fuzz';

test('fuzz: the valid samples parse (the mutations below start from real events)', () => {
  for (const value of VALID_EVENTS) assert.deepEqual(parseTrainerEvent(JSON.parse(encodeEvent(parseTrainerEvent(value)))), parseTrainerEvent(value));
});

test('fuzz: parseTrainerEvent on random values: a ValidationError or an event', () => {
  fc.assert(
    fc.property(anyValue, (value) => {
      parsesOrRejects(() => parseTrainerEvent(value), ValidationError);
    }),
    fuzzOptions(3000),
  );
});

test('fuzz: parseTrainerEvent on valid events with fields changed, dropped or added', () => {
  fc.assert(
    fc.property(mutated(VALID_EVENTS), (value) => {
      parsesOrRejects(() => parseTrainerEvent(value), ValidationError);
    }),
    fuzzOptions(3000),
  );
});

test('fuzz: a mutated JSON event that parses is an event: it encodes and parses back to itself', () => {
  fc.assert(
    fc.property(mutatedJsonText(VALID_EVENTS), (text) => {
      fc.pre(text !== 'undefined'); // a deleted root
      const result = parsesOrRejects(() => parseTrainerEvent(JSON.parse(text)), ValidationError);
      if (result.ok) assert.deepEqual(parseTrainerEvent(JSON.parse(encodeEvent(result.value))), result.value);
    }),
    fuzzOptions(3000),
  );
});

test('fuzz: parseTrainerEvent on a huge unknown type is quick (the did-you-mean hint is bounded)', () => {
  const started = Date.now();
  for (const type of ['s'.repeat(2_000_000), 'step'.repeat(300_000)]) {
    assert.throws(() => parseTrainerEvent({ type }), (e: unknown) => e instanceof ValidationError && /unknown event type/.test(e.message));
  }
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
});

test('fuzz: parseTrainerCommand on random values and near-commands', () => {
  const near = fc.oneof(anyValue, mutated([{ type: 'stop' }]), fc.record({ type: fc.string({ maxLength: 8 }) }));
  fc.assert(
    fc.property(near, (value) => {
      const result = parsesOrRejects(() => parseTrainerCommand(value), ValidationError);
      if (result.ok) assert.deepEqual(result.value, { type: 'stop' });
    }),
    fuzzOptions(2000),
  );
});

/** One line of metrics.jsonl as a damaged or hostile file may hold it. */
const line = fc.oneof(
  { arbitrary: fc.constantFrom(...VALID_EVENTS).map((v) => JSON.stringify(v)), weight: 4 },
  { arbitrary: mutatedJsonText(VALID_EVENTS), weight: 3 },
  { arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)), weight: 1 },
  { arbitrary: fc.string({ maxLength: 40, unit: 'binary' }), weight: 1 },
  { arbitrary: fc.constantFrom('', ' ', '\r', '{', '[1,', '"', 'null', '{"type":"step"', '\u0000', '\ufeff{}'), weight: 1 },
);

const metricsText = fc.tuple(fc.array(line, { maxLength: 12 }), fc.nat(), fc.boolean()).map(([lines, cut, torn]) => {
  const text = lines.join('\n');
  // A killed writer leaves a torn last line: cut the text anywhere.
  return torn ? text.slice(0, cut % (text.length + 1)) : text;
});

test('fuzz: parseEventLines (metrics.jsonl) gives events or a ValidationError naming the line', () => {
  fc.assert(
    fc.property(metricsText, (text) => {
      const result = parsesOrRejects(() => parseEventLines(text), ValidationError);
      if (!result.ok) assert.match(result.error.message, /^line \d+: /);
      else for (const event of result.value.events) assert.equal(typeof event.type, 'string');
    }),
    fuzzOptions(3000),
  );
});

/** The run store's reader over `text` as a run folder's metrics.jsonl (one temporary folder, rewritten). */
const metricsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-fuzz-metrics-'));
function readMetricsText(text: string): ReturnType<typeof readRunEvents> {
  fs.writeFileSync(path.join(metricsDir, 'metrics.jsonl'), text);
  return readRunEvents(metricsDir);
}

test('fuzz: the run store reads any metrics.jsonl text without throwing, keeping the events before the damage', () => {
  fc.assert(
    fc.property(metricsText, (text) => {
      const { events, problems } = readMetricsText(text);
      assert.ok(Array.isArray(events) && Array.isArray(problems));
      for (const problem of problems) assert.ok(problem.startsWith('metrics.jsonl: '), problem);
      const whole = parsesOrRejects(() => parseEventLines(text), ValidationError);
      if (whole.ok) assert.equal(events.length, whole.value.events.length);
    }),
    fuzzOptions(2000),
  );
});
