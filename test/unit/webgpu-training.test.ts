// Training on the webgpu backend (Dawn), for real: a short MNIST run through the trainer process
// beside the same run on wasm; the adapter recorded where a run shows its backend; a stop and
// resume against the uninterrupted run; a stable tensor count; and the faults: no adapter, a GPU
// error, a device lost mid-run. On machines without a GPU this runs on Mesa's lavapipe (see
// webgpu-support.ts); the last test destroys the process's device, so it stays last.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { parseEventLines, type RunEndEvent, type TrainerEvent } from '../../src/shared/protocol';
import { EXIT } from '../../src/shared/exit-codes';
import { clearDeviceFault, describeGpuError } from '../../src/trainer/backend/device-faults';
import { resumeTraining, runTraining } from '../../src/trainer/train/session';
import { runNumbers } from '../support/run-numbers';
import { smallRunConfig } from '../support/small-run';
import { runTrainer } from '../support/trainer-cli';
import { webgpuOrSkip } from './webgpu-support';

const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-webgpu-'));
let webgpu: string | null = null;
before(async () => {
  webgpu = await webgpuOrSkip();
});

function readEvents(runDir: string): TrainerEvent[] {
  return parseEventLines(fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')).events;
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

const TINY_RUN = ['--model', 'lenet', '--dataset', 'synthetic', '--validation-size', '64', '--epochs', '1', '--max-steps-per-epoch', '1', '--runs-dir', runsDir];
const MNIST_RUN = ['--model', 'small-cnn', '--dataset', 'mnist', '--train-limit', '704', '--validation-size', '64', '--test-limit', '500', '--epochs', '1', '--batch-size', '32', '--dom-test-draws', '1', '--seed', '3', '--runs-dir', runsDir, '--json'];

test('a short MNIST run on webgpu reaches the accuracy of the same run on wasm (within a point), records its adapter, and exports a searched DOM', async (t) => {
  if (webgpu === null) return t.skip('no WebGPU adapter');
  const runs: Record<string, RunEndEvent> = {};
  for (const backend of ['webgpu', 'wasm']) {
    const out = await runTrainer([...MNIST_RUN, '--backend', backend, '--run-name', `mnist-${backend}`]);
    assert.equal(out.code, 0, out.stderr);
    runs[backend] = readJson<RunEndEvent>(path.join(runsDir, `mnist-${backend}`, 'summary.json'));
  }
  const [gpu, wasm] = [runs.webgpu!, runs.wasm!];
  t.diagnostic(`test AOM: webgpu ${gpu.test!.aom}, wasm ${wasm.test!.aom}; DOM ${gpu.test!.dom} vs ${wasm.test!.dom}`);
  assert.ok(Math.abs(gpu.test!.aom - wasm.test!.aom) <= 0.01, 'AOM within a point');
  assert.ok(gpu.test!.aom > 0.3, 'it learned (10 classes)');
  // Where the run shows its backend: config.json, the run-start event, summary.json.
  const config = readJson<{ backend: { name: string; adapter?: { vendor: string; software: boolean } } }>(path.join(runsDir, 'mnist-webgpu', 'config.json'));
  assert.equal(config.backend.name, 'webgpu');
  assert.ok(config.backend.adapter !== undefined && config.backend.adapter.vendor !== '', 'config.json names the adapter');
  const start = readEvents(path.join(runsDir, 'mnist-webgpu')).find((e) => e.type === 'run-start');
  assert.deepEqual(start?.type === 'run-start' ? start.backend.adapter : null, config.backend.adapter);
  assert.deepEqual(gpu.backend?.adapter, config.backend.adapter, 'summary.json names it too');
  assert.equal(wasm.backend?.adapter, undefined, 'a wasm run has no adapter');
  // A DOM searched and exported on webgpu (the run's backend): the export checks itself against our forward pass.
  const exported = await runTrainer(['export', path.join(runsDir, 'mnist-webgpu'), '--mode', 'dom', '--flops-target', '0.75', '--json']);
  assert.equal(exported.code, 0, exported.stdout + exported.stderr);
  const metadata = JSON.parse(exported.stdout.trim().split('\n').pop()!) as { mode: string; flops: number };
  assert.equal(metadata.mode, 'dom');
});

test('webgpu: a run stopped inside epoch 1 and resumed ends with the numbers of the uninterrupted run', async (t) => {
  if (webgpu === null) return t.skip('no WebGPU adapter');
  const config = (name: string) => smallRunConfig(runsDir, { backend: 'webgpu', epochs: 2, runName: name, checkpointMinutes: 0 });
  const reference = await runTraining(config('gpu-reference'), { emit: () => {}, stopRequested: () => null });
  let steps = 0;
  const stopped = await runTraining(config('gpu-stopped'), { emit: (e) => void (e.type === 'step' && steps++), stopRequested: () => (steps >= 2 ? 'test stop' : null) });
  assert.equal(stopped.end.status, 'stopped');
  const resumed = await resumeTraining(stopped.runDir, { emit: () => {}, stopRequested: () => null });
  assert.equal(resumed.end.status, 'completed');
  const lastEpoch = (dir: string) => runNumbers(readEvents(dir).filter((e) => e.type === 'epoch').slice(-1));
  t.diagnostic(`test: reference ${JSON.stringify(reference.end.test)}, resumed ${JSON.stringify(resumed.end.test)}`);
  assert.deepEqual(lastEpoch(stopped.runDir), lastEpoch(reference.runDir), 'bit for bit: the last epoch');
  assert.deepEqual(resumed.end.test, reference.end.test, 'bit for bit: the test numbers');
});

test('webgpu: WAS training steps keep the tensor count stable', async (t) => {
  if (webgpu === null) return t.skip('no WebGPU adapter');
  const counts: number[] = [];
  await runTraining(smallRunConfig(runsDir, { backend: 'webgpu', epochs: 1, runName: 'gpu-tensors', checkpointMinutes: 0 }), {
    emit: (e) => void (e.type === 'step' && counts.push(tf.memory().numTensors)),
    stopRequested: () => null,
  });
  t.diagnostic(`tensors at each logged step: ${counts.join(', ')}`);
  assert.ok(counts.length >= 3);
  assert.ok(counts.every((c) => c === counts[0]), 'the same count at every step');
});

test('no adapter: --backend webgpu fails saying so, and auto falls back to the next backend saying why', async (t) => {
  if (webgpu === null) return t.skip('no WebGPU adapter');
  // A Vulkan loader pointed at no driver: what a machine without a GPU driver looks like to Dawn.
  const env = { ...process.env, VK_ICD_FILENAMES: path.join(runsDir, 'no-such-icd.json'), VK_DRIVER_FILES: path.join(runsDir, 'no-such-icd.json') };
  const named = await runTrainer(['--backend', 'webgpu', ...TINY_RUN, '--run-name', 'webgpu-no-adapter'], env);
  assert.equal(named.code, EXIT.failed);
  assert.match(named.stdout + named.stderr, /Backend 'webgpu' cannot be used: Dawn found no WebGPU adapter: no GPU driver it can use/);
  const auto = await runTrainer(['--backend', 'auto', ...TINY_RUN, '--run-name', 'auto-no-adapter', '--json'], env);
  assert.equal(auto.code, 0, auto.stderr);
  const start = readEvents(path.join(runsDir, 'auto-no-adapter')).find((e) => e.type === 'run-start');
  assert.ok(start?.type === 'run-start');
  assert.equal(start.backend.name, 'wasm');
  assert.match(start.backend.skipped.find((s) => s.name === 'webgpu')?.reason ?? '', /Dawn found no WebGPU adapter/);
});

test('auto passes over a software adapter (slower than wasm), saying so', async (t) => {
  if (webgpu === null || !/software/.test(webgpu)) return t.skip('this machine has a real GPU adapter');
  const auto = await runTrainer(['--backend', 'auto', ...TINY_RUN, '--run-name', 'auto-software', '--json']);
  assert.equal(auto.code, 0, auto.stderr);
  const start = readEvents(path.join(runsDir, 'auto-software')).find((e) => e.type === 'run-start');
  assert.ok(start?.type === 'run-start');
  assert.equal(start.backend.name, 'wasm');
  assert.match(start.backend.skipped.find((s) => s.name === 'webgpu')?.reason ?? '', /only a software adapter, .*: slower than wasm \(ask for it with --backend webgpu\)/);
});

test('a GPU error mid-run (here a buffer the device refuses) ends the run at the next read, with the reason', async (t) => {
  if (webgpu === null) return t.skip('no WebGPU adapter');
  clearDeviceFault();
  // WebGPU reports an invalid or out-of-memory allocation only as an uncaptured error event, and
  // tfjs goes on computing garbage: a buffer with no usage is such an error, raised by the device itself.
  const device = (tf.backend() as unknown as { device: { createBuffer(d: { size: number; usage: number }): { destroy(): void } } }).device;
  const failed = await runTraining(smallRunConfig(runsDir, { backend: 'webgpu', epochs: 1, runName: 'gpu-error', checkpointMinutes: 0 }), {
    emit: () => {},
    stopRequested: () => null,
    trace: (point) => void (point.kind === 'batch' && point.step === 3 && device.createBuffer({ size: 16, usage: 0 }).destroy()),
  });
  assert.equal(failed.end.status, 'failed');
  assert.match(failed.end.reason ?? '', /^the GPU refused an operation \(.+\); .*try a smaller batch size\. The run ends here; `was-train resume` continues it from its last checkpoint\.$/);
  assert.ok(failed.end.epochsCompleted === 0);
  clearDeviceFault();
});

test('GPU errors are named with what to try: out of memory, refused, internal', () => {
  assert.equal(describeGpuError('GPUOutOfMemoryError', 'Out of memory\n - While calling CreateBuffer'), 'the GPU ran out of memory (Out of memory): try a smaller batch size or model');
  assert.match(describeGpuError('GPUValidationError', 'Buffer size too large'), /^the GPU refused an operation \(Buffer size too large\)/);
  assert.equal(describeGpuError('GPUInternalError', 'lost track'), 'the GPU reported an error (GPUInternalError: lost track)');
});

test('a device lost mid-run ends the run with the reason and a checkpoint that resumes it (last: it destroys the device)', async (t) => {
  if (webgpu === null) return t.skip('no WebGPU adapter');
  clearDeviceFault();
  const device = (tf.backend() as unknown as { device: { destroy(): void } }).device;
  const lost = await runTraining(smallRunConfig(runsDir, { backend: 'webgpu', epochs: 2, runName: 'gpu-lost', checkpointMinutes: 0 }), {
    emit: () => {},
    stopRequested: () => null,
    // The device goes away at the third step of epoch 2 (8 steps per epoch), after epoch 1's checkpoint.
    trace: (point) => void (point.kind === 'batch' && point.epoch === 2 && point.step === 8 + 3 && device.destroy()),
  });
  assert.equal(lost.end.status, 'failed');
  assert.match(lost.end.reason ?? '', /^the GPU device was lost \(destroyed.*\)\. The run ends here; `was-train resume` continues it from its last checkpoint\.$/);
  assert.equal(lost.end.epochsCompleted, 1);
  // A new process gets a new device, and resumes from epoch 1's checkpoint to the end.
  const resumed = await runTrainer(['resume', lost.runDir, '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const end = readJson<RunEndEvent>(path.join(lost.runDir, 'summary.json'));
  assert.equal(end.status, 'completed');
  assert.equal(end.epochsCompleted, 2);
});
