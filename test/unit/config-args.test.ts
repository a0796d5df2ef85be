// Config resolution (defaults <- preset <- file <- flags) and the was-train flag parser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CONFIG_OPTIONS, DEFAULTS, FIELDS, PRESETS, applyPatch, cropScaleFor, parseConfig, resolveConfig } from '../../src/shared/config';
import { ValidationError } from '../../src/shared/validate';
import { CONFIG_FLAGS, helpText, parseArgs, UsageError } from '../../src/trainer/args';

function train(argv: string[]) {
  const parsed = parseArgs(argv);
  assert.equal(parsed.kind, 'train');
  if (parsed.kind !== 'train') throw new Error('unreachable');
  return parsed.options;
}

test('defaults resolve to the sound preset', () => {
  const config = resolveConfig([]);
  assert.deepEqual(config, DEFAULTS);
  assert.equal(config.preset, 'sound');
  assert.equal(config.bn.eval, 'recalibrate');
  assert.equal(config.selectOn, 'validation');
});

test('the reference preset is the published setting of WAS.md', () => {
  const config = resolveConfig([{ patch: { preset: 'reference' }, where: 'test' }]);
  assert.equal(config.optimizer.lr, 0.01);
  assert.equal(config.optimizer.momentum, 0.9);
  assert.equal(config.optimizer.weightDecay, 0);
  assert.equal(config.schedule.name, 'constant');
  assert.equal(config.epochs, 500);
  assert.equal(config.batchSize, 128);
  assert.equal(config.data.augment, 'off');
  assert.equal(config.data.normalize, 'half');
  assert.equal(config.data.validationSize, 0);
  assert.equal(config.bn.eval, 'batch');
  assert.equal(config.selectOn, 'test');
  // Later patches still override the preset.
  const shorter = resolveConfig([{ patch: { preset: 'reference', epochs: 3 }, where: 'test' }]);
  assert.equal(shorter.epochs, 3);
  assert.ok(PRESETS.reference);
});

test('GoogLeNet gets the reference crop scale [0.6, 0.8] unless one is given', () => {
  assert.deepEqual(cropScaleFor({ ...DEFAULTS, model: 'googlenet' }), [0.6, 0.8]);
  assert.deepEqual(cropScaleFor(DEFAULTS), [0.8, 1.0]);
  assert.deepEqual(cropScaleFor({ ...DEFAULTS, model: 'googlenet', was: { ...DEFAULTS.was, cropScale: [0.5, 0.9] } }), [0.5, 0.9]);
});

test('bad config values fail naming the option and what is wrong', () => {
  const cases: [unknown, RegExp][] = [
    [{ model: 'resnet50' }, /model: expected one of lenet, .*got "resnet50"/],
    [{ epochs: 0 }, /epochs: must be at least 1/],
    [{ epochs: 2.5 }, /epochs: expected an integer/],
    [{ optimizer: { lr: 'fast' } }, /optimizer.lr: expected a finite number, got "fast"/],
    [{ data: { nam: 'mnist' } }, /data.nam: unknown option in test/],
    [{ data: 'mnist' }, /data: expected an object/],
    [{ was: { cropScale: [0.9, 0.8] } }, /was.cropScale: low 0.9 is above high 0.8/],
    [{ was: { layers: [] } }, /was.layers: an empty layer list/],
    [{ was: { layers: 'some' } }, /was.layers: expected "preset", "all" or a list/],
    [{ seed: -1 }, /seed: must be at least 0/],
    [{ learningRate: 0.1 }, /learningRate: unknown option/],
  ];
  for (const [patch, message] of cases) {
    assert.throws(() => applyPatch(DEFAULTS, patch, 'test'), (e: unknown) => e instanceof ValidationError && message.test(e.message), JSON.stringify(patch));
  }
});

test('nullable options accept null, others do not', () => {
  assert.equal(applyPatch(DEFAULTS, { seed: null }).seed, null);
  assert.equal(applyPatch(DEFAULTS, { data: { dir: null } }).data.dir, null);
  assert.throws(() => applyPatch(DEFAULTS, { epochs: null }), /epochs: expected a finite number, got null/);
});

test('every config flag names a real option, and --help lists them all', () => {
  const help = helpText();
  for (const flag of CONFIG_FLAGS) {
    assert.ok(FIELDS[flag.path], `--${flag.flag} -> ${flag.path}`);
    assert.ok(help.includes(`--${flag.flag}`));
  }
  assert.equal(parseArgs(['--help']).kind, 'help');
});

test('flags parse by the option type: numbers, ranges, lists, booleans, none', () => {
  const o = train([
    '--model', 'small-cnn', '--dataset=synthetic', '--lr', '0.1', '--crop-scale', '0.6,0.8', '--layers', 'conv1,conv2',
    '--download', '--seed', '7', '--train-limit', 'none', '--backend-path', 'a', '--backend-path', 'b', '--json',
  ]);
  assert.equal(o.config.model, 'small-cnn');
  assert.equal(o.config.data.name, 'synthetic');
  assert.equal(o.config.optimizer.lr, 0.1);
  assert.deepEqual(o.config.was.cropScale, [0.6, 0.8]);
  assert.deepEqual(o.config.was.layers, ['conv1', 'conv2']);
  assert.equal(o.config.data.download, true);
  assert.equal(o.config.seed, 7);
  assert.equal(o.config.data.trainLimit, null);
  // --backend-path is the process's, not an option: it never reaches the config (or config.json).
  assert.deepEqual(o.backendPaths, ['a', 'b']);
  assert.equal(Object.hasOwn(o.config, 'backendPaths'), false);
  assert.equal(o.output, 'json');
  assert.equal(train(['--no-download']).config.data.download, false);
});

test('bad flags are usage errors with a clear message', () => {
  const cases: [string[], RegExp][] = [
    [['--epoch', '3'], /unknown flag --epoch \(did you mean --epochs/],
    [['--lr'], /--lr needs a value/],
    [['--lr', 'abc'], /--lr: "abc" is not a number/],
    [['--epochs', '0'], /--epochs \(epochs\): must be at least 1/],
    [['--model', 'alexnet'], /--model \(model\): expected one of/],
    [['--crop-scale', '0.8'], /--crop-scale: expected two numbers/],
    [['mnist'], /unexpected argument "mnist"/],
    [['--download=maybe'], /--download: expected true or false/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => parseArgs(argv), (e: unknown) => e instanceof UsageError && message.test(e.message), argv.join(' '));
  }
});

test('a config file is applied before the flags, and its errors name the file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-config-'));
  const file = path.join(dir, 'exp.was.json');
  fs.writeFileSync(file, JSON.stringify({ $schema: './schema.json', model: 'small-cnn', epochs: 4, optimizer: { lr: 0.2 } }));
  const o = train(['--config', file, '--epochs', '2']);
  assert.equal(o.config.model, 'small-cnn');
  assert.equal(o.config.epochs, 2);
  assert.equal(o.config.optimizer.lr, 0.2);

  fs.writeFileSync(file, '{"model": ');
  assert.throws(() => parseArgs(['--config', file]), /is not valid JSON/);
  fs.writeFileSync(file, '{"model": "unknown-net"}');
  assert.throws(() => parseArgs(['--config', file]), (e: unknown) => e instanceof UsageError && e.message.includes('model: expected one of'));
  assert.throws(() => parseArgs(['--config', path.join(dir, 'missing.json')]), /cannot read config file/);
  fs.writeFileSync(file, '[1, 2]');
  assert.throws(() => parseArgs(['--config', file]), /must hold a JSON object/);
  fs.rmSync(dir, { recursive: true });
});

test('the one declaration: DEFAULTS pass its rules unchanged, and every option has a help line', () => {
  assert.deepEqual(parseConfig(DEFAULTS), DEFAULTS);
  assert.equal(CONFIG_OPTIONS.length, Object.keys(FIELDS).length);
  for (const option of CONFIG_OPTIONS) assert.ok(option.help.length > 0, option.path);
});

test('config values: list items, ranges and "__proto__" are named precisely', () => {
  const cases: [unknown, RegExp][] = [
    [{ was: { layers: ['conv1', 2] } }, /was.layers\[1\]: expected a string, got 2/],
    [{ was: { cropScale: [0.9] } }, /was.cropScale: expected \[low, high\], got 1 numbers/],
    [{ was: { cropScale: [0.5, 1.5] } }, /was.cropScale\[1\]: must be at most 1/],
    // Not an option any more: a config never says where code is loaded from.
    [{ backendPaths: ['a', 3] }, /backendPaths: not an option of a config or experiment file: backend code is loaded only from folders chosen on this machine.*--backend-path/],
    [JSON.parse('{"__proto__": {"epochs": 5}}'), /__proto__: unknown option in test/],
    [{ optimizer: { learningrate: 1 } }, /optimizer.learningrate: unknown option in test/],
  ];
  for (const [patch, message] of cases) {
    assert.throws(() => applyPatch(DEFAULTS, patch, 'test'), (e: unknown) => e instanceof ValidationError && message.test(e.message), JSON.stringify(patch));
  }
});

test('flags on node:util parseArgs: --flag=value, --no-flag, a missing value before another flag, short flags', () => {
  const o = train(['--epochs=4', '--baseline', '--no-baseline', '--seed', 'null', '--layers=all']);
  assert.equal(o.config.epochs, 4);
  assert.equal(o.config.baseline, false);
  assert.equal(o.config.seed, null);
  assert.equal(o.config.was.layers, 'all');
  assert.equal(parseArgs(['-h']).kind, 'help');
  assert.throws(() => parseArgs(['--lr', '--json']), /--lr needs a value/);
  assert.throws(() => parseArgs(['-x']), /unexpected argument "-x"/);
  assert.throws(() => parseArgs(['--no-lr', '3']), /unknown flag --no-lr \(did you mean --lr/);
});
