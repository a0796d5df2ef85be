// Multithreaded wasm in Node (src/trainer/backend/wasm-threads.ts, select.ts). The backend can
// start only once per process, so each case runs in a child process: this same file, started
// with WAS_LAB_THREADS_CHILD=1, selects wasm, runs a conv/BatchNorm/dense forward and backward
// pass and prints its results as JSON; it must then exit on its own (the pool's workers must not
// keep it alive). The threaded results must equal the single-threaded ones, and every failure
// of the threaded start must fall back to one thread with the reason in the backend line.
// (dist/trainer.js, spawned and forked with IPC as the extension does, is covered by cli.test.ts.)
// Run: node --import tsx --test test/unit/wasm-threads.test.ts

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/trainer/backend/select';
import { MAX_WASM_THREADS, wantedWasmThreads } from '../../src/trainer/backend/wasm-threads';
import { normalizeWithBatchStatistics } from '../../src/trainer/nn/batch-norm';

const CHILD_ENV = 'WAS_LAB_THREADS_CHILD';

interface ChildResult {
  threads: number;
  reason: string;
  values: number[][];
}

function seeded(shape: number[], seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return tf.tensor(out, shape);
}

async function child(): Promise<void> {
  const choice = await selectBackend('wasm', { searchPaths: [] });
  const values = tf.tidy(() => {
    const x = seeded([8, 16, 16, 8], 1) as tf.Tensor4D, w = seeded([3, 3, 8, 16], 2) as tf.Tensor4D;
    const gamma = seeded([16], 3), beta = seeded([16], 4), dense = seeded([16, 5], 5), r = seeded([8, 5], 6);
    const f = (xx: tf.Tensor, ww: tf.Tensor, gg: tf.Tensor, dd: tf.Tensor) => {
      const y = tf.relu(normalizeWithBatchStatistics(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 2, 'same'), gg, beta, 1e-5).y);
      return tf.sum(tf.mul(tf.matMul(tf.mean(y, [1, 2]) as tf.Tensor2D, dd as tf.Tensor2D), r)) as tf.Scalar;
    };
    const { value, grads } = tf.valueAndGrads(f)([x, w, gamma, dense]);
    return [value, ...grads].map((t) => Array.from(t.dataSync()));
  });
  process.stdout.write(`${JSON.stringify({ threads: choice.threads, reason: choice.reason, values })}\n`);
}

function runChild(env: Record<string, string>): ChildResult {
  const res = spawnSync(process.execPath, ['--import', 'tsx', __filename], {
    env: { ...process.env, [CHILD_ENV]: '1', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(res.error, undefined, `child failed to run or did not exit by itself: ${res.error}`);
  assert.equal(res.status, 0, `child exit status ${res.status}\n${res.stderr.slice(-2000)}`);
  const line = res.stdout.split('\n').find((l) => l.startsWith('{'));
  assert.ok(line, `no result from the child:\n${res.stdout}\n${res.stderr.slice(-2000)}`);
  return JSON.parse(line) as ChildResult;
}

function assertSameValues(a: ChildResult, b: ChildResult): void {
  assert.equal(a.values.length, b.values.length);
  a.values.forEach((ref, i) => {
    let diff = 0, scale = 0;
    ref.forEach((v, j) => {
      diff = Math.max(diff, Math.abs(v - b.values[i][j]));
      scale = Math.max(scale, Math.abs(v));
    });
    assert.ok(diff <= 1e-6 * Math.max(scale, 1e-30), `output ${i}: max difference ${diff} (scale ${scale})`);
  });
}

if (process.env[CHILD_ENV]) {
  void child();
} else {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const expected = Math.min(cores, MAX_WASM_THREADS);
  let single: ChildResult | null = null;
  const singleRun = () => (single ??= runChild({ WAS_LAB_WASM_THREADS: '1' }));

  test('WAS_LAB_WASM_THREADS=1 runs the single-threaded build', () => {
    const r = singleRun();
    assert.equal(r.threads, 1);
    assert.doesNotMatch(r.reason, /threaded build/);
  });

  test(`by default wasm runs on every core (${expected} here), gives the single-threaded results, and the process exits`, () => {
    const env: Record<string, string> = {};
    delete process.env.WAS_LAB_WASM_THREADS;
    const r = runChild(env);
    assert.equal(r.threads, expected, r.reason);
    if (expected > 1) assert.match(r.reason, /threaded build/);
    assertSameValues(singleRun(), r);
  });

  test('a threaded start that cannot write its worker script falls back to one thread and says why', () => {
    // A temp folder under a regular file cannot be created (even as root); tsx's cache is off so
    // that only our mkdtemp meets it.
    const r = runChild({ TMPDIR: path.join(__filename, 'tmp'), TSX_DISABLE_CACHE: '1', WAS_LAB_WASM_THREADS: '2' });
    assert.equal(r.threads, 1);
    assert.match(r.reason, /threaded build failed \(.*ENOTDIR/);
    assertSameValues(singleRun(), r);
  });

  test('a malformed WAS_LAB_WASM_THREADS runs one thread and names the bad value', () => {
    const r = runChild({ WAS_LAB_WASM_THREADS: 'many' });
    assert.equal(r.threads, 1);
    assert.match(r.reason, /WAS_LAB_WASM_THREADS=many is not a positive integer/);
  });

  test('wantedWasmThreads: every logical core up to 8, or the override', () => {
    assert.deepEqual(wantedWasmThreads({ WAS_LAB_WASM_THREADS: '3' }), { threads: 3, why: 'WAS_LAB_WASM_THREADS=3' });
    assert.deepEqual(wantedWasmThreads({ WAS_LAB_WASM_THREADS: '64' }), { threads: MAX_WASM_THREADS, why: 'WAS_LAB_WASM_THREADS=64' });
    assert.ok('error' in wantedWasmThreads({ WAS_LAB_WASM_THREADS: '0' }));
    assert.ok('error' in wantedWasmThreads({ WAS_LAB_WASM_THREADS: '1.5' }));
    const auto = wantedWasmThreads({});
    assert.ok('threads' in auto && auto.threads === expected);
  });
}
