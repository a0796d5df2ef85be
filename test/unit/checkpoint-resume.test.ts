// Checkpoints and resume, for real: the checkpoint files a run writes and what they hold, their
// specific errors when missing or corrupt, a stop and resume in one process, and a trainer
// process killed with SIGKILL in epoch 2 and resumed in a new one, ending with the same numbers
// bit for bit as the same run never interrupted (wasm backend).

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../../src/shared/config';
import { currentHistory, parseEventLines, parseTrainerEvent, type TrainerEvent } from '../../src/shared/protocol';
import { selectBackend } from '../../src/trainer/backend/select';
import { CheckpointError, loadCheckpoint, modelFromCheckpoint, restoreInto } from '../../src/trainer/train/checkpoint';
import { resumeTraining, runTraining, type RunResult } from '../../src/trainer/train/session';
import { Optimizer } from '../../src/trainer/train/optimizer';
import { NothingToResumeError } from '../../src/trainer/train/resume';
import { runNumbers } from '../support/run-numbers';
import { TRAINER, runTrainer } from '../support/trainer-cli';
import { SMALL_RUN, smallRunConfig } from '../support/small-run';

const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-resume-'));

const SMALL = { ...SMALL_RUN, runsDir };

function config(patch: Record<string, unknown>): TrainConfig {
  return smallRunConfig(runsDir, patch);
}

async function run(start: (io: { emit(e: TrainerEvent): void; stopRequested(): string | null }) => Promise<RunResult>, stopAtStep = Infinity) {
  const events: TrainerEvent[] = [];
  let step = 0;
  const result = await start({
    emit: (e) => {
      events.push(e);
      if (e.type === 'step') step = e.step;
    },
    stopRequested: () => (step >= stopAtStep ? 'test stop' : null),
  });
  return { ...result, events };
}


function readEvents(runDir: string): { events: TrainerEvent[]; tornLastLine: boolean } {
  return parseEventLines(fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8'));
}

before(async () => {
  await selectBackend('wasm', { searchPaths: [] });
});

let completed: RunResult & { events: TrainerEvent[] };

test('each epoch leaves a checkpoint with every variable, the optimizer state and the streams; last and best are kept', async () => {
  completed = await run((io) => runTraining(config({ runName: 'complete' }), io));
  assert.equal(completed.end.status, 'completed', completed.end.reason ?? '');
  const root = path.join(completed.runDir, 'checkpoints');
  const bestEpoch = completed.end.bestEpoch!;
  const expected = ['epoch-0003', 'last.json', ...(bestEpoch === 3 ? [] : [`epoch-000${bestEpoch}`])].sort();
  assert.deepEqual(fs.readdirSync(root).sort(), expected, 'only last and best remain; no temp folders');

  const last = await loadCheckpoint(completed.runDir, 'last');
  assert.equal(last.manifest.epoch, 3);
  assert.equal(last.manifest.training.step, 3 * 8);
  assert.deepEqual(last.manifest.training.best, { epoch: bestEpoch, accuracy: completed.end.bestAomAccuracy });
  // Every trainable and state variable by its store name: kernels, BN affine and all three stat sets, the alpha.
  const names = [...last.variables.keys()];
  for (const name of ['conv1.kernel', 'conv2.kernel', 'conv2.alpha', 'fc.kernel', 'fc.bias', 'bn1.gamma', 'bn2.beta'])
    assert.ok(names.includes(name), name);
  for (const set of ['train', 'aom', 'dom']) for (const stat of ['mean', 'variance']) assert.ok(names.includes(`bn2.${stat}.${set}`));
  // Adam: two slots per trainable variable, by store name, and the step count.
  assert.equal(last.optimizer.name, 'adam');
  assert.equal(last.optimizer.steps, 24);
  assert.equal(last.optimizer.slots.length, 2 * names.filter((n) => !/\.(mean|variance)\./.test(n)).length);
  assert.ok(last.optimizer.slots.some((s) => s.variable === 'conv2.alpha' && s.index === 1));
  const alpha = last.variables.get('conv2.alpha')!.values[0];
  const lastEpoch = completed.events.filter((e) => e.type === 'epoch').at(-1);
  assert.ok(lastEpoch?.type === 'epoch' && lastEpoch.alphas.conv2 === alpha, 'the saved alpha is the one the last epoch reported');

  // A model and optimizer rebuilt from the checkpoint hold exactly the saved values.
  const model = modelFromCheckpoint(last);
  const optimizer = new Optimizer(last.manifest.config.optimizer, new Map([...model.store.trainable.values()].map((v) => [v.name, v])));
  restoreInto(model, optimizer, last);
  assert.deepEqual(Array.from(model.store.state.get('bn2.mean.dom')!.dataSync()), Array.from(last.variables.get('bn2.mean.dom')!.values));
  const state = await optimizer.exportState();
  assert.equal(state.steps, 24);
  const saved = new Map(last.optimizer.slots.map((s) => [`${s.variable}#${s.index}`, s.values]));
  const byTfName = new Map([...model.store.trainable].map(([n, v]) => [v.name, n]));
  for (const s of state.slots) assert.deepEqual(s.values, saved.get(`${byTfName.get(s.variable)}#${s.index}`));
  optimizer.dispose();
  model.store.dispose();

  const best = await loadCheckpoint(completed.runDir, 'best');
  assert.equal(best.manifest.epoch, bestEpoch);
});

test('optimizer state: export, import into a fresh optimizer, and mismatches refused before any change', async () => {
  const w = tf.variable(tf.tensor([1, 2, 3]), true, 'opt-test/w.kernel');
  const cfg = config({}).optimizer;
  const a = new Optimizer({ ...cfg, name: 'adam', lr: 0.1 }, new Map([[w.name, w]]));
  tf.tidy(() => a.apply({ [w.name]: tf.tensor([0.5, -1, 2]) }, 0.1));
  const state = await a.exportState();
  assert.equal(state.steps, 1);
  assert.equal(state.slots.length, 2);
  const b = new Optimizer({ ...cfg, name: 'adam', lr: 0.1 }, new Map([[w.name, w]]));
  b.importState(state);
  assert.deepEqual(await b.exportState(), state);
  const bad = { ...state, slots: state.slots.map((s, i) => (i === 1 ? { ...s, shape: [4], values: new Float32Array(4) } : s)) };
  const fresh = new Optimizer({ ...cfg, name: 'adam', lr: 0.1 }, new Map([[w.name, w]]));
  assert.throws(() => fresh.importState(bad), /optimizer slot 1 of opt-test\/w.kernel: saved shape \[4\], this run needs \[3\]/);
  assert.equal((await fresh.exportState()).steps, 0, 'nothing was imported');
  assert.throws(() => fresh.importState({ ...state, name: 'sgd' }), /the saved optimizer state is for sgd, this run uses adam/);
  assert.throws(() => fresh.importState({ ...state, slots: state.slots.slice(1) }), /has 1 slots, this run needs 2/);
  for (const o of [a, b, fresh]) o.dispose();
  w.dispose();
});

test('missing and corrupt checkpoints fail with errors that name the file', async () => {
  const copy = path.join(runsDir, 'damaged');
  fs.cpSync(completed.runDir, copy, { recursive: true });
  const ckpt = path.join(copy, 'checkpoints', 'epoch-0003');
  const expectError = async (code: CheckpointError['code'], message: RegExp) =>
    assert.rejects(loadCheckpoint(copy, 'last'), (e: unknown) => e instanceof CheckpointError && e.code === code && message.test(e.message));

  const weights = fs.readFileSync(path.join(ckpt, 'weights.bin'));
  fs.writeFileSync(path.join(ckpt, 'weights.bin'), weights.subarray(0, 1000));
  await expectError('corrupt', /weights\.bin is corrupt: 1000 bytes, the manifest says \d+/);
  const flipped = Buffer.from(weights);
  flipped[123] ^= 1;
  fs.writeFileSync(path.join(ckpt, 'weights.bin'), flipped);
  await expectError('corrupt', /weights\.bin is corrupt: its sha256 does not match/);
  fs.rmSync(path.join(ckpt, 'weights.bin'));
  await expectError('missing', /weights\.bin is missing/);
  fs.writeFileSync(path.join(ckpt, 'weights.bin'), weights);

  const manifest = fs.readFileSync(path.join(ckpt, 'checkpoint.json'), 'utf8');
  fs.writeFileSync(path.join(ckpt, 'checkpoint.json'), manifest.slice(0, 200));
  await expectError('corrupt', /checkpoint\.json is corrupt: not JSON/);
  fs.writeFileSync(path.join(ckpt, 'checkpoint.json'), manifest.replace('"optimizer": {\n  "name": "adam"', '"optimizer": {\n  "name": "rmsprop"'));
  await expectError('corrupt', /checkpoint\.json is corrupt: optimizer\.name: expected one of sgd, adam/);
  fs.writeFileSync(path.join(ckpt, 'checkpoint.json'), manifest);

  const pointer = path.join(copy, 'checkpoints', 'last.json');
  const pointerText = fs.readFileSync(pointer, 'utf8');
  fs.writeFileSync(pointer, pointerText.replace('"dir":"epoch-0003"', '"dir":"../../elsewhere"'));
  await expectError('corrupt', /last\.json is corrupt: dir: expected "epoch-0003"/);
  fs.rmSync(pointer);
  await expectError('missing', /has no checkpoint \(checkpoints\/last\.json is missing\)/);
  fs.writeFileSync(pointer, pointerText);
  assert.equal((await loadCheckpoint(copy, 'last')).manifest.epoch, 3, 'repaired, it loads again');

  // A checkpoint does not go into another model.
  const other = await loadCheckpoint(copy, 'last');
  other.manifest.model.shadowLayers = [];
  assert.throws(() => modelFromCheckpoint(other), (e: unknown) => e instanceof CheckpointError && e.code === 'mismatch' && /holds conv2\.alpha, which model small-cnn does not have/.test(e.message));
});

test('a run stopped in epoch 2 checkpoints where it stopped, and resumed there ends with the same numbers as the run never stopped', async () => {
  const stopped = await run((io) => runTraining(config({ runName: 'stopped' }), io), 11);
  assert.equal(stopped.end.status, 'stopped');
  assert.equal(stopped.end.epochsCompleted, 1);
  // The stop came at the first step check after step 11 (8 steps per epoch): the checkpoint is
  // there, and no step is trained twice.
  const pointer = JSON.parse(fs.readFileSync(path.join(stopped.runDir, 'checkpoints', 'last.json'), 'utf8'));
  const stoppedAt = 8 + pointer.stepInEpoch;
  assert.ok(pointer.epoch === 1 && stoppedAt >= 11 && stoppedAt < 16, JSON.stringify(pointer));
  const resumed = await run((io) => resumeTraining(stopped.runDir, io));
  assert.equal(resumed.end.status, 'completed', resumed.end.reason ?? '');
  const start = resumed.events.find((e) => e.type === 'run-start');
  assert.ok(start?.type === 'run-start');
  assert.deepEqual(start.resumedFrom, { epoch: 1, step: stoppedAt });
  assert.ok(resumed.events.some((e) => e.type === 'log' && e.message.includes(`from its checkpoint ${pointer.stepInEpoch} steps into epoch 2 (step ${stoppedAt})`)));
  const firstStep = resumed.events.find((e) => e.type === 'step');
  assert.ok(firstStep?.type === 'step' && firstStep.step > stoppedAt, 'the resumed session starts after the stop');

  const { events, tornLastLine } = readEvents(stopped.runDir);
  assert.equal(tornLastLine, false);
  assert.equal(events.filter((e) => e.type === 'run-end').length, 2, 'both sessions appended to the same metrics.jsonl');
  assert.deepEqual(runNumbers(currentHistory(events)), runNumbers(completed.events));
  assert.equal(resumed.end.durationSec > stopped.end.durationSec * 0.5, true, 'durations add up over sessions');

  await assert.rejects(resumeTraining(stopped.runDir, { emit: () => {}, stopRequested: () => null }), (e: unknown) =>
    e instanceof NothingToResumeError && /nothing to resume: .* completed all 3 epochs/.test(e.message));
});

test('a trainer killed with SIGKILL in epoch 2 resumes in a new process to the same numbers, bit for bit', async () => {
  const configFile = path.join(runsDir, 'kill.json');
  const bigger = { ...SMALL, data: { ...SMALL.data, synthetic: { ...SMALL.data.synthetic, trainCount: 1200 } }, optimizer: { name: 'sgd' }, batchSize: 16, logEverySteps: 1 };
  fs.writeFileSync(configFile, JSON.stringify(bigger));

  const full = runTrainer(['--config', configFile, '--run-name', 'uninterrupted', '--json']);
  const child = fork(TRAINER, ['--config', configFile, '--run-name', 'killed', '--json'], { silent: true });
  child.stdout!.resume();
  child.stderr!.resume();
  const killedDir = path.join(runsDir, 'killed');
  let lastAtKill: unknown = null;
  child.on('message', (message) => {
    const event = parseTrainerEvent(message);
    if (event.type === 'step' && event.epoch === 2 && lastAtKill === null) {
      lastAtKill = JSON.parse(fs.readFileSync(path.join(killedDir, 'checkpoints', 'last.json'), 'utf8'));
      child.kill('SIGKILL');
    }
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
  assert.equal(signal, 'SIGKILL', `the trainer was killed (exit ${code})`);
  assert.deepEqual((lastAtKill as { epoch: number }).epoch, 1, 'killed after the epoch-1 checkpoint');
  const atKill = readEvents(killedDir).events;
  assert.ok(!atKill.some((e) => e.type === 'epoch' && e.epoch === 2) && !atKill.some((e) => e.type === 'run-end'), 'killed inside epoch 2');
  // What a kill in the middle of a write leaves: part of a line.
  fs.appendFileSync(path.join(killedDir, 'metrics.jsonl'), '{"type":"step","time":17958');
  assert.equal(readEvents(killedDir).tornLastLine, true);

  const resumed = await runTrainer(['resume', killedDir, '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const live = resumed.stdout.trim().split('\n').map((line) => parseTrainerEvent(JSON.parse(line)));
  assert.ok(live.some((e) => e.type === 'log' && /torn line .* it was skipped/.test(e.message)), 'the torn line is reported');
  const start = live.find((e) => e.type === 'run-start');
  assert.ok(start?.type === 'run-start' && start.resumedFrom?.epoch === 1);

  const uninterrupted = await full;
  assert.equal(uninterrupted.code, 0, uninterrupted.stderr);
  const afterResume = readEvents(killedDir);
  assert.equal(afterResume.tornLastLine, false, 'metrics.jsonl is whole again');
  const reference = readEvents(path.join(runsDir, 'uninterrupted')).events;
  const got = runNumbers(currentHistory(afterResume.events));
  assert.equal(got.filter((e) => (e as { type: string }).type === 'epoch').length, 3);
  assert.deepEqual(got, runNumbers(reference));
  const summary = (dir: string) => JSON.parse(fs.readFileSync(path.join(runsDir, dir, 'summary.json'), 'utf8'));
  assert.deepEqual(summary('killed').test, summary('uninterrupted').test);
  assert.equal(summary('killed').status, 'completed');
});

test('resume: nothing to resume in a completed run, a clear error without checkpoints, and bad usage', async () => {
  const done = await runTrainer(['resume', path.join(runsDir, 'uninterrupted')]);
  assert.equal(done.code, 0);
  assert.match(done.stderr, /nothing to resume: .*uninterrupted completed all 3 epochs/);

  const failed = await runTrainer(['--config', path.join(runsDir, 'kill.json'), '--layers', 'conv7', '--run-name', 'no-checkpoint']);
  assert.equal(failed.code, 1);
  const none = await runTrainer(['resume', path.join(runsDir, 'no-checkpoint')]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /cannot resume: .*no-checkpoint has no checkpoint \(checkpoints\/last\.json is missing\): the run ended before its first epoch did/);

  const notARun = await runTrainer(['resume', runsDir]);
  assert.equal(notARun.code, 1);
  assert.match(notARun.stderr, /is not a run folder: config\.json is missing/);
  assert.match((await runTrainer(['resume', path.join(runsDir, 'nope')])).stderr, /no run folder at/);

  for (const [args, message] of [
    [['resume'], /resume: which run\?/],
    [['resume', 'a', 'b'], /one run folder/],
    [['resume', 'a', '--epochs', '5'], /unknown flag --epochs/],
    [['--resume', 'a', '--epochs', '5'], /--resume continues a run with the config it started with/],
  ] as [string[], RegExp][]) {
    const r = await runTrainer(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, message);
  }
  // --resume on train is the same as the resume command.
  const viaFlag = await runTrainer(['--resume', path.join(runsDir, 'uninterrupted')]);
  assert.equal(viaFlag.code, 0);
  assert.match(viaFlag.stderr, /nothing to resume/);
});
