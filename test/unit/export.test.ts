// Export of a real MNIST run (small CNN, 2,000 training images, one epoch, a FLOPs target of 0.7
// searched at the end of training): `was-train export` writes LayersModel folders that plain
// @tensorflow/tfjs loads and runs (a tiny file IOHandler here, no WAS code), with the accuracy of
// our own evaluation and of the run's report; the DOM export's kernels are really smaller and
// its FLOPs, counted from the loaded model, are the search's; destinations are never clobbered
// or left half-written.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { resolveConfig } from '../../src/shared/config';
import { parseTrainerEvent, type DomSearchEvent, type RunEndEvent } from '../../src/shared/protocol';
import { domCommand } from '../../src/trainer/commands/dom';
import { exportCommand } from '../../src/trainer/commands/export';
import type { CommandIo } from '../../src/trainer/commands/flags';
import { loadDataset } from '../../src/trainer/data/index';
import type { ImageSplit } from '../../src/trainer/data/types';
import { planOf } from '../../src/trainer/dom/run-search';
import { exportModel, type ExportMetadata } from '../../src/trainer/export/export-model';
import { openRun } from '../../src/trainer/export/run-source';
import { runTraining } from '../../src/trainer/train/session';
import { layersFolder } from '../support/layers-folder';

const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-export-'));
const config = resolveConfig([
  {
    patch: {
      model: 'small-cnn',
      data: { name: 'mnist', trainLimit: 2500, validationSize: 500, testLimit: 1000 },
      epochs: 1,
      batchSize: 64,
      evalBatchSize: 500,
      seed: 7,
      backend: 'wasm',
      bn: { recalibrationBatches: 5 },
      dom: { flopsTarget: 0.7 },
      logEverySteps: 1000,
      runsDir,
      runName: 'mnist',
    },
    where: 'export test',
  },
]);

let runDir = '';
let summary: RunEndEvent;
let testSplit: ImageSplit;

before(async () => {
  const result = await runTraining(config, { emit: () => {}, stopRequested: () => null });
  assert.equal(result.end.status, 'completed', result.end.reason ?? '');
  runDir = result.runDir;
  summary = result.end;
  testSplit = (await loadDataset(config.data, { seed: 7 })).test;
});

/** Run a was-train command in this process, keeping what it prints. */
async function command(run: (argv: string[], io: CommandIo) => Promise<number>, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const code = await run(argv, { out: (text) => void (out.stdout += text), err: (text) => void (out.stderr += text) });
  return { code, ...out };
}

// ---- plain tfjs only from here: what a user of the export does ----

/** Top-1 accuracy of a loaded export on MNIST test images, normalised as was-export.json says. */
function accuracyOf(model: tf.LayersModel, meta: ExportMetadata, split: ImageSplit): number {
  const [h, w, c] = meta.input.shape;
  const { scale, mean, std } = meta.input.normalization;
  const pixels = Float32Array.from(split.images, (v, i) => (v * scale - mean[i % c]) / std[i % c]);
  const logits = model.predict(tf.tensor4d(pixels, [split.count, h, w, c])) as tf.Tensor;
  const predicted = logits.argMax(1).dataSync();
  logits.dispose();
  let correct = 0;
  for (let i = 0; i < split.count; i++) if (predicted[i] === split.labels[i]) correct++;
  return correct / split.count;
}

/** Multiply-adds per image of the convs and dense layers of a loaded LayersModel. */
function countedFlops(model: tf.LayersModel): number {
  let total = 0;
  for (const layer of model.layers) {
    const out = layer.outputShape as number[];
    const cin = (layer.input as tf.SymbolicTensor).shape;
    const kind = layer.getClassName();
    if (kind === 'Dense') total += (cin[1] as number) * out[1];
    if (kind !== 'Conv2D' && kind !== 'DepthwiseConv2D') continue;
    const [kh, kw] = layer.getConfig().kernelSize as [number, number];
    total += out[1] * out[2] * out[3] * kh * kw * (kind === 'Conv2D' ? (cin[3] as number) : 1);
  }
  return total;
}

function readMeta(dir: string): ExportMetadata {
  return JSON.parse(fs.readFileSync(path.join(dir, 'was-export.json'), 'utf8')) as ExportMetadata;
}

// ---- the tests ----

test('the run reports FLOPs in run-start, its fixed DOM in a dom-search event and run-end, and saves the search', () => {
  assert.ok(summary.flops, 'run-end has flops');
  assert.equal(summary.flops.aom, 3_869_824);
  const dom = summary.flops.dom!;
  assert.equal(dom.target, 0.7);
  assert.ok(dom.flops <= 0.7 * summary.flops.aom);
  const events = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => parseTrainerEvent(JSON.parse(l)));
  const start = events.find((e) => e.type === 'run-start');
  assert.equal(start?.type === 'run-start' && start.model.flops, 3_869_824);
  const search = events.find((e): e is DomSearchEvent => e.type === 'dom-search');
  assert.ok(search, 'a dom-search event in metrics.jsonl');
  assert.equal(search.flops.dom, dom.flops);
  assert.equal(search.test?.dom, dom.test);
  assert.ok(fs.existsSync(path.join(runDir, 'dom', 'best-flops-0.7.json')));
});

test('AOM export: plain tfjs loads it and gets our evaluation and the run\'s reported test accuracy', async (t) => {
  const { code, stdout, stderr } = await command(exportCommand, [runDir, '--mode', 'aom', '--backend', 'wasm']);
  assert.equal(code, 0, stderr);
  const dir = path.join(runDir, 'exports', 'aom-best');
  t.diagnostic(stdout.trim().replace(/\n\s*/g, ' | '));
  const meta = readMeta(dir);
  assert.equal(meta.mode, 'aom');
  assert.equal(meta.source?.epoch, 1);
  assert.equal(meta.flops.model, meta.flops.aom);
  assert.deepEqual(Object.keys(meta.alphas), ['conv2']);
  const model = await tf.loadLayersModel(layersFolder(dir));
  const accuracy = accuracyOf(model, meta, testSplit);
  t.diagnostic(`plain tfjs ${accuracy}, our evaluation ${meta.accuracy.test}, the run reported ${summary.test?.aom}`);
  assert.ok(Math.abs(accuracy - meta.accuracy.test) <= 0.001);
  assert.ok(Math.abs(accuracy - summary.test!.aom) <= 0.001);
  assert.equal(meta.accuracy.reportedByRun, summary.test!.aom);
  assert.equal(countedFlops(model), meta.flops.aom);
  model.dispose();
});

test('DOM export: the saved search is reused, kernels are really smaller, counted FLOPs equal the search\'s and meet the target', async (t) => {
  const { code, stdout, stderr } = await command(exportCommand, [runDir, '--mode', 'dom', '--backend', 'wasm']);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /reusing the DOM search saved for best epoch 1, target 0.7/);
  t.diagnostic(stdout.trim().replace(/\n\s*/g, ' | '));
  const dir = path.join(runDir, 'exports', 'dom-best-flops-0.7');
  const meta = readMeta(dir);
  const dom = summary.flops!.dom!;
  assert.equal(meta.mode, 'dom');
  assert.equal(meta.flops.model, dom.flops);
  assert.equal(meta.flops.target, 0.7);
  assert.deepEqual(meta.transforms, dom.layers);

  const model = await tf.loadLayersModel(layersFolder(dir));
  // FLOPs from the loaded model's own layer shapes: the search's count, within the target.
  const counted = countedFlops(model);
  assert.equal(counted, dom.flops);
  assert.ok(counted <= 0.7 * meta.flops.aom, `${counted} > 70% of ${meta.flops.aom}`);
  // conv2 carries only the taps its shift keeps.
  const [choice] = dom.layers;
  const conv2 = model.getLayer('conv2');
  const [kh, kw, cin, cout] = conv2.getWeights()[0].shape;
  assert.deepEqual([kh, kw, cin, cout], [choice.kernel[0], choice.kernel[1], 32, 64]);
  assert.ok(kh * kw < 9);
  t.diagnostic(`conv2 exported as ${kh}x${kw} (shift ${choice.dy},${choice.dx}); layers: ${model.layers.map((l) => l.getClassName()).join(' ')}`);
  // Plain tfjs gets our evaluation of this DOM, which the run reported as its fixed-DOM test accuracy.
  const accuracy = accuracyOf(model, meta, testSplit);
  t.diagnostic(`plain tfjs ${accuracy}, our evaluation ${meta.accuracy.test}, run-end fixed DOM ${dom.test}, stochastic DOM ${summary.test?.dom}`);
  assert.ok(Math.abs(accuracy - meta.accuracy.test) <= 0.001);
  assert.ok(Math.abs(accuracy - dom.test!) <= 0.001);
  model.dispose();
});

test('was-train dom on the checkpoint finds the DOM the run found at the end of training', async () => {
  const { code, stdout, stderr } = await command(domCommand, [runDir, '--flops-target', '70%', '--backend', 'wasm', '--no-test', '--json']);
  assert.equal(code, 0, stderr);
  const event = parseTrainerEvent(JSON.parse(stdout));
  assert.ok(event.type === 'dom-search');
  const dom = summary.flops!.dom!;
  assert.deepEqual(event.layers, dom.layers);
  assert.equal(event.accuracy.dom, dom.accuracy);
  assert.equal(event.test, null);
  // One 3x3 layer: AOM, then its 8 shifts, each within 70% (2x3 and 3x2: 68.9%, 2x2: 48.1%).
  assert.equal(event.evaluations, 1 + 8);
  assert.ok(event.durationSec > 0);
  assert.equal(event.accuracy.aom, summary.bestAomAccuracy);
});

test('an existing destination is refused without --force and replaced with it', async () => {
  const dir = path.join(runDir, 'exports', 'aom-best');
  if (!fs.existsSync(dir)) assert.equal((await command(exportCommand, [runDir, '--mode', 'aom', '--backend', 'wasm'])).code, 0);
  const before = fs.statSync(path.join(dir, 'model.json')).mtimeMs;
  const refused = await command(exportCommand, [runDir, '--mode', 'aom', '--backend', 'wasm']);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /aom-best already exists; pass --force to replace it/);
  assert.equal(fs.statSync(path.join(dir, 'model.json')).mtimeMs, before);
  const forced = await command(exportCommand, [runDir, '--mode', 'aom', '--backend', 'wasm', '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.ok(fs.existsSync(path.join(dir, 'was-export.json')));
  // --force never replaces a folder that is not an export.
  const foreign = path.join(runsDir, 'not-an-export');
  fs.mkdirSync(foreign);
  fs.writeFileSync(path.join(foreign, 'notes.txt'), 'keep me');
  const kept = await command(exportCommand, [runDir, '--mode', 'aom', '--backend', 'wasm', '--out', foreign, '--force']);
  assert.equal(kept.code, 2);
  assert.match(kept.stderr, /is not a WAS Lab export/);
  assert.equal(fs.readFileSync(path.join(foreign, 'notes.txt'), 'utf8'), 'keep me');
  assert.deepEqual(fs.readdirSync(runsDir).filter((n) => n.includes('.partial-')), []);
});

test('an export interrupted mid-write leaves no destination folder (and no temporary one)', async () => {
  const source = await openRun(runDir, 'best', { backend: 'wasm' });
  try {
    const saved = JSON.parse(fs.readFileSync(path.join(runDir, 'dom', 'best-flops-0.7.json'), 'utf8'));
    const search = parseTrainerEvent(saved);
    assert.ok(search.type === 'dom-search');
    const out = path.join(runsDir, 'interrupted');
    const written: string[] = [];
    await assert.rejects(
      exportModel({
        source,
        mode: 'dom',
        dom: { plan: planOf(search), search },
        out,
        force: false,
        afterFile: (name) => {
          written.push(name);
          if (name !== 'model.json') throw new Error('simulated interruption');
        },
      }),
      /simulated interruption/,
    );
    assert.deepEqual(written, ['model.json', 'group1-shard1of1.bin']);
    assert.equal(fs.existsSync(out), false);
    assert.deepEqual(fs.readdirSync(runsDir).filter((n) => n.startsWith('.interrupted')), []);
  } finally {
    source.dispose();
  }
});
