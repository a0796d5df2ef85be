// `was-train study` through the Slurm executor, against the real single-node Slurm
// (scripts/slurm/up.sh; skipped with how to start one where none is up, required in CI): real
// trainer processes (dist/trainer.js) as array tasks on tiny synthetic runs, cpu backend.
// A 2x2 study with paired baselines goes out as one job array and completes, its results equal a
// local execution of the same study bit for bit; a failing run shows its exit code and reason;
// Ctrl-C of the follower leaves the array running, a second submit is refused while it is live,
// `study status` reads it, `study cancel --run` stops a running task (`study cancel` the whole
// array, under a live follower), and the rerun resumes that
// run from its checkpoint and completes it (a lock left by a dead node's task cleared first); sbatch's refusal (bad partition) and a Node older than
// 20 are refused with their message before anything is submitted.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXIT } from '../../src/shared/exit-codes';
import { parseEventLines, type TrainerEvent } from '../../src/shared/protocol';
import { parseStudyResults, type StudyResults, type StudyRun } from '../../src/shared/study';
import { slurmCluster, slurmSkip } from '../support/slurm-cluster';
import { TRAINER, type TrainerOutput } from '../support/trainer-cli';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'was-study-slurm-'));
const studies = path.join(root, 'studies');
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** lenet on 12x12 synthetic images, cpu backend: a few steps, numbers that differ by seed and setting. */
const BASE = {
  model: 'lenet',
  data: { name: 'synthetic', validationSize: 16, synthetic: { trainCount: 160, testCount: 48, size: 12, channels: 1, classes: 3 } },
  epochs: 1,
  batchSize: 16,
  evalBatchSize: 48,
  maxStepsPerEpoch: 8,
  optimizer: { name: 'adam', lr: 0.01 },
  backend: 'cpu',
  bn: { recalibrationBatches: 1 },
  dom: { testDraws: 2 },
  logEverySteps: 1,
};

function env(): NodeJS.ProcessEnv {
  return { ...slurmCluster().env, WAS_LAB_SLURM_POLL_MS: '250' };
}

function writeStudy(name: string, study: Record<string, unknown>): string {
  const file = path.join(root, `${name}.study.json`);
  fs.writeFileSync(file, JSON.stringify(study, null, 2));
  return file;
}

const studyDir = (name: string): string => path.join(studies, name);

function trainer(args: readonly string[]): Promise<TrainerOutput> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TRAINER, ...args], { env: env() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const study = (file: string, ...flags: string[]): Promise<TrainerOutput> => trainer(['study', file, '--studies-dir', studies, ...flags]);

function results(name: string): StudyResults {
  return parseStudyResults(JSON.parse(fs.readFileSync(path.join(studyDir(name), 'study.json'), 'utf8')));
}

function events(runDir: string): TrainerEvent[] {
  return parseEventLines(fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')).events;
}

/** Jobs Slurm knows by this name (squeue, live or not yet purged). */
function jobsNamed(name: string): string[] {
  const out = spawnSync('squeue', ['-h', '-t', 'all', '-n', name, '-o', '%i'], { env: env(), encoding: 'utf8' });
  return out.stdout.split('\n').filter((l) => l.trim() !== '');
}

function manifests(name: string): string[] {
  const dir = path.join(studyDir(name), 'slurm');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith('manifest-')).sort() : [];
}

/** A run's numbers without its wall time: what must match between executors. */
const numbers = (run: StudyRun) => ({ name: run.name, state: run.state, epochs: run.epochsCompleted, ...run.result, durationSec: undefined });

test('a 2x2 study with baselines as ONE job array: every run completes, and the results equal a local execution bit for bit', { skip: slurmSkip }, async () => {
  const file = writeStudy('grid', { base: BASE, grid: { 'was.transform': ['shift', 'crop'] }, seeds: [1, 2], executor: { kind: 'slurm', cpusPerTask: 1, time: '10', setup: ['export WAS_LAB_FROM_SETUP=1'] } });
  const started = Date.now();
  const out = await study(file, '--json');
  const slurmSec = (Date.now() - started) / 1000;
  assert.equal(out.code, EXIT.ok, out.stderr);
  assert.match(out.stderr, /submitted 4 runs as Slurm job array (\d+)/);
  const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; name?: string; state: string });
  assert.deepEqual(lines.at(-1), { type: 'study-end', state: 'completed', dir: studyDir('grid') });
  assert.ok(lines.some((l) => l.state === 'queued') && lines.some((l) => l.state === 'running'), 'queued, then running, from Slurm');

  const r = results('grid');
  assert.equal(r.state, 'completed');
  assert.equal(r.executor.kind, 'slurm');
  assert.deepEqual(manifests('grid'), ['manifest-1.json'], 'one submission');
  const manifest = JSON.parse(fs.readFileSync(path.join(studyDir('grid'), 'slurm', 'manifest-1.json'), 'utf8')) as { jobId: string; tasks: { taskId: number; name: string; resume: boolean }[] };
  assert.deepEqual(manifest.tasks.map((t) => [t.taskId, t.name, t.resume]), r.runs.map((run, i) => [i, run.name, false]));
  for (const run of r.runs) {
    assert.equal(run.state, 'completed', `${run.name}: ${run.reason}`);
    assert.deepEqual(run.slurm && [run.slurm.arrayJobId, run.slurm.state, run.slurm.exitCode], [manifest.jobId, 'COMPLETED', 0]);
    assert.ok(fs.existsSync(path.join(studyDir('grid'), 'runs', run.name, 'baseline', 'summary.json')));
  }

  // The same study file on this machine's trainer processes.
  const local = await trainer(['study', file, '--studies-dir', path.join(root, 'local'), '--executor', 'local', '--json']);
  assert.equal(local.code, EXIT.ok, local.stderr);
  const l = parseStudyResults(JSON.parse(fs.readFileSync(path.join(root, 'local', 'grid', 'study.json'), 'utf8')));
  assert.equal(l.executor.kind, 'local');
  assert.deepEqual(r.runs.map(numbers), l.runs.map(numbers), 'test accuracies, DOM draws, baselines and gains, bit for bit');
  assert.deepEqual(r.cells.map((c) => [c.aom, c.dom, c.gain]), l.cells.map((c) => [c.aom, c.dom, c.gain]));
  assert.ok(new Set(r.runs.map((run) => run.result!.aom)).size > 1, 'the runs differ (so equality says something)');
  const files = (dir: string): string[] => fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => !f.includes('checkpoints')).sort();
  assert.deepEqual(files(path.join(studyDir('grid'), 'runs')), files(path.join(root, 'local', 'grid', 'runs')), 'the same run folders');

  const status = await trainer(['study', 'status', studyDir('grid')]);
  assert.equal(status.code, EXIT.ok, status.stderr);
  assert.match(status.stdout, new RegExp(`study grid: completed; Slurm array ${manifest.jobId} \\(submission 1, 4 tasks, 0 live\\)`));
  assert.match(status.stdout, new RegExp(`c2-crop-s2 +completed +COMPLETED ${manifest.jobId}_3 +0:0 +1/1`));
  console.log(`# slurm study ${slurmSec.toFixed(1)} s, the same study local ${((Date.now() - started) / 1000 - slurmSec).toFixed(1)} s`);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(what: string, probe: () => T | null | false | Promise<T | null | false>, seconds = 120): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen in ${seconds} s`);
    await sleep(200);
  }
}

interface StatusJson {
  state: string;
  arrays: { jobId: string; live: number }[];
  runs: StudyRun[];
}

async function status(dir: string): Promise<StatusJson> {
  const out = await trainer(['study', 'status', dir, '--json']);
  assert.equal(out.code, EXIT.ok, out.stderr);
  return JSON.parse(out.stdout) as StatusJson;
}

test('a failing run shows its exit code; Ctrl-C leaves the array running; a second submit is refused while it is live; cancel --run stops a running task; the rerun resumes it', { skip: slurmSkip }, async () => {
  // The file says local; --executor slurm sends it to Slurm. c1 trains long enough to be caught running, c2 fails (no MNIST there).
  const base = { ...BASE, epochs: 2, maxStepsPerEpoch: 100, data: { ...BASE.data, synthetic: { ...BASE.data.synthetic, trainCount: 3200 }, dir: path.join(root, 'no-such-data') } };
  const file = writeStudy('faults', { base, grid: { 'data.name': ['synthetic', 'mnist'] }, seeds: [1], baseline: false });
  const dir = studyDir('faults');
  const long = 'c1-synthetic-s1';
  const runDir = path.join(dir, 'runs', long);
  const follower = spawn(process.execPath, [TRAINER, 'study', file, '--studies-dir', studies, '--executor', 'slurm', '--json'], { env: env() });
  let stderr = '';
  follower.stdout.resume();
  follower.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => follower.on('close', (code) => resolve(code)));
  await waitFor('the long run stepping on the cluster', () => fs.existsSync(path.join(runDir, 'metrics.jsonl')) && events(runDir).some((e) => e.type === 'step'));

  // Ctrl-C: the follower goes, the array goes on.
  follower.kill('SIGINT');
  assert.equal(await exited, EXIT.ok, stderr);
  assert.match(stderr, /no longer following Slurm job array \d+ \(SIGINT received\): its tasks go on on the cluster/);
  const left = results('faults');
  assert.equal(left.state, 'running');
  assert.deepEqual([left.runs[0].state, left.runs[0].slurm?.state], ['running', 'RUNNING']);

  const again = await study(file, '--executor', 'slurm');
  assert.equal(again.code, EXIT.failed, again.stdout);
  assert.match(again.stderr, /study faults's Slurm array \d+ \(slurm\/manifest-1\.json\) is still live \(.*1 running.*\): follow it with `was-train study status/);
  assert.deepEqual(manifests('faults'), ['manifest-1.json'], 'nothing submitted');

  const running = await status(dir);
  assert.equal(running.state, 'running');
  assert.deepEqual([running.runs[0].state, running.runs[0].slurm?.state], ['running', 'RUNNING']);
  const cancel = await trainer(['study', 'cancel', dir, '--run', long]);
  assert.equal(cancel.code, EXIT.ok, cancel.stderr);
  assert.match(cancel.stdout, new RegExp(`${long}: cancelled Slurm task \\d+_0`));
  const stopped = await waitFor('the cancelled run stopped', async () => (await status(dir)).runs.find((r) => r.name === long && r.state !== 'running') ?? null);
  assert.equal(stopped.state, 'stopped', stopped.reason ?? '');
  assert.equal(stopped.slurm?.state, 'CANCELLED');
  assert.match(stopped.reason ?? '', /cancelled \(scancel\)/);
  // The failed run: Slurm's exit code and the trainer's reason.
  const failed = await waitFor('the mnist run failed', async () => (await status(dir)).runs.find((r) => r.name === 'c2-mnist-s1' && r.state === 'failed') ?? null);
  assert.deepEqual([failed.slurm?.state, failed.slurm?.exitCode], ['FAILED', EXIT.failed]);
  assert.match(failed.reason ?? '', /no-such-data.*\(Slurm job \d+: FAILED, exit status 1\)/);

  const after = results('faults');
  assert.deepEqual([after.state, after.runs.map((r) => r.state)], ['failed', ['stopped', 'failed']], 'status brought study.json up to date');
  assert.ok(fs.existsSync(path.join(runDir, 'checkpoints', 'last.json')), 'the stopped run kept a checkpoint');
  const nothing = await trainer(['study', 'cancel', dir]);
  assert.match(nothing.stdout, /no Slurm array of it is live; nothing to cancel/);

  // As if the cancelled task's node had died holding the run: its lock names a host this machine cannot check.
  const owner = { pid: 4242, host: 'node-that-died', startedAt: new Date().toISOString(), command: 'was-train train', processStart: null };
  fs.writeFileSync(path.join(runDir, 'run.lock'), JSON.stringify(owner) + '\n');

  // The array has ended: the rerun submits the two runs not completed, the cancelled one resumed.
  const rerun = await study(file, '--executor', 'slurm');
  assert.equal(rerun.code, EXIT.failed, rerun.stderr);
  assert.match(rerun.stdout, new RegExp(`removed runs/${long}/run\\.lock, left by was-train train, pid 4242 on host node-that-died`));
  assert.deepEqual(manifests('faults'), ['manifest-1.json', 'manifest-2.json']);
  const second = JSON.parse(fs.readFileSync(path.join(dir, 'slurm', 'manifest-2.json'), 'utf8')) as { tasks: { name: string; resume: boolean }[] };
  assert.deepEqual(second.tasks.map((t) => [t.name, t.resume]), [[long, true], ['c2-mnist-s1', false]]);
  const r = results('faults');
  assert.deepEqual(r.runs.map((run) => run.state), ['completed', 'failed']);
  assert.equal(r.runs[0].epochsCompleted, 2);
  const starts = events(runDir).filter((e) => e.type === 'run-start');
  assert.equal(starts.length, 2);
  assert.ok(starts[1].type === 'run-start' && starts[1].resumedFrom !== undefined, 'resumed from its checkpoint');
});

test('study status and study cancel of the whole array while a follower follows it: the running task and the pending one (over maxConcurrent) end stopped, the study stopped', { skip: slurmSkip }, async () => {
  const base = { ...BASE, epochs: 2, maxStepsPerEpoch: 60, data: { ...BASE.data, synthetic: { ...BASE.data.synthetic, trainCount: 1600 } } };
  const file = writeStudy('cancelled', { base, seeds: [1, 2], baseline: false, executor: { kind: 'slurm', maxConcurrent: 1 } });
  const dir = studyDir('cancelled');
  const following = study(file, '--json');
  await waitFor('the first run stepping', () => fs.existsSync(path.join(dir, 'runs', 'c1-s1', 'metrics.jsonl')) && events(path.join(dir, 'runs', 'c1-s1')).some((e) => e.type === 'step'));
  // Status while the follower follows: read from Slurm, study.json left to the follower.
  const during = await trainer(['study', 'status', dir]);
  assert.equal(during.code, EXIT.ok, during.stderr);
  assert.match(during.stdout, /^study cancelled: running; Slurm array \d+ \(submission 1, 2 tasks, 2 live\)/);
  assert.match(during.stdout, /\nc1-s1 +running +RUNNING \d+_0 +0:0 +0\/2\s*\n/);
  assert.match(during.stdout, /\nc1-s2 +queued +PENDING \d+_1 +0:0 +0\/2 +Slurm: JobArrayTaskLimit/);
  assert.doesNotMatch(during.stdout, /study\.json updated/);
  const cancel = await trainer(['study', 'cancel', dir]);
  assert.equal(cancel.code, EXIT.ok, cancel.stderr);
  assert.match(cancel.stdout, /cancelled Slurm job array \d+ \(2 of its 2 tasks were pending or running\)/);
  const out = await following;
  assert.equal(out.code, EXIT.ok, out.stderr);
  const r = results('cancelled');
  assert.equal(r.state, 'stopped');
  assert.deepEqual(r.runs.map((run) => [run.name, run.state, run.slurm?.state]), [
    ['c1-s1', 'stopped', 'CANCELLED'],
    ['c1-s2', 'stopped', 'CANCELLED'],
  ]);
  assert.ok(r.runs.every((run) => /cancelled \(scancel\)/.test(run.reason ?? '')), JSON.stringify(r.runs.map((run) => run.reason)));
  assert.ok(!fs.existsSync(path.join(dir, 'runs', 'c1-s2')), 'the pending run never started');
});

test("sbatch's refusal (a bad partition) comes back as its own message, and nothing is submitted", { skip: slurmSkip }, async () => {
  const file = writeStudy('badpart', { base: BASE, seeds: [1], baseline: false, executor: { kind: 'slurm', partition: 'no-such-partition' } });
  const out = await study(file);
  assert.equal(out.code, EXIT.failed, out.stdout);
  assert.match(out.stderr, /sbatch submitted nothing:\n.*invalid partition specified: no-such-partition/);
  assert.deepEqual(manifests('badpart'), []);
  assert.deepEqual(fs.readdirSync(path.join(studyDir('badpart'), 'slurm')), [], 'no manifest or script left');
  assert.deepEqual(jobsNamed('was-badpart'), []);
  const r = results('badpart');
  assert.deepEqual([r.state, r.runs.map((run) => run.state)], ['stopped', ['pending']]);
});

test('a Node older than 20 (or none) for the tasks is refused before anything is submitted', { skip: slurmSkip }, async () => {
  // A real node that says it is 18.19.1.
  fs.writeFileSync(path.join(root, 'node18.js'), "Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '18.19.1' } });\n");
  const node18 = path.join(root, 'node18');
  fs.writeFileSync(node18, `#!/bin/sh\nexec ${process.execPath} --require ${path.join(root, 'node18.js')} "$@"\n`, { mode: 0o755 });
  for (const [name, nodePath, message] of [
    ['old-node', node18, /need Node 20 or later on the compute nodes, but .*node18 is 18\.19\.1 .*set executor\.nodePath .*Nothing was submitted/],
    ['no-node', '/nonexistent/node', /need Node 20 or later on the compute nodes, but \/nonexistent\/node did not run .*No such file/],
  ] as const) {
    const out = await study(writeStudy(name, { base: BASE, seeds: [1], baseline: false, executor: { kind: 'slurm', nodePath } }));
    assert.equal(out.code, EXIT.failed, out.stdout);
    assert.match(out.stderr, message);
    assert.deepEqual(manifests(name), []);
    assert.deepEqual(jobsNamed(`was-${name}`), []);
  }
});
