// Same seed, same config on the pure-JS cpu backend: the same metrics bit for bit (the wasm
// backend is covered in training.test.ts). Tiny shapes: cpu conv gradients are slow.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { resolveConfig } from '../../src/shared/config';
import type { TrainerEvent } from '../../src/shared/protocol';
import { runTraining } from '../../src/trainer/train/session';
import { runNumbers } from '../support/run-numbers';

const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-cpu-'));

async function metrics(seed: number): Promise<unknown[]> {
  const config = resolveConfig([
    {
      patch: {
        model: 'lenet',
        data: { name: 'synthetic', validationSize: 16, synthetic: { trainCount: 80, testCount: 16, size: 12, channels: 1, classes: 3 } },
        was: { transform: 'mixed' },
        epochs: 2,
        batchSize: 16,
        evalBatchSize: 16,
        seed,
        backend: 'cpu',
        logEverySteps: 1,
        runsDir,
      },
      where: 'test',
    },
  ]);
  const events: TrainerEvent[] = [];
  const { end } = await runTraining(config, { emit: (e) => events.push(e), stopRequested: () => null });
  assert.equal(end.status, 'completed', end.reason ?? '');
  assert.equal(tf.getBackend(), 'cpu');
  return runNumbers(events);
}

test('cpu backend: same seed and config give bit-identical metrics; another seed does not', async () => {
  const a = await metrics(11);
  const b = await metrics(11);
  assert.ok(a.length > 5);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, await metrics(12));
});
