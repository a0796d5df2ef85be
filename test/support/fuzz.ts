// What the fuzz tests (test/unit/fuzz-*.test.ts) share: the seed and case counts, the
// "a valid parse or the parser's own error" check, and generators of hostile input: random JSON
// (and structured-clone values), mutations of valid values, and mutations of valid bytes.
//
// CI runs a fixed seed, so a failure reproduces; fast-check prints the seed and the shrunk
// counterexample. For a longer or different search locally:
//   FUZZ_SEED=123 FUZZ_SCALE=20 node --import tsx --test test/unit/fuzz-*.test.ts test/webview/fuzz-*.test.ts
// FUZZ_SEED picks the seed (default below), FUZZ_SCALE multiplies every property's case count.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { DEFAULTS } from '../../src/shared/config';
import { encodeEvent, type TrainerEvent } from '../../src/shared/protocol';

export const FUZZ_SEED = envNumber('FUZZ_SEED', 20261206);
const FUZZ_SCALE = envNumber('FUZZ_SCALE', 1);

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return n;
}

/** fast-check's options for a property of `runs` cases in CI (times FUZZ_SCALE). */
export function fuzzOptions(runs: number): fc.Parameters<unknown> {
  return { seed: FUZZ_SEED, numRuns: Math.max(1, Math.round(runs * FUZZ_SCALE)), endOnFailure: false };
}

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Runs `parse`: it may return, or throw an instance of `errorClass` (or of one of several) with a
 * non-empty message; anything else (a TypeError, a RangeError, another class) fails the property.
 */
export function parsesOrRejects<T>(parse: () => T, errorClass: ErrorClass | readonly ErrorClass[]): { ok: true; value: T } | { ok: false; error: Error } {
  try {
    return { ok: true, value: parse() };
  } catch (error) {
    assertClean(error, errorClass);
    return { ok: false, error: error as Error };
  }
}

export async function parsesOrRejectsAsync<T>(parse: () => Promise<T>, errorClass: ErrorClass | readonly ErrorClass[]): Promise<{ ok: true; value: T } | { ok: false; error: Error }> {
  try {
    return { ok: true, value: await parse() };
  } catch (error) {
    assertClean(error, errorClass);
    return { ok: false, error: error as Error };
  }
}

function assertClean(error: unknown, errorClass: ErrorClass | readonly ErrorClass[]): void {
  const classes: readonly ErrorClass[] = Array.isArray(errorClass) ? errorClass : [errorClass as ErrorClass];
  const names = classes.map((c) => c.name).join(' or ');
  if (!classes.some((c) => error instanceof c) || !(error instanceof Error)) {
    const shown = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error);
    assert.fail(`expected a ${names} or a valid parse, got ${shown}`);
  }
  assert.ok(typeof error.message === 'string' && error.message.trim() !== '', `${names} with an empty message`);
}

// ---------------------------------------------------------------------------------------------
// Values

/** Values that break careless checks: non-finite and edge numbers, prototype keys, wrong types. */
export const nastyValue: fc.Arbitrary<unknown> = fc.constantFrom<unknown>(
  NaN, Infinity, -Infinity, -0, -1, 0, 0.5, 1e-320, 2 ** 31, 2 ** 32, 2 ** 53 + 2, Number.MAX_VALUE, -Number.MAX_VALUE,
  '', ' ', 'Infinity', '-Infinity', 'NaN', '__proto__', 'constructor', 'toString', '../..', '\u0000', '\ud800',
  null, undefined, true, false, [], {}, [[]], { __proto__: null }, [null], { type: 'step' },
);

/** Random JSON, structured-clone values (Map, Date, typed arrays, bigint, sparse arrays...) and nasty ones. */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 4 },
  {
    arbitrary: fc.anything({
      maxDepth: 3,
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withSparseArray: true,
      withTypedArray: true,
    }),
    weight: 2,
  },
  { arbitrary: nastyValue, weight: 2 },
);

type Key = string | number;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Every path into a JSON-like value (the root is []). */
function pathsOf(value: unknown, prefix: Key[] = [], out: Key[][] = []): Key[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((item, i) => pathsOf(item, [...prefix, i], out));
  else if (isPlainObject(value)) for (const [k, item] of Object.entries(value)) pathsOf(item, [...prefix, k], out);
  return out;
}

type Edit = { at: number; op: 'replace' | 'delete' | 'add-key' | 'wrap' | 'stringify'; value: unknown; key: string };

/** JSON values only (what crosses a file or a JSON channel), nasty ones included. */
export const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 3 },
  { arbitrary: fc.constantFrom<unknown>(-1, 0, 0.5, 2 ** 32, 2 ** 53 + 2, 1e308, -1e308, '', 'Infinity', '-Infinity', '__proto__', null, true, [], {}, [null]), weight: 1 },
);

function editArbitrary(values: fc.Arbitrary<unknown>): fc.Arbitrary<Edit> {
  return fc.record({
    at: fc.nat(),
    op: fc.constantFrom('replace', 'replace', 'replace', 'delete', 'add-key', 'wrap', 'stringify'),
    value: values,
    key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('type', '__proto__', 'constructor', 'event', 'events', 'config')),
  });
}

function stringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'undefined';
  } catch {
    return '"no JSON for this value"'; // a bigint, or a cycle
  }
}

/**
 * A fresh copy of the plain arrays and objects in `value` (prototypes kept), the only nodes edits
 * change: fast-check hands the same generated values to a mapper again while shrinking, so an
 * edit in place would change them for every later case (and could make a cycle).
 */
function copyTree(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyTree);
  if (!isPlainObject(value)) return value;
  const out = Object.create(Object.getPrototypeOf(value) as object | null) as Record<string, unknown>;
  for (const [key, item] of Object.entries(value)) Object.defineProperty(out, key, { value: copyTree(item), enumerable: true, writable: true, configurable: true });
  return out;
}

/** `sample` with one to three edits at random places: a field replaced, dropped, wrapped, added. */
function applyEdits(sample: unknown, edits: readonly Edit[]): unknown {
  let root: unknown = copyTree(sample);
  for (const edit of edits) {
    const paths = pathsOf(root);
    const where = paths[edit.at % paths.length];
    const value = copyTree(edit.value);
    const change = (old: unknown): unknown => {
      switch (edit.op) {
        case 'replace':
          return value;
        case 'wrap':
          return [old];
        case 'stringify':
          return stringify(old);
        case 'add-key':
          // Not on arrays: an array with an own "constructor" breaks Array#map, and no JSON text makes one.
          if (!isPlainObject(old)) return value;
          Object.defineProperty(old, edit.key, { value, enumerable: true, writable: true, configurable: true });
          return old;
        case 'delete':
          return undefined;
      }
    };
    if (where.length === 0) {
      root = change(root);
      continue;
    }
    const parent = where.slice(0, -1).reduce<unknown>((node, key) => (node as Record<Key, unknown>)[key], root) as Record<Key, unknown>;
    const key = where[where.length - 1];
    const next = change(parent[key]);
    if (next === undefined && edit.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
    } else parent[key] = next;
  }
  return root;
}

/** Valid samples with random edits (one to three of them); new values from `values` (any value, or `jsonish`). */
export function mutated(samples: readonly unknown[], values: fc.Arbitrary<unknown> = anyValue): fc.Arbitrary<unknown> {
  return fc.tuple(fc.constantFrom(...samples), fc.array(editArbitrary(values), { minLength: 1, maxLength: 3 })).map(([sample, edits]) => applyEdits(sample, edits));
}

/** A mutated sample as JSON text (what a file holds). */
export function mutatedJsonText(samples: readonly unknown[]): fc.Arbitrary<string> {
  return mutated(samples, jsonish).map(stringify);
}

// ---------------------------------------------------------------------------------------------
// Bytes

type ByteEdit =
  | { op: 'truncate'; at: number }
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; byte: number }
  | { op: 'splice'; at: number; bytes: Uint8Array }
  | { op: 'cut'; at: number; length: number };

const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.constantFrom(0, 0x7f, 0x80, 0xff, 0x30, 0x37, 0x20) }),
  fc.record({ op: fc.constant('splice' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ op: fc.constant('cut' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 600 }) }),
);

function applyByteEdit(bytes: Uint8Array, edit: ByteEdit, focus: number): Uint8Array {
  // Most edits land in the first `focus` bytes (the headers), where parsers decide things.
  const span = Math.max(1, Math.min(bytes.length, edit.at % 3 === 0 ? bytes.length : focus));
  const at = Math.floor(edit.at / 3) % span;
  switch (edit.op) {
    case 'truncate':
      return bytes.subarray(0, edit.at % (bytes.length + 1));
    case 'flip':
    case 'set': {
      if (bytes.length === 0) return bytes;
      const out = Uint8Array.from(bytes);
      out[at] = edit.op === 'flip' ? out[at] ^ (1 << edit.bit) : edit.byte;
      return out;
    }
    case 'splice':
      return Uint8Array.from([...bytes.subarray(0, at), ...edit.bytes, ...bytes.subarray(at)]);
    case 'cut':
      return Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + edit.length)]);
  }
}

/** Valid byte strings with one to four edits (truncation, bit flips, set bytes, inserted or cut runs). */
export function mutatedBytes(samples: readonly Uint8Array[], focus = 1024): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.constantFrom(...samples), fc.array(byteEdit, { minLength: 1, maxLength: 4 }))
    .map(([sample, edits]) => edits.reduce((bytes, edit) => applyByteEdit(bytes, edit, focus), sample));
}

// ---------------------------------------------------------------------------------------------
// Files

/** One temporary folder per test file, removed when the process exits. */
export function fuzzTempDir(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `was-fuzz-${name}-`));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Valid trainer events (one of each kind), the seeds of most mutations

const domLayers = [
  { layer: 'conv2', dy: 1, dx: 0, kernel: [2, 3] as [number, number], flops: { aom: 3_612_672, dom: 2_408_448 } },
  { layer: 'conv3', dy: 0, dx: 0, kernel: [3, 3] as [number, number], flops: { aom: 100, dom: 100 } },
];
const runStart: TrainerEvent = {
  type: 'run-start',
  time: 1,
  runId: 'r1',
  runDir: '/tmp/r1',
  config: DEFAULTS,
  seed: 5,
  backend: { name: 'wasm', reason: 'auto', skipped: [{ name: 'tensorflow-gpu', reason: 'not found' }] },
  versions: { tfjs: '4.22.0' },
  model: { name: 'lenet', parameters: 61707, shadowLayers: ['conv2'], flops: 416_520 },
  dataset: { name: 'mnist', source: 'x', train: 55000, validation: 5000, test: 10000, classes: 10 },
  stepsPerEpoch: 859,
  epochs: 3,
};
const runEnd: TrainerEvent = {
  type: 'run-end', time: 7, status: 'completed', reason: null, epochsCompleted: 3, bestEpoch: 3, bestAomAccuracy: 0.98,
  test: { aom: 0.981, dom: 0.975, epoch: 3 }, durationSec: 400, samplesPerSec: 900,
  baseline: { runDir: '/tmp/r1/baseline', status: 'completed', test: { accuracy: 0.978, epoch: 2 }, gain: { aom: 0.3, dom: -0.3 } },
  flops: { aom: 3_869_824, dom: { target: 0.7, flops: 2_665_600, accuracy: 0.985, test: 0.987, layers: domLayers } },
};
const step: TrainerEvent = { type: 'step', time: 3, epoch: 1, step: 20, stepInEpoch: 20, stepsPerEpoch: 859, loss: 0.5, accuracy: 0.9, lr: 0.05, samplesPerSec: 900 };
const epoch: TrainerEvent = {
  type: 'epoch', time: 4, epoch: 1, trainLoss: 0.3, trainAccuracy: 0.9, aomAccuracy: 0.97, domAccuracy: 0.96, selectionSplit: 'validation',
  lr: 0.04, samplesPerSec: 950, durationSec: 60, alphas: { conv2: 0.4 }, best: true, numTensors: 30,
};
const domSearch: TrainerEvent = {
  type: 'dom-search', time: 9, checkpoint: 'best', epoch: 3, flopsTarget: 0.7, algorithm: 'lazy-greedy', split: 'validation',
  flops: { aom: 3_869_824, dom: 2_665_600, budget: 2_708_876, minimum: 1_862_784 },
  accuracy: { aom: 0.99, dom: 0.985, stochasticDom: 0.98 }, test: { aom: 0.991, dom: 0.987 },
  layers: domLayers, evaluations: 9, durationSec: 12.5,
};

const EVENTS: readonly TrainerEvent[] = [
  runStart,
  { ...runStart, resumedFrom: { epoch: 2, step: 1718 } },
  { type: 'phase', time: 2, phase: 'training', epoch: 1 },
  { type: 'phase', time: 2, phase: 'loading-data', epoch: null },
  step,
  { ...step, loss: NaN, accuracy: Infinity },
  epoch,
  { type: 'log', time: 5, level: 'warn', message: 'hello' },
  runEnd,
  { type: 'run-end', time: 6, status: 'failed', reason: 'boom', epochsCompleted: 0, bestEpoch: null, bestAomAccuracy: null, test: null, durationSec: 1, samplesPerSec: 0 },
  domSearch,
  { type: 'baseline', time: 8, event: epoch },
  { type: 'baseline', time: 8, event: runStart },
];

/** Each kind of event as it crosses the wire (encodeEvent: a NaN loss is null, an infinite one a string). */
export const VALID_EVENTS: readonly unknown[] = EVENTS.map((event) => JSON.parse(encodeEvent(event)) as unknown);
