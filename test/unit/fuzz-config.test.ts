// Fuzzing the config readers: resolveConfig and applyPatch (src/shared/config.ts), the
// extension's experiment files (parseExperiment, src/extension/runs/trainer-args.ts), and the
// trainer's --config file and flags (readConfigFile, parseArgs in src/trainer/args.ts). Any input
// gives a valid TrainConfig or the reader's own error (ValidationError; UsageError for the
// command line) with a message; never another exception. Seed and case counts: test/support/fuzz.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { CONFIG_FLAGS, UsageError, parseArgs, readConfigFile } from '../../src/trainer/args';
import { DEFAULTS, PRESETS, applyPatch, parseConfig, resolveConfig, type TrainConfig } from '../../src/shared/config';
import { parseExperiment, parseQuickChoices } from '../../src/extension/runs/trainer-args';
import { ValidationError } from '../../src/shared/validate';
import { anyValue, fuzzOptions, fuzzTempDir, jsonish, mutated, mutatedJsonText, parsesOrRejects } from '../support/fuzz';

const dir = fuzzTempDir('config');

/** Valid partial configs (experiment files), the seeds of the mutations. */
const PATCHES: readonly unknown[] = [
  {},
  { model: 'small-cnn', epochs: 2, data: { name: 'synthetic', synthetic: { trainCount: 64 } } },
  { preset: 'reference', epochs: 3, was: { transform: 'crop', cropScale: [0.5, 1] } },
  { was: { transform: 'mixed', layers: ['conv1', 'conv2'] }, optimizer: { name: 'adam', lr: 0.001 }, seed: 7 },
  { $schema: './experiment.schema.json', dom: { flopsTarget: 0.7 }, runName: 'a', batchSize: 32, bn: { eval: 'batch' } },
  PRESETS.reference,
  DEFAULTS,
];

/** A resolved config is one parseConfig takes back unchanged. */
function assertValidConfig(config: TrainConfig): void {
  assert.deepEqual(parseConfig(structuredClone(config)), config);
}

test('fuzz: the valid experiment patches resolve', () => {
  for (const patch of PATCHES) parseExperiment('x.was.json', JSON.stringify(patch));
});

test('fuzz: resolveConfig and applyPatch on random values', () => {
  fc.assert(
    fc.property(anyValue, anyValue, (first, second) => {
      const resolved = parsesOrRejects(() => resolveConfig([{ patch: first, where: 'a' }, { patch: second, where: 'b' }]), ValidationError);
      if (resolved.ok) assertValidConfig(resolved.value);
      const patched = parsesOrRejects(() => applyPatch(DEFAULTS, first), ValidationError);
      if (patched.ok) assertValidConfig(patched.value);
    }),
    fuzzOptions(2000),
  );
});

test('fuzz: resolveConfig on valid patches with options changed, dropped or added', () => {
  fc.assert(
    fc.property(mutated(PATCHES), (patch) => {
      const result = parsesOrRejects(() => resolveConfig([{ patch, where: 'file' }]), ValidationError);
      if (result.ok) assertValidConfig(result.value);
    }),
    fuzzOptions(4000),
  );
});

test('fuzz: parseQuickChoices (remembered Start Training picks, any value in workspace state) gives choices or null', () => {
  const CHOICES = [{ model: 'lenet', dataset: 'mnist', transform: 'shift', preset: 'sound', epochs: 3 }];
  fc.assert(
    fc.property(fc.oneof(anyValue, mutated(CHOICES)), (value) => {
      const result = parsesOrRejects(() => parseQuickChoices(value), ValidationError);
      assert.ok(result.ok, 'never throws');
      if (result.value !== null) resolveConfig([{ patch: { model: result.value.model, epochs: result.value.epochs }, where: 'picks' }]);
    }),
    fuzzOptions(2000),
  );
});

/** An experiment file's text: a mutated valid one, random JSON, or cut short. */
const experimentText = fc.oneof(
  { arbitrary: mutatedJsonText(PATCHES), weight: 4 },
  { arbitrary: jsonish.map((v) => JSON.stringify(v) ?? ''), weight: 1 },
  { arbitrary: fc.tuple(mutatedJsonText(PATCHES), fc.nat()).map(([text, cut]) => text.slice(0, cut % (text.length + 1))), weight: 1 },
  { arbitrary: fc.string({ maxLength: 30, unit: 'binary' }), weight: 1 },
);

test('fuzz: parseExperiment (a *.was.json file) gives a config or a ValidationError naming the file', () => {
  fc.assert(
    fc.property(experimentText, (text) => {
      const result = parsesOrRejects(() => parseExperiment('exp.was.json', text), ValidationError);
      if (result.ok) assertValidConfig(result.value.config);
      else assert.match(result.error.message, /^exp\.was\.json: ./);
    }),
    fuzzOptions(3000),
  );
});

test('fuzz: readConfigFile (was-train --config) on random and mutated file bytes gives options or a UsageError', () => {
  const file = path.join(dir, 'config.json');
  const bytes = fc.oneof(
    experimentText.map((text) => Buffer.from(text, 'utf8')),
    fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
    experimentText.map((text) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')])),
  );
  fc.assert(
    fc.property(bytes, (content) => {
      fs.writeFileSync(file, content);
      const result = parsesOrRejects(() => readConfigFile(file), UsageError);
      if (result.ok) assert.ok(typeof result.value === 'object' && result.value !== null && !Array.isArray(result.value));
    }),
    fuzzOptions(1500),
  );
});

/** One command-line word: a known flag (maybe negated, maybe with =value), a value, or anything. */
const flagNames = [...CONFIG_FLAGS.map((f) => f.flag), 'config', 'resume', 'json', 'plain', 'help', 'version'];
const word = fc.oneof(
  { arbitrary: fc.constantFrom(...flagNames).map((f) => `--${f}`), weight: 4 },
  { arbitrary: fc.constantFrom(...flagNames).map((f) => `--no-${f}`), weight: 1 },
  { arbitrary: fc.tuple(fc.constantFrom(...flagNames), fc.string({ maxLength: 8 })).map(([f, value]) => `--${f}=${value}`), weight: 2 },
  {
    arbitrary: fc.constantFrom('0', '1', '-1', '0.5', '1e400', 'NaN', 'none', 'null', 'true', 'false', 'preset', 'all', 'conv1,conv2', '0.5,1', '1,0.5', ',', '', ' ', 'lenet', 'cifar10', 'x'),
    weight: 4,
  },
  { arbitrary: fc.string({ maxLength: 10 }), weight: 1 },
  { arbitrary: fc.constant(`--config=${path.join(dir, 'flags.json')}`), weight: 1 },
);

test('fuzz: parseArgs (was-train flags) gives a valid config or a UsageError', () => {
  fs.writeFileSync(path.join(dir, 'flags.json'), JSON.stringify({ model: 'small-cnn', epochs: 2 }));
  fc.assert(
    fc.property(fc.array(word, { maxLength: 8 }), (argv) => {
      const result = parsesOrRejects(() => parseArgs(argv), UsageError);
      if (result.ok && result.value.kind === 'train') assertValidConfig(result.value.options.config);
    }),
    fuzzOptions(3000),
  );
});
