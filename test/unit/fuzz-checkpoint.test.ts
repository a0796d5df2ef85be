// Fuzzing the checkpoint readers (src/trainer/train/checkpoint.ts) and what `was-train resume`,
// `dom` and `export` read beside them (planResume, src/trainer/train/resume.ts; readSavedSearch,
// src/trainer/dom/run-search.ts): a run folder may come from anywhere, so its manifest
// (parseManifest, and loadCheckpoint over the files), the pointer checkpoints/last.json
// (lastCheckpointEpoch), weights.bin, config.json, summary.json and dom/*.json,
// damaged or hostile, give a checkpoint or a ValidationError / CheckpointError / ResumeError with
// a message; never another exception, and never more tensor memory than weights.bin holds. Seed
// and case counts: test/support/fuzz.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { DEFAULTS, type TrainConfig } from '../../src/shared/config';
import { ValidationError, expectObject } from '../../src/shared/validate';
import { CheckpointError, checkpointsDir, lastCheckpointEpoch, loadCheckpoint, parseManifest, saveCheckpoint, type CheckpointContent } from '../../src/trainer/train/checkpoint';
import { NothingToResumeError, ResumeError, planResume } from '../../src/trainer/train/resume';
import { readSavedSearch } from '../../src/trainer/dom/run-search';
import { VALID_EVENTS, fuzzOptions, fuzzTempDir, jsonish, mutated, mutatedBytes, mutatedJsonText, parsesOrRejects, parsesOrRejectsAsync } from '../support/fuzz';

const dir = fuzzTempDir('checkpoint');

/** A run's resolved config: seed and learning rate filled in, as resume requires. */
const CONFIG: TrainConfig = { ...DEFAULTS, seed: 3, optimizer: { ...DEFAULTS.optimizer, lr: 0.05 } };

/** A stand-in for a model variable: what saveCheckpoint reads of one. */
function variable(name: string, shape: number[]) {
  const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i / 7);
  return { name: `m/${name}`, dtype: 'float32', shape, data: () => Promise.resolve(values) };
}

/** A small checkpoint written by saveCheckpoint itself, so that the fuzz starts from the real format. */
async function writeValidRun(runDir: string, epoch = 2): Promise<void> {
  const trainable = new Map([['conv1.kernel', variable('conv1.kernel', [2, 2, 1, 3])], ['dense.bias', variable('dense.bias', [10])]]);
  const state = new Map([['bn1.mean.aom', variable('bn1.mean.aom', [3])]]);
  const slots = [{ variable: 'm/conv1.kernel', index: 0, shape: [2, 2, 1, 3], values: new Float32Array(12).fill(0.5) }];
  const content = {
    runId: 'fuzz',
    epoch,
    seed: 3,
    config: CONFIG,
    model: { name: 'lenet', spec: { height: 28, width: 28, channels: 1, numClasses: 10 }, store: { trainable, state } },
    shadowLayers: ['conv2'],
    optimizer: { exportState: () => ({ name: 'sgd', steps: 40, slots }) },
    training: {
      step: 40,
      rng: { order: [1, 2, 3, 4], augment: [5, 6, 7, 8], shadow: [9, 10, 11, 12] },
      best: { epoch: 1, accuracy: 0.5 },
      trainSamples: 1280,
      trainSeconds: 2,
      durationSec: 3,
    },
  } as unknown as CheckpointContent;
  fs.rmSync(runDir, { recursive: true, force: true });
  fs.mkdirSync(runDir, { recursive: true });
  await saveCheckpoint(runDir, { ...content, epoch: 1 });
  if (epoch > 1) await saveCheckpoint(runDir, content);
}

const validRun = path.join(dir, 'valid');
const files = { pointer: '', manifest: '', weights: '', bestManifest: '' };
let manifestObject: Record<string, unknown> = {};

test('fuzz: a valid checkpoint loads (the mutations below start from it)', async () => {
  await writeValidRun(validRun);
  const root = checkpointsDir(validRun);
  Object.assign(files, {
    pointer: path.join(root, 'last.json'),
    manifest: path.join(root, 'epoch-0002', 'checkpoint.json'),
    weights: path.join(root, 'epoch-0002', 'weights.bin'),
    bestManifest: path.join(root, 'epoch-0001', 'checkpoint.json'),
  });
  manifestObject = JSON.parse(fs.readFileSync(files.manifest, 'utf8')) as Record<string, unknown>;
  assert.equal(parseManifest(manifestObject).epoch, 2);
  assert.equal((await loadCheckpoint(validRun, 'best')).manifest.epoch, 1);
  assert.equal(await lastCheckpointEpoch(validRun), 2);
});

test('fuzz: parseManifest on valid manifests with fields changed, dropped or added', () => {
  fc.assert(
    fc.property(mutated([manifestObject], jsonish), (value) => {
      const result = parsesOrRejects(() => parseManifest(expectObject(value, '')), ValidationError);
      if (!result.ok) return;
      const { tensors, weights } = result.value;
      const held = tensors.reduce((sum, t) => sum + 4 * t.shape.reduce((a, b) => a * b, 1), 0);
      assert.ok(held <= weights.bytes, `tensors of ${held} bytes in a ${weights.bytes}-byte weights.bin`);
    }),
    fuzzOptions(3000),
  );
});

test('fuzz: a manifest that lists the same bytes many times is refused (no memory amplification)', () => {
  const entry = (manifestObject.tensors as Record<string, unknown>[])[0];
  const bytes = (manifestObject.weights as { bytes: number }).bytes;
  const copies = Array.from({ length: 1000 }, (_, i) => ({ ...entry, name: `copy${i}`, offset: 0 }));
  assert.throws(() => parseManifest({ ...manifestObject, tensors: copies }), (e: unknown) => e instanceof ValidationError && new RegExp(`^tensors: .*more than the ${bytes} bytes`).test(e.message));
});

test('fuzz: loadCheckpoint with a damaged manifest, pointer or weights.bin gives a CheckpointError', async () => {
  const pristine = new Map(Object.values(files).map((file) => [file, fs.readFileSync(file)]));
  const manifestText = fs.readFileSync(files.manifest, 'utf8');
  const pointerText = fs.readFileSync(files.pointer, 'utf8');
  const weights = fs.readFileSync(files.weights);
  const caseArb = fc.oneof(
    { arbitrary: fc.record({ file: fc.constantFrom(files.manifest, files.bestManifest), content: mutatedJsonText([JSON.parse(manifestText)]) }), weight: 4 },
    { arbitrary: fc.record({ file: fc.constant(files.manifest), content: mutatedBytes([Buffer.from(manifestText)], manifestText.length) }), weight: 1 },
    { arbitrary: fc.record({ file: fc.constant(files.pointer), content: fc.oneof(mutatedJsonText([JSON.parse(pointerText)]), mutatedBytes([Buffer.from(pointerText)], 200)) }), weight: 2 },
    { arbitrary: fc.record({ file: fc.constant(files.weights), content: mutatedBytes([weights], weights.length) }), weight: 1 },
  );
  await fc.assert(
    fc.asyncProperty(caseArb, fc.constantFrom('last' as const, 'best' as const), async ({ file, content }, which) => {
      fs.writeFileSync(file, content);
      try {
        const result = await parsesOrRejectsAsync(() => loadCheckpoint(validRun, which), CheckpointError);
        if (result.ok) {
          const held = [...result.value.variables.values(), ...result.value.optimizer.slots].reduce((sum, t) => sum + t.values.byteLength, 0);
          assert.ok(held <= result.value.manifest.weights.bytes, `tensors of ${held} bytes from ${result.value.manifest.weights.bytes}`);
        }
        const pointer = await parsesOrRejectsAsync(() => lastCheckpointEpoch(validRun), CheckpointError);
        if (pointer.ok) assert.ok(pointer.value === null || Number.isInteger(pointer.value));
      } finally {
        fs.writeFileSync(file, pristine.get(file)!);
      }
    }),
    fuzzOptions(600),
  );
});

test('fuzz: planResume (was-train resume) with a damaged config.json, summary.json or metrics.jsonl gives a plan or a clear error', async () => {
  const run = path.join(dir, 'resume');
  await writeValidRun(run);
  const config = { runId: 'fuzz', createdAt: '2026-12-06T07:00:00.000Z', seed: 3, config: CONFIG, backend: { name: 'cpu', reason: 'auto', skipped: [] } };
  const summary = VALID_EVENTS.find((e) => (e as { type: string }).type === 'run-end' && (e as { status: string }).status === 'failed');
  const metrics = Buffer.from(VALID_EVENTS.slice(0, 7).map((e) => JSON.stringify(e)).join('\n') + '\n');
  const originals = new Map<string, Buffer>([
    [path.join(run, 'config.json'), Buffer.from(JSON.stringify(config))],
    [path.join(run, 'summary.json'), Buffer.from(JSON.stringify(summary))],
    [path.join(run, 'metrics.jsonl'), metrics],
  ]);
  for (const [file, content] of originals) fs.writeFileSync(file, content);
  assert.equal((await planResume(run)).config.seed, 3);
  const [configFile, summaryFile, metricsFile] = [...originals.keys()];
  const caseArb = fc.oneof(
    { arbitrary: fc.record({ file: fc.constant(configFile), content: mutatedJsonText([config]) }), weight: 3 },
    { arbitrary: fc.record({ file: fc.constant(configFile), content: mutatedBytes([originals.get(configFile)!], 4096) }), weight: 1 },
    { arbitrary: fc.record({ file: fc.constant(summaryFile), content: mutatedJsonText([summary]) }), weight: 1 },
    { arbitrary: fc.record({ file: fc.constant(metricsFile), content: mutatedBytes([metrics], metrics.length) }), weight: 1 },
  );
  await fc.assert(
    fc.asyncProperty(caseArb, async ({ file, content }) => {
      fs.writeFileSync(file, content);
      try {
        const result = await parsesOrRejectsAsync(() => planResume(run), [ResumeError, NothingToResumeError, CheckpointError]);
        if (result.ok) assert.equal(result.value.config.seed, 3);
      } finally {
        for (const [original, bytes] of originals) fs.writeFileSync(original, bytes);
      }
    }),
    fuzzOptions(500),
  );
});

test('fuzz: readSavedSearch (a dom/*.json the dom and export commands reuse) gives a search, null, or a ValidationError naming the file', () => {
  const run = path.join(dir, 'saved-search');
  const file = path.join(run, 'dom', 'best-flops-0.7.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const search = VALID_EVENTS.find((e) => (e as { type: string }).type === 'dom-search')!;
  fs.writeFileSync(file, JSON.stringify(search));
  assert.equal(readSavedSearch(run, 'best', 3, 0.7, 'lazy-greedy')?.epoch, 3);
  const text = fc.oneof(mutatedJsonText([search]), mutatedBytes([Buffer.from(JSON.stringify(search))], 400));
  fc.assert(
    fc.property(text, (content) => {
      fs.writeFileSync(file, content);
      const result = parsesOrRejects(() => readSavedSearch(run, 'best', 3, 0.7, 'lazy-greedy'), ValidationError);
      if (!result.ok) assert.ok(result.error.message.startsWith(`${file}: `), result.error.message);
      else assert.ok(result.value === null || result.value.type === 'dom-search');
    }),
    fuzzOptions(1500),
  );
});
