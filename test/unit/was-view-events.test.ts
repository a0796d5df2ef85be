// What a real trainer run (dist/trainer.js, a few steps on generated data) writes for the panel's
// WAS view and its trustworthy charts: validation loss on every epoch, the kernel samples of each
// epoch (every shadow kernel is the plain one moved by the transform it names), the test phase's
// confusion matrices (the very pass behind run-end's test accuracy), and the DOM search's path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { matrixAccuracy } from '../../src/shared/accuracy';
import { parseEventLines, type TrainerEvent } from '../../src/shared/protocol';
import { applyToPlane, cropTransform, shiftTransform } from '../../src/trainer/was/transforms';
import { runTrainer } from '../support/trainer-cli';

test('a real run writes validation loss, was-kernels per epoch, test-confusion and the DOM search path', async () => {
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-view-events-'));
  try {
    const args = ['--dataset', 'synthetic', '--model', 'small-cnn', '--epochs', '2', '--max-steps-per-epoch', '2', '--seed', '5', '--validation-size', '64'];
    const out = await runTrainer([...args, '--transform', 'mixed', '--flops-target', '0.8', '--runs-dir', runsDir, '--run-name', 'r', '--json']);
    assert.equal(out.code, 0, out.stderr);
    const { events } = parseEventLines(fs.readFileSync(path.join(runsDir, 'r', 'metrics.jsonl'), 'utf8'));
    const of = <T extends TrainerEvent['type']>(type: T) => events.filter((e): e is Extract<TrainerEvent, { type: T }> => e.type === type);
    const start = of('run-start')[0];
    const epochs = of('epoch');
    assert.equal(epochs.length, 2);
    for (const e of epochs) assert.ok(Number.isFinite(e.aomLoss) && Number.isFinite(e.domLoss) && e.aomLoss! > 0, `epoch ${e.epoch} losses ${e.aomLoss} ${e.domLoss}`);

    const kernels = of('was-kernels');
    assert.deepEqual(kernels.map((k) => k.epoch), [1, 2], 'one report after each epoch');
    for (const report of kernels) {
      assert.equal(report.family, 'mixed');
      assert.deepEqual(report.layers.map((l) => l.layer), start.model.shadowLayers);
      for (const layer of report.layers) {
        assert.equal(layer.alpha, epochs[report.epoch - 1].alphas[layer.layer], 'the alpha of that epoch');
        assert.ok(layer.channels.length >= 1 && layer.channels.length <= 3);
        for (const channel of layer.channels) {
          assert.equal(channel.shadows.length, 4);
          for (const { transform, kernel } of channel.shadows) {
            const t = transform.kind === 'shift' ? shiftTransform(layer.k, transform.dy, transform.dx) : cropTransform(layer.k, transform.top, transform.left, transform.height, transform.width);
            // alpha T(W) = T(alpha W): the shadow is the reported plain plane under its own transform.
            const want = applyToPlane(t, channel.plain);
            kernel.forEach((x, i) => assert.ok(Math.abs(x - want[i]) <= 2e-3 * Math.max(1e-3, Math.abs(want[i])) + 1e-6, `${JSON.stringify(transform)}: ${kernel} vs ${Array.from(want)}`));
          }
        }
      }
    }

    const confusion = of('test-confusion')[0];
    const end = of('run-end').at(-1)!;
    assert.equal(confusion.classes, start.dataset.classes);
    assert.equal(matrixAccuracy(confusion.aom).n, start.dataset.test);
    assert.equal(matrixAccuracy(confusion.aom).correct / start.dataset.test, end.test!.aom);
    // The DOM's matrix is its first test draw's (test.dom is the mean over dom.testDraws draws).
    assert.equal(matrixAccuracy(confusion.dom!).correct / start.dataset.test, end.test!.domDraws![0]);

    const search = of('dom-search')[0];
    assert.ok(search.path && search.path.length >= 1);
    assert.equal(search.path.at(-1)!.flops, search.flops.dom, 'the path ends at the chosen DOM');
    assert.equal(search.path.at(-1)!.accuracy, search.accuracy.dom);
    for (let i = 1; i < search.path.length; i++) assert.ok(search.path[i].flops < search.path[i - 1].flops, 'each step shrinks');
  } finally {
    fs.rmSync(runsDir, { recursive: true, force: true });
  }
});
