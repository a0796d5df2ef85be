// Small rules with one home each: run folder names, durations, percentages, error messages, atomic files.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { errorDetail, errorMessage } from '../../src/shared/errors';
import { duration, percent } from '../../src/shared/format';
import { tempSibling, writeFileAtomic, writeFileAtomicAsync } from '../../src/shared/node/atomic-file';
import { defaultRunName, firstFreeRunName, runNameProblem } from '../../src/shared/run-naming';
import { RunFolder } from '../../src/trainer/output/run-folder';
import { newRunName } from '../../src/extension/runs/trainer-args';

test('run names: <yyyymmdd-hhmmss>-<model>-<dataset> in UTC, then -2, -3 ... past the taken ones', () => {
  const now = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
  assert.equal(defaultRunName('vgg16', 'cifar10', now), '20260102-030405-vgg16-cifar10');
  assert.equal(firstFreeRunName('a', () => false), 'a');
  const taken = new Set(['a', 'a-2', 'a-3']);
  assert.equal(firstFreeRunName('a', (n) => taken.has(n)), 'a-4');
  assert.equal(runNameProblem('run_1.b-c'), null);
  for (const bad of ['.', '..', 'a/b', '', 'a b', 'é']) assert.match(runNameProblem(bad) ?? '', /may only hold letters, digits/, bad);
});

test('the trainer and the extension name a run alike', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-naming-'));
  try {
    const now = new Date(Date.UTC(2026, 10, 28, 2, 3, 4));
    const first = RunFolder.create(dir, null, 'lenet', 'mnist', now);
    const second = RunFolder.create(dir, null, 'lenet', 'mnist', now);
    assert.deepEqual([first.id, second.id], ['20261128-020304-lenet-mnist', '20261128-020304-lenet-mnist-2']);
    assert.equal(newRunName('lenet', 'mnist', (n) => fs.existsSync(path.join(dir, n)), now), '20261128-020304-lenet-mnist-3');
    assert.throws(() => RunFolder.create(dir, '..', 'lenet', 'mnist'), /run name "\.\." may only hold/);
    assert.throws(() => RunFolder.create(dir, first.id, 'lenet', 'mnist'), /already exists/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('durations: seconds, then minutes and seconds, then hours and minutes; a placeholder for no time', () => {
  assert.equal(duration(0), '0s');
  assert.equal(duration(7.4), '7s');
  assert.equal(duration(59.6), '1m00s');
  assert.equal(duration(185), '3m05s');
  assert.equal(duration(3599), '59m59s');
  assert.equal(duration(3600), '1h00m');
  assert.equal(duration(2 * 3600 + 4 * 60 + 59), '2h04m');
  assert.equal(duration(30 * 3600), '30h00m');
  for (const none of [null, undefined, Number.NaN, Number.POSITIVE_INFINITY, -1]) assert.equal(duration(none), '-');
  assert.equal(duration(null, '—'), '—');
});

test('percentages: two decimals; a placeholder for no value', () => {
  assert.equal(percent(0.9512), '95.12%');
  assert.equal(percent(1), '100.00%');
  for (const none of [null, undefined, Number.NaN]) assert.equal(percent(none), '-');
  assert.equal(percent(null, '—'), '—');
});

test('error messages: an Error\'s, a { message } object\'s, anything else as text', () => {
  assert.equal(errorMessage(new TypeError('bad')), 'bad');
  assert.equal(errorMessage({ message: 'from wasm' }), 'from wasm');
  assert.equal(errorMessage({ message: 3 }), '[object Object]');
  assert.equal(errorMessage('plain'), 'plain');
  assert.equal(errorMessage(undefined), 'undefined');
  assert.equal(errorMessage(null), 'null');
  const error = new Error('with stack');
  assert.equal(errorDetail(error), error.stack);
  const bare = new Error('no stack');
  bare.stack = undefined;
  assert.equal(errorDetail(bare), 'no stack');
  assert.equal(errorDetail(42), '42');
});

test('atomic files: the whole new text or the old one; no temporary file left, even on failure', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-atomic-'));
  try {
    const file = path.join(dir, 'summary.json');
    writeFileAtomic(file, 'one\n');
    assert.equal(fs.readFileSync(file, 'utf8'), 'one\n');
    writeFileAtomic(file, new Uint8Array([116, 119, 111]));
    assert.equal(fs.readFileSync(file, 'utf8'), 'two');
    await writeFileAtomicAsync(file, 'three');
    assert.equal(fs.readFileSync(file, 'utf8'), 'three');
    assert.deepEqual(fs.readdirSync(dir), ['summary.json']);
    assert.equal(tempSibling(file), `${file}.${process.pid}.tmp`);

    // The rename fails (the target is a non-empty folder): the old content stays and the temporary file is removed.
    const blocked = path.join(dir, 'blocked');
    fs.mkdirSync(blocked);
    fs.writeFileSync(path.join(blocked, 'x'), 'x');
    assert.throws(() => writeFileAtomic(blocked, 'new'));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['blocked', 'summary.json']);
    await assert.rejects(writeFileAtomicAsync(blocked, 'new'));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['blocked', 'summary.json']);
    assert.deepEqual(fs.readdirSync(blocked), ['x']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
