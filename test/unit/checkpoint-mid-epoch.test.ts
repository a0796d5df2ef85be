// Mid-epoch checkpoints (config checkpointMinutes), for real: a trainer process killed with
// SIGKILL inside epoch 1, after a checkpoint taken there, resumes in a new process and ends with
// the same numbers, bit for bit, as the same run never interrupted and never checkpointed inside
// an epoch; it redoes only the steps after that checkpoint. In one process: a stop inside epoch 2
// after a mid-epoch checkpoint, `last` and `best` beside it, and the sweep at the next epoch's end.
// The interval is a fraction of a minute (a real setting, no test-only hook): where the
// checkpoints land depends on the machine's speed, so the tests read where they landed.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TrainConfig } from '../../src/shared/config';
import { fsyncDirectory } from '../../src/shared/node/atomic-file';
import { currentHistory, parseEventLines, parseTrainerEvent, type TrainerEvent } from '../../src/shared/protocol';
import { selectBackend } from '../../src/trainer/backend/select';
import { CheckpointError, loadCheckpoint } from '../../src/trainer/train/checkpoint';
import { resumeTraining, runTraining } from '../../src/trainer/train/session';
import { runNumbers } from '../support/run-numbers';
import { TRAINER, runTrainer } from '../support/trainer-cli';
import { SMALL_RUN, smallRunConfig } from '../support/small-run';

const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-mid-epoch-'));

const SMALL = { ...SMALL_RUN, logEverySteps: 3, runsDir };

function config(patch: Record<string, unknown>): TrainConfig {
  return smallRunConfig(runsDir, { logEverySteps: 3 }, patch);
}

function readEvents(runDir: string): TrainerEvent[] {
  return parseEventLines(fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')).events;
}

function readPointer(runDir: string): { epoch: number; stepInEpoch?: number; dir: string; version: number } {
  return JSON.parse(fs.readFileSync(path.join(runDir, 'checkpoints', 'last.json'), 'utf8'));
}

before(async () => {
  await selectBackend('wasm', { searchPaths: [] });
});

test('a trainer killed with SIGKILL inside epoch 1 resumes from its mid-epoch checkpoint to the same numbers, bit for bit', async () => {
  const configFile = path.join(runsDir, 'kill.json');
  // 71 steps per epoch; the killed run checkpoints every 0.12 s of training, the reference only at epoch ends.
  const bigger = { ...SMALL, data: { ...SMALL.data, synthetic: { ...SMALL.data.synthetic, trainCount: 1200 } }, optimizer: { name: 'sgd' }, batchSize: 16, epochs: 2, logEverySteps: 1 };
  fs.writeFileSync(configFile, JSON.stringify(bigger));

  const full = runTrainer(['--config', configFile, '--run-name', 'uninterrupted', '--checkpoint-minutes', '0', '--json']);
  const child = fork(TRAINER, ['--config', configFile, '--run-name', 'killed', '--checkpoint-minutes', '0.002', '--json'], { silent: true });
  child.stdout!.resume();
  child.stderr!.resume();
  const killedDir = path.join(runsDir, 'killed');
  child.on('message', (message) => {
    const event = parseTrainerEvent(message);
    if (event.type !== 'step' || event.epoch !== 1 || child.killed) return;
    // Killed at the first step after a checkpoint has landed inside epoch 1.
    const pointer = path.join(killedDir, 'checkpoints', 'last.json');
    if (fs.existsSync(pointer) && readPointer(killedDir).stepInEpoch !== undefined) child.kill('SIGKILL');
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
  assert.equal(signal, 'SIGKILL', `the trainer was killed (exit ${code})`);

  // What the kill left: a version-2 pointer to a checkpoint inside epoch 1, and no epoch ended.
  const pointer = readPointer(killedDir);
  const stepInEpoch = pointer.stepInEpoch!;
  assert.equal(pointer.version, 2);
  assert.equal(pointer.epoch, 0, 'no epoch had ended');
  assert.ok(stepInEpoch >= 1 && stepInEpoch < 71, `inside epoch 1 (step ${stepInEpoch})`);
  assert.equal(pointer.dir, `epoch-0001-step-${String(stepInEpoch).padStart(6, '0')}`);
  // Besides them at most what a kill in the middle of the next save leaves: a temp folder or file, or a folder not yet named by the pointer.
  const entries = fs.readdirSync(path.join(killedDir, 'checkpoints'));
  assert.ok(entries.includes(pointer.dir) && entries.includes('last.json'), entries.join(', '));
  for (const entry of entries.filter((e) => e !== pointer.dir && e !== 'last.json')) assert.match(entry, /^\.tmp-|\.tmp$|^epoch-0001-step-\d{6}$/);
  const atKill = readEvents(killedDir);
  assert.ok(!atKill.some((e) => e.type === 'epoch' || e.type === 'run-end'), 'killed inside epoch 1');
  const stepsAtKill = Math.max(...atKill.map((e) => (e.type === 'step' ? e.step : 0)));
  assert.ok(stepsAtKill >= stepInEpoch);

  // Inside epoch 1 there is no `last` (end-of-epoch) checkpoint to evaluate or export yet.
  await assert.rejects(loadCheckpoint(killedDir, 'last'), (e: unknown) => e instanceof CheckpointError && e.code === 'missing' && /no epoch has ended yet/.test(e.message));
  const saved = await loadCheckpoint(killedDir, 'resume');
  assert.equal(saved.manifest.version, 2);
  assert.equal(saved.manifest.training.step, stepInEpoch);
  assert.equal(saved.manifest.training.inEpoch?.steps, stepInEpoch);
  assert.equal(saved.manifest.training.inEpoch?.seen, 16 * stepInEpoch);

  const resumed = await runTrainer(['resume', killedDir, '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const live = resumed.stdout.trim().split('\n').map((line) => parseTrainerEvent(JSON.parse(line)));
  assert.ok(live.some((e) => e.type === 'log' && e.message.includes(`from its checkpoint ${stepInEpoch} steps into epoch 1 (step ${stepInEpoch})`)), 'the resume says where it continues');
  const start = live.find((e) => e.type === 'run-start');
  assert.ok(start?.type === 'run-start');
  assert.deepEqual(start.resumedFrom, { epoch: 0, step: stepInEpoch });
  // Only the steps after the checkpoint are trained again (logEverySteps 1: one event per step).
  const redone = live.filter((e) => e.type === 'step');
  assert.equal(redone[0]?.type === 'step' && redone[0].step, stepInEpoch + 1, 'the resumed session starts at the step after the checkpoint');
  assert.equal(redone.length, 2 * 71 - stepInEpoch);

  const uninterrupted = await full;
  assert.equal(uninterrupted.code, 0, uninterrupted.stderr);
  const reference = readEvents(path.join(runsDir, 'uninterrupted'));
  const got = runNumbers(currentHistory(readEvents(killedDir)));
  assert.equal(got.filter((e) => (e as { type: string }).type === 'step').length, 2 * 71, 'every step once in the history');
  assert.deepEqual(got, runNumbers(reference));
  const summary = (dir: string) => JSON.parse(fs.readFileSync(path.join(runsDir, dir, 'summary.json'), 'utf8'));
  assert.deepEqual(summary('killed').test, summary('uninterrupted').test);
  assert.equal(summary('killed').status, 'completed');
  // The mid-epoch checkpoint is swept once an epoch ends after it.
  assert.ok(fs.readdirSync(path.join(killedDir, 'checkpoints')).every((e) => e === 'last.json' || /^epoch-\d{4}$/.test(e)));
});

test('stopped inside epoch 2 after a mid-epoch checkpoint: last and best stay the epoch-1 ends, and the resume matches the run never stopped', async () => {
  const reference = await runTraining(config({ runName: 'reference', checkpointMinutes: 0 }), { emit: () => {}, stopRequested: () => null });
  assert.equal(reference.end.status, 'completed', reference.end.reason ?? '');

  // A checkpoint at (nearly) every step; the stop comes at step 11, the 3rd of epoch 2 (8 steps per epoch).
  let step = 0;
  const stopped = await runTraining(config({ runName: 'stopped', checkpointMinutes: 1e-9 }), {
    emit: (e) => void (e.type === 'step' && (step = e.step)),
    stopRequested: () => (step >= 11 ? 'test stop' : null),
  });
  assert.equal(stopped.end.status, 'stopped');
  const pointer = readPointer(stopped.runDir);
  assert.equal(pointer.epoch, 1);
  assert.ok(pointer.stepInEpoch !== undefined && pointer.stepInEpoch >= 1 && pointer.stepInEpoch <= 3, JSON.stringify(pointer));
  const entries = fs.readdirSync(path.join(stopped.runDir, 'checkpoints')).sort();
  assert.deepEqual(entries, ['epoch-0001', pointer.dir, 'last.json'].sort(), 'the pointer\'s, and epoch 1 as last and best');
  const last = await loadCheckpoint(stopped.runDir, 'last');
  const best = await loadCheckpoint(stopped.runDir, 'best');
  for (const c of [last, best]) {
    assert.equal(path.basename(c.dir), 'epoch-0001');
    assert.equal(c.manifest.training.inEpoch, null);
    assert.equal(c.manifest.version, 1, 'end-of-epoch checkpoints stay version 1');
  }

  const events: TrainerEvent[] = [];
  const resumed = await resumeTraining(stopped.runDir, { emit: (e) => void events.push(e), stopRequested: () => null });
  assert.equal(resumed.end.status, 'completed', resumed.end.reason ?? '');
  const start = events.find((e) => e.type === 'run-start');
  assert.ok(start?.type === 'run-start');
  assert.deepEqual(start.resumedFrom, { epoch: 1, step: 8 + pointer.stepInEpoch });
  assert.deepEqual(runNumbers(currentHistory(readEvents(stopped.runDir))), runNumbers(readEvents(reference.runDir)));
});

test('a damaged mid-epoch pointer is refused with an error that names the file', async () => {
  const dir = path.join(runsDir, 'killed');
  const copy = path.join(runsDir, 'damaged');
  fs.cpSync(dir, copy, { recursive: true });
  const file = path.join(copy, 'checkpoints', 'last.json');
  const write = (pointer: unknown) => fs.writeFileSync(file, JSON.stringify(pointer));
  const expectCorrupt = (message: RegExp) =>
    assert.rejects(loadCheckpoint(copy, 'resume'), (e: unknown) => e instanceof CheckpointError && e.code === 'corrupt' && message.test(e.message));
  const base = { format: 'was-lab-checkpoint-pointer', version: 2, epoch: 1, stepInEpoch: 5, dir: 'epoch-0002-step-000005' };
  write({ ...base, dir: 'epoch-0002-step-000006' });
  await expectCorrupt(/last\.json is corrupt: dir: expected "epoch-0002-step-000005" for epoch 1, step 5/);
  write({ ...base, stepInEpoch: 0 });
  await expectCorrupt(/last\.json is corrupt: stepInEpoch/);
  write({ ...base, version: 1, epoch: 0 });
  await expectCorrupt(/last\.json is corrupt: epoch/);
  write({ ...base, version: 3 });
  await expectCorrupt(/newer than this tool reads/);
});

test('fsyncDirectory flushes a folder, and says nothing where there is nothing to flush', () => {
  const dir = fs.mkdtempSync(path.join(runsDir, 'sync-'));
  fs.writeFileSync(path.join(dir, 'f'), 'x');
  fsyncDirectory(dir);
  assert.throws(() => fsyncDirectory(path.join(dir, 'missing')), /ENOENT/);
});
