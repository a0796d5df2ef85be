// One writer per run folder, with real trainer processes (dist/trainer.js): while a run trains,
// `resume` (and `dom`) on its folder are refused naming the process, metrics.jsonl keeps one
// run-start, and the extension's view of the folder (status, Delete, the summary it would write
// for a failed trainer) treats it as live; the lock goes with the run. A lock left by kill -9 is
// taken over by the next `resume` (stale, same host); one from another host is refused. Plus the
// lock module itself: exit paths, a reused pid, an unreadable lock.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseEventLines, parseTrainerEvent, type TrainerEvent } from '../../src/shared/protocol';
import { acquireRunLock, inspectRunLock, RUN_LOCK_FILE, RunLockedError } from '../../src/shared/node/run-lock';
import { lockRefusal, mergeRuns } from '../../src/extension/lab/lab-runs';
import { runTreeItem } from '../../src/extension/lab/tree-items';
import { readRun, writeMissingSummary, type RunRecord } from '../../src/extension/runs/run-store';
import { TRAINER, runTrainer } from '../support/trainer-cli';
import { SMALL_RUN } from '../support/small-run';

const ROOT = path.resolve(__dirname, '../..');
const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-lock-'));

/** The checkpoint tests' small run, trained with SGD for two epochs and a step event every step. */
const SMALL = { ...SMALL_RUN, optimizer: { name: 'sgd' }, epochs: 2, seed: 5, logEverySteps: 1, runsDir };

function writeConfig(name: string, patch: Record<string, unknown>): string {
  const file = path.join(runsDir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ ...SMALL, ...patch }));
  return file;
}

/** A forked trainer, and a promise of its first event that `until` accepts. */
function forkTrainer(args: string[], until: (e: TrainerEvent) => boolean): { child: ChildProcess; reached: Promise<void>; exited: Promise<[number | null, NodeJS.Signals | null]> } {
  const child = fork(TRAINER, args, { silent: true });
  child.stdout!.resume();
  child.stderr!.resume();
  const reached = new Promise<void>((resolve) => {
    child.on('message', (message) => {
      if (until(parseTrainerEvent(message))) resolve();
    });
  });
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
  return { child, reached, exited };
}

function events(dir: string): TrainerEvent[] {
  return parseEventLines(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')).events;
}

function count(dir: string, type: TrainerEvent['type']): number {
  return events(dir).filter((e) => e.type === type).length;
}

function record(dir: string): RunRecord {
  const r = readRun(dir);
  assert.ok(r, `${dir} reads as a run`);
  return r;
}

test('while a trainer runs, a second one (resume) and dom are refused naming it, and the extension shows the run live', async () => {
  // Far more epochs than the test waits for: it ends by a stop request.
  const configFile = writeConfig('live', { epochs: 50 });
  const dir = path.join(runsDir, 'live');
  const first = forkTrainer(['--config', configFile, '--run-name', 'live', '--json'], (e) => e.type === 'step');
  await first.reached;

  const lock = inspectRunLock(dir);
  assert.equal(lock.kind, 'held');
  assert.ok(lock.kind === 'held' && lock.owner.pid === first.child.pid && lock.owner.host === os.hostname() && lock.owner.command === 'was-train train');

  const second = await runTrainer(['resume', dir, '--json']);
  assert.equal(second.code, 1, second.stderr);
  assert.match(second.stderr, new RegExp(`cannot resume: .*live is in use by was-train train, pid ${first.child.pid} on host ${os.hostname()}, since \\d{4}-`));
  assert.equal(second.stdout, '', 'the refused trainer reports nothing');
  const dom = await runTrainer(['dom', dir, '--flops-target', '0.7']);
  assert.equal(dom.code, 1);
  assert.match(dom.stderr, new RegExp(`in use by was-train train, pid ${first.child.pid}`));
  assert.equal(count(dir, 'run-start'), 1, 'one run-start: the refused trainer wrote nothing');

  // The extension: another process's live run is running; Delete and Resume refuse it; a failed
  // trainer of this window (the refused resume) leaves no summary in it.
  const [run] = mergeRuns([record(dir)], [], inspectRunLock);
  assert.equal(run.status, 'running');
  assert.equal(run.lockedBy?.pid, first.child.pid);
  assert.match(lockRefusal(run, 'delete') ?? '', new RegExp(`^WAS: cannot delete live: .* in use by was-train train, pid ${first.child.pid}`));
  assert.match(lockRefusal(run, 'resume') ?? '', /^WAS: cannot resume live: /);
  const item = runTreeItem(run, 'aom');
  assert.match(item.description, new RegExp(`^running elsewhere \\(pid ${first.child.pid}`));
  // Issue 15: the menus match it as written elsewhere (no Stop, Resume or Delete here).
  assert.equal(item.contextValue, 'wasRun.elsewhere');
  assert.match(item.tooltip, new RegExp(`Written by another process: was-train train, pid ${first.child.pid} on host`));
  assert.equal(writeMissingSummary(dir, 'failed', 'refused', events(dir)), null);
  assert.equal(fs.existsSync(path.join(dir, 'summary.json')), false);

  first.child.send({ type: 'stop' });
  const [code] = await first.exited;
  assert.equal(code, 0);
  assert.equal(fs.existsSync(path.join(dir, RUN_LOCK_FILE)), false, 'the lock goes with the run');
  assert.equal(count(dir, 'run-start'), 1);
  assert.equal(count(dir, 'run-end'), 1);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')).status, 'stopped');
  const [after] = mergeRuns([record(dir)], [], inspectRunLock);
  assert.equal(after.status, 'stopped');
  assert.equal(after.lockedBy, undefined);
  assert.equal(lockRefusal(after, 'delete'), null);
});

test('a lock left by kill -9 is stale: the run is not shown live, and resume takes it over and completes', async () => {
  const configFile = writeConfig('killed', {});
  const dir = path.join(runsDir, 'killed');
  const trainer = forkTrainer(['--config', configFile, '--run-name', 'killed', '--json'], (e) => e.type === 'step' && e.epoch === 2);
  await trainer.reached;
  trainer.child.kill('SIGKILL');
  const [, signal] = await trainer.exited;
  assert.equal(signal, 'SIGKILL');
  const left = inspectRunLock(dir);
  assert.equal(left.kind, 'stale');
  assert.ok(left.kind === 'stale' && left.owner.pid === trainer.child.pid && /is gone/.test(left.why));
  const [run] = mergeRuns([record(dir)], [], inspectRunLock);
  assert.equal(run.status, 'incomplete');
  assert.equal(lockRefusal(run, 'resume'), null);

  const resumed = await runTrainer(['resume', dir, '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const said = resumed.stdout.trim().split('\n').map((line) => parseTrainerEvent(JSON.parse(line)));
  assert.ok(
    said.some((e) => e.type === 'log' && new RegExp(`took over the stale lock of .*killed: was-train train, pid ${trainer.child.pid} on host .*, process ${trainer.child.pid} is gone`).test(e.message)),
    'the take-over is logged',
  );
  assert.equal(fs.existsSync(path.join(dir, RUN_LOCK_FILE)), false);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')).status, 'completed');
});

test('a lock from another host is refused (for its baseline part too), naming the host, pid and time and how to remove it; it is kept', async () => {
  const dir = path.join(runsDir, 'elsewhere');
  fs.mkdirSync(dir);
  // A run folder's config.json, as the trainer writes it (the extension lists only those as runs).
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ runId: 'elsewhere', createdAt: '2026-12-01T10:00:00.000Z', config: { model: 'lenet' } }) + '\n');
  const owner = { pid: 4242, host: 'gpu-box.example', startedAt: '2026-12-01T10:00:00.000Z', command: 'was-train resume', processStart: '123' };
  fs.writeFileSync(path.join(dir, RUN_LOCK_FILE), JSON.stringify(owner));

  const refused = await runTrainer(['resume', dir]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /cannot resume: .*elsewhere is locked by was-train resume, pid 4242 on host gpu-box\.example, since 2026-12-01T10:00:00\.000Z, which cannot be checked from this host; if no was-train is running on gpu-box\.example for it, delete .*run\.lock/);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, RUN_LOCK_FILE), 'utf8')), owner, 'the lock is left as it was');
  // Its baseline part is written by the same trainer.
  fs.mkdirSync(path.join(dir, 'baseline'));
  fs.writeFileSync(path.join(dir, 'baseline', 'config.json'), '{}\n');
  const part = await runTrainer(['resume', path.join(dir, 'baseline')]);
  assert.equal(part.code, 1);
  assert.match(part.stderr, /cannot resume: .*elsewhere is locked by was-train resume, pid 4242 on host gpu-box\.example/);
  assert.equal(fs.existsSync(path.join(dir, 'baseline', RUN_LOCK_FILE)), false);

  const [run] = mergeRuns([record(dir)], [], inspectRunLock);
  assert.equal(run.status, 'running');
  assert.equal(run.lockedBy?.host, 'gpu-box.example');
  assert.match(lockRefusal(run, 'delete') ?? '', /cannot delete elsewhere: .*gpu-box\.example/);
});

test('a failed run leaves no lock', async () => {
  const failed = await runTrainer(['--config', writeConfig('bad', {}), '--layers', 'conv7', '--run-name', 'bad-layers']);
  assert.equal(failed.code, 1);
  assert.equal(fs.existsSync(path.join(runsDir, 'bad-layers')), true);
  assert.equal(fs.existsSync(path.join(runsDir, 'bad-layers', RUN_LOCK_FILE)), false);
});

test('the lock: one holder per folder, released once, and on an uncaught error or process.exit', async () => {
  const dir = fs.mkdtempSync(path.join(runsDir, 'unit-'));
  const lock = acquireRunLock(dir, 'test');
  assert.throws(() => acquireRunLock(dir, 'test again'), (e: unknown) => e instanceof RunLockedError && e.state.kind === 'held' && /in use by test, pid \d+/.test(e.message));
  lock.release();
  lock.release();
  assert.equal(inspectRunLock(dir).kind, 'free');
  assert.deepEqual(fs.readdirSync(dir), [], 'no temporary file is left');

  for (const ending of ['setTimeout(() => { throw new Error("boom"); })', 'process.exit(3)']) {
    const script = `const { acquireRunLock } = require(${JSON.stringify(path.join(ROOT, 'src/shared/node/run-lock.ts'))}); acquireRunLock(${JSON.stringify(dir)}, 'script'); ${ending};`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.notEqual(code, 0, ending);
    assert.equal(inspectRunLock(dir).kind, 'free', `released after ${ending}`);
  }
});

test('the lock: a reused pid makes it stale; an unreadable lock is refused and left alone', async () => {
  const dir = fs.mkdtempSync(path.join(runsDir, 'unit-'));
  const file = path.join(dir, RUN_LOCK_FILE);
  // A live process of this host whose start time is not the one the lock recorded: the pid was reused.
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    fs.writeFileSync(file, JSON.stringify({ pid: sleeper.pid, host: os.hostname(), startedAt: new Date().toISOString(), command: 'old', processStart: '1' }));
    const state = inspectRunLock(dir);
    if (fs.existsSync('/proc/self/stat')) assert.ok(state.kind === 'stale' && /now belongs to another process/.test(state.why), JSON.stringify(state));
    else assert.equal(state.kind, 'held');
  } finally {
    sleeper.kill();
  }

  fs.writeFileSync(file, '{"pid": "not a number"');
  const unreadable = inspectRunLock(dir);
  assert.equal(unreadable.kind, 'unreadable');
  assert.throws(() => acquireRunLock(dir, 'test'), (e: unknown) => e instanceof RunLockedError && /has a lock that cannot be read .*; if no was-train is using that folder, delete .*run\.lock/.test(e.message));
  assert.equal(fs.readFileSync(file, 'utf8'), '{"pid": "not a number"', 'an unreadable lock is not touched');
});

test('the lock: of writers racing for one stale lock, one gets it, the others are refused, nothing is left behind', async () => {
  const dir = fs.mkdtempSync(path.join(runsDir, 'unit-'));
  const go = path.join(runsDir, `go-${path.basename(dir)}`);
  const gone = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => gone.on('exit', resolve));
  fs.writeFileSync(path.join(dir, RUN_LOCK_FILE), JSON.stringify({ pid: gone.pid, host: os.hostname(), startedAt: new Date().toISOString(), command: 'killed', processStart: null }));
  assert.equal(inspectRunLock(dir).kind, 'stale');
  // The writers start together (when the go file appears); the one that gets it holds it a while.
  const script = `const fs = require('node:fs'); const { acquireRunLock } = require(${JSON.stringify(path.join(ROOT, 'src/shared/node/run-lock.ts'))});
    console.log('ready');
    const timer = setInterval(() => {
      if (!fs.existsSync(${JSON.stringify(go)})) return;
      clearInterval(timer);
      try { const lock = acquireRunLock(${JSON.stringify(dir)}, 'racer'); setTimeout(() => { lock.release(); console.log('got'); }, 1000); }
      catch (e) { console.log(e.name === 'RunLockedError' ? 'refused' : 'error ' + e.message); }
    }, 2);`;
  const racers = Array.from({ length: 4 }, () => spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT }));
  let ready = 0;
  const said = racers.map((child) => new Promise<string>((resolve) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      if (String(d).includes('ready') && ++ready === racers.length) fs.writeFileSync(go, '');
    });
    child.on('close', () => resolve(out.replace('ready', '').trim()));
  }));
  const outcomes = await Promise.all(said);
  assert.deepEqual([...outcomes].sort(), ['got', 'refused', 'refused', 'refused'], outcomes.join(', '));
  assert.equal(inspectRunLock(dir).kind, 'free');
  assert.deepEqual(fs.readdirSync(dir), [], 'no temporary or moved-aside file is left');
});
