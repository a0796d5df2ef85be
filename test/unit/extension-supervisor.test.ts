// The extension's process supervision with the REAL trainer (dist/trainer.js, built by
// `npm test`) forked over IPC, exactly as the extension host does it: a run that completes, one
// killed with SIGKILL, a clean stop, a stop that times out and is killed, the queue limit, bad
// flags, a runtime that cannot start. No VS Code: the supervisor does not touch its API.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunEndEvent, RunStartEvent, TrainerEvent } from '../../src/shared/protocol';
import { resumeJob } from '../../src/extension/runs/job-specs';
import { runProgress } from '../../src/extension/lab/run-progress';
import { SETTING_DEFAULTS } from '../../src/extension/runs/settings';
import { readRun, readRunEvents } from '../../src/extension/runs/run-store';
import { TrainerSupervisor, type Job, type JobSpec } from '../../src/extension/runs/supervisor';
import { classifyExit } from '../../src/extension/runs/trainer-process';

const TRAINER = path.resolve(__dirname, '../../dist/trainer.js');
const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-supervisor-'));
const SMALL = ['--model', 'small-cnn', '--dataset', 'synthetic', '--validation-size', '64', '--batch-size', '32', '--seed', '1', '--backend', 'wasm', '--runs-dir', runsDir, '--log-every', '1', '--plain'];

function spec(runId: string, extra: string[]): JobSpec {
  return {
    runId,
    runDir: path.join(runsDir, runId),
    runsDir,
    title: `test ${runId}`,
    model: 'small-cnn',
    dataset: 'synthetic',
    transform: 'shift',
    launch: { trainerPath: TRAINER, args: ['train', ...SMALL, '--run-name', runId, ...extra], cwd: runsDir },
  };
}

function supervisor(options: { maxConcurrent?: number; stopTimeoutMs?: number } = {}): { sup: TrainerSupervisor; log: string[] } {
  const log: string[] = [];
  const sup = new TrainerSupervisor({ maxConcurrent: () => options.maxConcurrent ?? 2, stopTimeoutMs: () => options.stopTimeoutMs ?? 30_000, log: (l) => log.push(l) });
  return { sup, log };
}

/** Resolves when the job leaves the active states. */
function ended(sup: TrainerSupervisor, job: Job): Promise<Job> {
  return new Promise((resolve) => {
    const check = (): boolean => ['completed', 'stopped', 'failed'].includes(job.state);
    if (check()) return resolve(job);
    const sub = sup.onDidChangeJob((j) => {
      if (j === job && check()) {
        sub.dispose();
        resolve(job);
      }
    });
  });
}

/** Calls `fn` once, at the first event of the job that matches. */
function onFirstEvent(sup: TrainerSupervisor, runId: string, match: (event: TrainerEvent) => boolean, fn: (job: Job) => void): void {
  const sub = sup.onDidReceiveEvent(({ job, event }) => {
    if (job.runId === runId && match(event)) {
      sub.dispose();
      fn(job);
    }
  });
}

test('the trainer bundle exists (npm run build)', () => {
  assert.ok(fs.existsSync(TRAINER), `${TRAINER} missing: run npm run build`);
});

test('a forked trainer runs to completion: events over IPC, output lines logged, status completed', async () => {
  const { sup, log } = supervisor();
  const job = sup.enqueue(spec('completes', ['--epochs', '1', '--max-steps-per-epoch', '2']));
  assert.equal(job.state, 'starting');
  await ended(sup, job);
  assert.equal(job.state, 'completed', job.reason ?? '');
  assert.equal(job.reason, null);
  const types = job.events.map((e) => e.type);
  assert.ok(types.includes('run-start') && types.includes('epoch'));
  assert.equal(types.at(-1), 'run-end');
  assert.ok(log.some((l) => l.startsWith('[completes] epoch 1 done')), 'the trainer\'s --plain lines reach the log');
  assert.equal(readRun(job.spec.runDir)?.status, 'completed');
  sup.dispose();
});

test('kill -9 during training: the run is failed with the reason, summary.json says so, and the supervisor keeps working', async () => {
  const { sup } = supervisor();
  const job = sup.enqueue(spec('killed', ['--epochs', '50']));
  onFirstEvent(sup, 'killed', (e) => e.type === 'step', (j) => process.kill(j.process!.pid!, 'SIGKILL'));
  await ended(sup, job);
  assert.equal(job.state, 'failed');
  assert.match(job.reason ?? '', /killed by SIGKILL/);
  const record = readRun(job.spec.runDir)!;
  assert.equal(record.status, 'failed', 'the supervisor wrote the missing summary.json');
  assert.match(record.reason ?? '', /SIGKILL/);
  // Still accepts and runs work afterwards.
  const next = sup.enqueue(spec('after-kill', ['--epochs', '1', '--max-steps-per-epoch', '1']));
  await ended(sup, next);
  assert.equal(next.state, 'completed', next.reason ?? '');
  sup.dispose();
});

test('stop sends {type: stop}: the trainer ends cleanly as stopped, with its metrics kept', async () => {
  const { sup } = supervisor();
  const job = sup.enqueue(spec('stopped', ['--epochs', '50']));
  await new Promise<void>((resolve) => onFirstEvent(sup, 'stopped', (e) => e.type === 'step', () => void sup.stop('stopped').then(resolve)));
  assert.equal(job.state, 'stopped', 'settled when stop() returns');
  assert.equal(job.reason, 'stop requested by the parent process');
  assert.equal(job.exit?.code, 0);
  assert.equal(readRun(job.spec.runDir)?.status, 'stopped');
  sup.dispose();
});

test('a trainer that does not stop within the timeout is killed and marked failed', async () => {
  // Stop requests are honoured at step boundaries only; asked during the evaluation phase (which
  // recalibrates and evaluates two modes, far longer than 20 ms), the trainer cannot answer in time.
  const { sup, log } = supervisor({ stopTimeoutMs: 20 });
  const job = sup.enqueue(spec('stubborn', ['--epochs', '50', '--max-steps-per-epoch', '1', '--validation-size', '256']));
  onFirstEvent(sup, 'stubborn', (e) => e.type === 'phase' && e.phase === 'evaluating', () => void sup.stop('stubborn'));
  await ended(sup, job);
  assert.equal(job.state, 'failed');
  assert.equal(job.reason, 'did not stop within 20 ms of the stop request; killed');
  assert.equal(job.exit?.signal, 'SIGKILL');
  assert.ok(log.some((l) => l.includes('[stubborn] stop requested')));
  assert.equal(readRun(job.spec.runDir)?.status, 'failed');
  sup.dispose();
});

test('queue: never more than maxConcurrent trainers; a queued run can be removed; the next starts when one ends', async () => {
  const { sup } = supervisor({ maxConcurrent: 1 });
  let most = 0;
  sup.onDidChangeJob(() => (most = Math.max(most, sup.runningCount)));
  const a = sup.enqueue(spec('queue-a', ['--epochs', '50']));
  const b = sup.enqueue(spec('queue-b', ['--epochs', '1', '--max-steps-per-epoch', '1']));
  const c = sup.enqueue(spec('queue-c', ['--epochs', '1', '--max-steps-per-epoch', '1']));
  assert.deepEqual([a.state, b.state, c.state], ['starting', 'queued', 'queued']);
  assert.throws(() => sup.enqueue(spec('queue-a', [])), /run queue-a is already starting/, 'an active run id cannot be queued twice');
  await sup.stop('queue-c');
  assert.equal(c.state, 'stopped');
  assert.equal(c.reason, 'removed from the queue before it started');
  assert.equal(c.process, null, 'a removed queued run never forks');
  onFirstEvent(sup, 'queue-a', (e) => e.type === 'step', () => void sup.stop('queue-a'));
  await ended(sup, a);
  assert.equal(a.state, 'stopped');
  assert.notEqual(b.state, 'queued', 'b starts once a has ended');
  await ended(sup, b);
  assert.equal(b.state, 'completed', b.reason ?? '');
  assert.equal(most, 1);
  sup.dispose();
});

test('bad flags: exit 2 becomes a failed run naming the flag', async () => {
  const { sup } = supervisor();
  const job = sup.enqueue(spec('bad-flags', ['--epochs', 'many']));
  await ended(sup, job);
  assert.equal(job.state, 'failed');
  assert.equal(job.exit?.code, 2);
  assert.match(job.reason ?? '', /^bad training options: --epochs: "many" is not a number/);
  sup.dispose();
});

/** A folder left by a run that never ended (killed, or live elsewhere): metrics and no summary. */
function unfinishedRun(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const metrics = '{"type":"log","time":1,"level":"info","message":"someone else\'s run"}\n';
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), metrics);
  return metrics;
}

/** A V8 stack frame ("at f (file.js:1:2)"), which is no reason. */
const STACK_FRAME = /\bat \S.*:\d+:\d+/;

test('a run name taken by an unfinished run (issue 14, findings 2 and 5): the trainer refuses it, the job fails with its message, the folder is left alone', async () => {
  const { sup } = supervisor();
  const metrics = unfinishedRun(path.join(runsDir, 'taken'));
  const job = sup.enqueue(spec('taken', ['--epochs', '1']));
  await ended(sup, job);
  assert.equal(job.state, 'failed');
  assert.equal(job.exit?.code, 1);
  assert.match(job.reason ?? '', /^the trainer exited with status 1: run folder .*taken already exists; choose another run name or remove it$/);
  assert.doesNotMatch(job.reason ?? '', STACK_FRAME);
  assert.equal(fs.existsSync(path.join(runsDir, 'taken', 'summary.json')), false, 'no summary written over a run this job did not create');
  assert.equal(fs.readFileSync(path.join(runsDir, 'taken', 'metrics.jsonl'), 'utf8'), metrics);
  sup.dispose();
});

test('a run name that leaves the runs folder (issue 14, findings 2 and 5): bad options naming the rule; nothing written outside', async () => {
  const { sup } = supervisor();
  const victim = path.join(path.dirname(runsDir), `${path.basename(runsDir)}-victim`);
  const metrics = unfinishedRun(victim);
  const name = `../${path.basename(victim)}`;
  const s = spec('escapes', []);
  const job = sup.enqueue({ ...s, runDir: victim, launch: { ...s.launch, args: ['train', ...SMALL, '--epochs', '1', '--run-name', name] } });
  await ended(sup, job);
  assert.equal(job.state, 'failed');
  assert.match(job.reason ?? '', /^bad training options: --run-name \(runName\): run name ".*" may only hold letters, digits, '.', '_' and '-'$/);
  assert.deepEqual(fs.readdirSync(victim), ['metrics.jsonl'], 'no summary.json outside the runs folder');
  assert.equal(fs.readFileSync(path.join(victim, 'metrics.jsonl'), 'utf8'), metrics);
  sup.dispose();
});

test('the supervisor writes a missing summary only inside the runs folder, even for a run its trainer announced', async () => {
  const { sup, log } = supervisor();
  const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'was-elsewhere-'));
  // The spec says runs live in `elsewhere`: the folder the trainer writes (in runsDir) is outside it.
  const job = sup.enqueue({ ...spec('outside', ['--epochs', '50']), runsDir: elsewhere });
  onFirstEvent(sup, 'outside', (e) => e.type === 'step', (j) => process.kill(j.process!.pid!, 'SIGKILL'));
  await ended(sup, job);
  assert.match(job.reason ?? '', /killed by SIGKILL/);
  assert.equal(fs.existsSync(path.join(runsDir, 'outside', 'summary.json')), false);
  assert.ok(log.some((l) => /could not write summary.json: .*outside.summary.json is not inside the runs folder/.test(l)), log.join('\n'));
  sup.dispose();
});

test('an internal error: the saved reason is its message, not the stack frames under it (issue 14, finding 5)', async () => {
  const { sup } = supervisor();
  // What cli.ts prints for an error nothing caught, from a real process with a real (deep) stack.
  const script = path.join(runsDir, 'internal-error.js');
  fs.writeFileSync(script, [
    'function deep(n) { if (n === 0) throw new Error("disk on fire"); deep(n - 1); }',
    'try { deep(12); } catch (e) { process.stderr.write("was-train: internal error: " + e.stack + "\\n"); process.exitCode = 1; }',
  ].join('\n'));
  const s = spec('internal', []);
  const job = sup.enqueue({ ...s, launch: { ...s.launch, trainerPath: script } });
  await ended(sup, job);
  assert.equal(job.reason, 'the trainer exited with status 1: internal error: Error: disk on fire');
  sup.dispose();
});

test('a run that fails inside the trainer: its summary and the job both give the message', async () => {
  const { sup } = supervisor();
  const job = sup.enqueue(spec('fails-inside', ['--epochs', '1', '--layers', 'conv7']));
  await ended(sup, job);
  assert.equal(job.state, 'failed');
  assert.match(job.reason ?? '', /unknown layer 'conv7'/);
  assert.doesNotMatch(job.reason ?? '', STACK_FRAME);
  assert.equal(readRun(job.spec.runDir)?.reason, job.reason);
  sup.dispose();
});

test('a runtime that cannot start: failed with the reason, no exception', async () => {
  const { sup } = supervisor();
  const s = spec('no-node', ['--epochs', '1']);
  const job = sup.enqueue({ ...s, launch: { ...s.launch, execPath: path.join(runsDir, 'no-such-node') } });
  await ended(sup, job);
  assert.equal(job.state, 'failed');
  assert.match(job.reason ?? '', /could not be started: .*ENOENT/);
  sup.dispose();
});

test('dispose (the window going away) lets the trainer end its run itself: stopped, summary written, resumable', async () => {
  const { sup } = supervisor();
  const job = sup.enqueue(spec('disposed', ['--epochs', '50']));
  await new Promise<void>((resolve) => onFirstEvent(sup, 'disposed', (e) => e.type === 'step', () => resolve()));
  const exited = job.process!.exited;
  sup.dispose();
  const exit = await exited;
  assert.equal(exit.code, 0, `exit ${exit.code} ${exit.signal}`);
  const record = readRun(job.spec.runDir)!;
  assert.equal(record.status, 'stopped');
  assert.match(record.reason ?? '', /window that started it went away/);
});

test('classifyExit: how each ending reads (pure)', () => {
  const end = (status: 'completed' | 'stopped' | 'failed', reason: string | null): RunEndEvent => ({
    type: 'run-end', time: 0, status, reason, epochsCompleted: 1, bestEpoch: 1, bestAomAccuracy: 0.5, test: null, durationSec: 1, samplesPerSec: 1,
  });
  const facts = { code: 0, signal: null, runEnd: null, killReason: null, spawnError: null, stderrTail: [] } as const;
  assert.deepEqual(classifyExit({ ...facts, runEnd: end('completed', null) }), { status: 'completed', reason: null });
  assert.deepEqual(classifyExit({ ...facts, runEnd: end('stopped', 'SIGTERM received'), killReason: 'did not stop' }), { status: 'stopped', reason: 'SIGTERM received' }, 'a clean end that crossed the kill timer');
  assert.deepEqual(classifyExit({ ...facts, code: 1, runEnd: end('failed', 'diverged') }), { status: 'failed', reason: 'diverged' });
  assert.deepEqual(classifyExit({ ...facts, code: null, signal: 'SIGKILL', killReason: 'did not stop within 1 s of the stop request; killed' }), { status: 'failed', reason: 'did not stop within 1 s of the stop request; killed' });
  assert.deepEqual(classifyExit({ ...facts, code: 3, runEnd: end('completed', null), stderrTail: ['boom'] }), { status: 'failed', reason: 'the trainer exited with status 3 after its run ended: boom' });
  assert.deepEqual(classifyExit({ ...facts, code: 1, stderrTail: ['was-train: internal error: x', 'at y'] }), { status: 'failed', reason: 'the trainer exited with status 1: internal error: x | at y' });
  assert.deepEqual(classifyExit({ ...facts, stderrTail: ['was-train export: no checkpoint'] }), { status: 'failed', reason: 'the trainer exited without finishing a run: no checkpoint' });
});

test('Resume Run: a stopped run continues from its checkpoint through `was-train resume`, its history kept', { timeout: 120_000 }, async () => {
  const { sup } = supervisor();
  const first = sup.enqueue(spec('resumed', ['--epochs', '3', '--max-steps-per-epoch', '2']));
  onFirstEvent(sup, 'resumed', (e) => e.type === 'epoch', () => void sup.stop('resumed'));
  await ended(sup, first);
  assert.equal(first.state, 'stopped');
  const prior = readRunEvents(first.spec.runDir).events;
  const ctx = { trainerPath: TRAINER, cwd: runsDir, runsDir, settings: SETTING_DEFAULTS, backendPaths: [], taken: () => false };
  const again = sup.enqueue(resumeJob({ runId: 'resumed', dir: first.spec.runDir, model: 'small-cnn', dataset: 'synthetic', transform: 'shift' }, prior, ctx));
  await ended(sup, again);
  assert.equal(again.state, 'completed', again.reason ?? '');
  const starts = again.events.filter((e): e is RunStartEvent => e.type === 'run-start');
  assert.equal(starts.length, 2, 'the first session\'s history, then the resumed one');
  // Stopped in epoch 2 (2 steps per epoch): checkpointed at the step it stopped on, or at epoch 1's end when it stopped after epoch 2's last step.
  assert.ok([3, 2].includes(starts[1].resumedFrom?.step ?? -1) && starts[1].resumedFrom?.epoch === 1, JSON.stringify(starts[1].resumedFrom));
  const progress = runProgress(again.events)!;
  assert.deepEqual([progress.epoch, progress.epochs, progress.fraction], [3, 3, 1]);
  const record = readRun(first.spec.runDir)!;
  assert.equal(record.status, 'completed');
  assert.equal(record.epochsCompleted, 3);
  sup.dispose();
});
