// was-train as a real process (dist/trainer.js, built by `npm test`): exit codes, JSON events on
// stdout, SIGTERM, and the IPC channel the extension uses (events up, stop down).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseTrainerEvent, type TrainerEvent } from '../../src/shared/protocol';
import { TRAINER, runTrainer } from '../support/trainer-cli';

const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-cli-'));
const SMALL = [
  '--model', 'small-cnn', '--dataset', 'synthetic', '--validation-size', '64', '--batch-size', '32',
  '--seed', '1', '--backend', 'wasm', '--runs-dir', runsDir, '--log-every', '1',
];
/** Long enough to be stopped in the middle. */
const LONG = [...SMALL, '--epochs', '50'];

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

test('the trainer bundle exists (npm run build)', () => {
  assert.ok(fs.existsSync(TRAINER), `${TRAINER} missing: run npm run build`);
});

test('--help prints usage and exits 0', async () => {
  const { code, stdout } = await runTrainer(['--help']);
  assert.equal(code, 0);
  assert.match(stdout, /^Usage: was-train/);
  assert.match(stdout, /--transform/);
});

test('bad flags exit with status 2 and a clear message', async () => {
  for (const [args, message] of [
    [['--epochs', 'many'], /was-train: --epochs: "many" is not a number/],
    [['--frobnicate'], /was-train: unknown flag --frobnicate/],
    [['--model', 'alexnet'], /was-train: --model \(model\): expected one of/],
    [['--config', path.join(runsDir, 'missing.json')], /was-train: cannot read config file/],
  ] as [string[], RegExp][]) {
    const { code, stderr } = await runTrainer(args);
    assert.equal(code, 2, args.join(' '));
    assert.match(stderr, message);
  }
});

test('--flops-target 0: one rule (the config\'s) refuses it in train, dom and export alike (issue 14, finding 7)', async () => {
  const train = await runTrainer([...SMALL, '--epochs', '1', '--flops-target', '0', '--run-name', 'flops-zero']);
  assert.equal(train.code, 2);
  assert.match(train.stderr, /was-train: --flops-target \(dom.flopsTarget\): must be above 0, got 0/);
  assert.equal(fs.existsSync(path.join(runsDir, 'flops-zero')), false);
  for (const command of ['dom', 'export']) {
    const extra = command === 'export' ? ['--mode', 'dom'] : [];
    const { code, stderr } = await runTrainer([command, path.join(runsDir, 'any'), ...extra, '--flops-target', '0']);
    assert.equal(code, 2, command);
    assert.match(stderr, /--flops-target must be a fraction in \(0, 1\] such as 0.7 \(or 70%\), got "0" \(must be above 0, got 0\)/, command);
  }
});

test('bad and taken run names: a clear message and an exit status, never an internal error (issue 14, finding 5)', async () => {
  const bad = await runTrainer([...SMALL, '--epochs', '1', '--run-name', '../outside']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^was-train: --run-name \(runName\): run name "..\/outside" may only hold letters, digits, '.', '_' and '-'\n$/);
  fs.mkdirSync(path.join(runsDir, 'taken'));
  const taken = await runTrainer([...SMALL, '--epochs', '1', '--run-name', 'taken']);
  assert.equal(taken.code, 1);
  assert.match(taken.stderr, /^was-train: run folder .*taken already exists; choose another run name or remove it\n$/);
  assert.deepEqual(fs.readdirSync(path.join(runsDir, 'taken')), [], 'nothing written into the other run');
});

test('--json prints one valid event per line; a completed run exits 0', async () => {
  const { code, stdout } = await runTrainer([...SMALL, '--epochs', '1', '--json']);
  assert.equal(code, 0);
  const events = stdout.trim().split('\n').map((line) => parseTrainerEvent(JSON.parse(line)));
  assert.equal(events[0].type === 'log' || events[0].type === 'phase', true);
  assert.ok(events.some((e) => e.type === 'run-start'));
  const end = events.at(-1);
  assert.ok(end?.type === 'run-end' && end.status === 'completed');
});

test('a failing run exits 1 and leaves a summary saying why', async () => {
  const { code, stdout } = await runTrainer([...SMALL, '--epochs', '1', '--layers', 'conv7', '--run-name', 'fails']);
  assert.equal(code, 1);
  assert.match(stdout, /unknown layer 'conv7'/);
  const summary = JSON.parse(fs.readFileSync(path.join(runsDir, 'fails', 'summary.json'), 'utf8'));
  assert.equal(summary.status, 'failed');
});

test('SIGTERM stops the run at a step boundary: status stopped, exit 0, metrics kept', async () => {
  const child = spawn(process.execPath, [TRAINER, ...LONG, '--json', '--run-name', 'sigterm']);
  let buffer = '';
  let signalled = false;
  child.stdout.on('data', (d) => {
    buffer += d;
    if (!signalled && buffer.includes('"type":"step"')) {
      signalled = true;
      child.kill('SIGTERM');
    }
  });
  assert.equal(await exited(child), 0);
  const summary = JSON.parse(fs.readFileSync(path.join(runsDir, 'sigterm', 'summary.json'), 'utf8'));
  assert.equal(summary.status, 'stopped');
  assert.equal(summary.reason, 'SIGTERM received');
  assert.match(fs.readFileSync(path.join(runsDir, 'sigterm', 'metrics.jsonl'), 'utf8'), /"type":"step"/);
});

test('forked with IPC: events arrive as messages, malformed commands are ignored, stop ends the run', async () => {
  const child = fork(TRAINER, [...LONG, '--run-name', 'ipc'], { silent: true });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.resume();
  const events: TrainerEvent[] = [];
  child.on('message', (message) => {
    const event = parseTrainerEvent(message);
    events.push(event);
    if (event.type === 'step' && event.step === 1) {
      child.send({ type: 'explode' });
      child.send({ type: 'stop' });
    }
  });
  assert.equal(await exited(child), 0);
  const end = events.at(-1);
  assert.ok(end?.type === 'run-end', 'the last message is run-end');
  assert.equal(end.status, 'stopped');
  assert.equal(end.reason, 'stop requested by the parent process');
  assert.ok(events.some((e) => e.type === 'run-start'));
  assert.match(stderr, /ignored a malformed message from the parent: command.type: expected one of stop/);
});
