// `was-train study` with real trainer processes (dist/trainer.js, from `npm run build`) on tiny
// synthetic runs: a 2x1 grid x 2 seeds completes with its baselines and a valid study.json; bad
// study files are refused before any folder exists; a failing run fails alone, with its reason;
// kill -9 of the study process mid-way, then the same command: completed runs untouched, the
// interrupted one resumed from its checkpoint, none run twice; a second live study on the same
// folder is refused by study.lock; a changed study file is refused without --force; --dry-run
// lists the runs and an estimate without touching the study folder.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseEventLines, type TrainerEvent } from '../../src/shared/protocol';
import { parseStudyResults, type StudyResults } from '../../src/shared/study';
import { EXIT } from '../../src/shared/exit-codes';
import { TRAINER, runTrainer } from '../support/trainer-cli';
import { planStudy, readStudyFile } from '../../src/trainer/study/plan';
import { chooseParallelism } from '../../src/trainer/study/local-executor';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'was-study-'));

/** A tiny synthetic run: a few steps per epoch, small-cnn on 16x16 images, wasm. */
const BASE = {
  model: 'small-cnn',
  data: { name: 'synthetic', validationSize: 32, synthetic: { trainCount: 160, testCount: 32, size: 16, channels: 1, classes: 4 } },
  optimizer: { name: 'adam' },
  epochs: 1,
  batchSize: 32,
  evalBatchSize: 64,
  maxStepsPerEpoch: 2,
  backend: 'wasm',
  bn: { recalibrationBatches: 1 },
  logEverySteps: 1,
};

function writeStudy(name: string, study: Record<string, unknown>): string {
  const file = path.join(root, `${name}.study.json`);
  fs.writeFileSync(file, JSON.stringify(study, null, 2));
  return file;
}

function studyDir(name: string): string {
  return path.join(root, 'studies', name);
}

function study(file: string, ...flags: string[]): ReturnType<typeof runTrainer> {
  return runTrainer(['study', file, '--studies-dir', path.join(root, 'studies'), ...flags]);
}

function results(name: string): StudyResults {
  return parseStudyResults(JSON.parse(fs.readFileSync(path.join(studyDir(name), 'study.json'), 'utf8')));
}

function events(runDir: string): TrainerEvent[] {
  return parseEventLines(fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')).events;
}

test('the plan: the grid in the file\'s key order (first key slowest) x seeds, each run\'s whole config resolved, names from the settings', () => {
  const file = writeStudy('plan', { base: { ...BASE, epochs: 2 }, grid: { 'was.transform': ['shift', 'crop'], model: ['lenet', 'small-cnn'], 'was.cropScale': [[0.6, 0.8]] }, seeds: [5, 1], baseline: false });
  const plan = planStudy(readStudyFile(file), path.join(root, 'nowhere'));
  assert.deepEqual(plan.cells.map((c) => c.settings.model + '/' + String(c.settings['was.transform'])), ['lenet/shift', 'small-cnn/shift', 'lenet/crop', 'small-cnn/crop']);
  assert.deepEqual(plan.runs.map((r) => r.name).slice(0, 3), ['c1-shift-lenet-0.6_0.8-s5', 'c1-shift-lenet-0.6_0.8-s1', 'c2-shift-small-cnn-0.6_0.8-s5']);
  const run = plan.runs[2];
  assert.equal(run.config.model, 'small-cnn');
  assert.deepEqual(run.config.was.cropScale, [0.6, 0.8]);
  assert.equal(run.config.epochs, 2);
  assert.equal(run.config.seed, 5);
  assert.equal(run.config.baseline, false);
  assert.equal(run.config.runName, run.name);
  assert.equal(run.config.runsDir, path.join(root, 'nowhere', 'runs'));
  assert.equal(run.config.optimizer.momentum, 0.9, 'the defaults fill the rest');
  assert.ok(!fs.existsSync(path.join(root, 'nowhere')));
  // 'auto': one single-thread process per core (bench/study-parallel.ts), fewer when there are fewer runs.
  const auto = { kind: 'local', processes: 'auto', threads: 'auto' } as const;
  assert.deepEqual([chooseParallelism(2, auto, {}, 8).processes, chooseParallelism(2, auto, {}, 8).threads], [2, 1]);
  assert.deepEqual([chooseParallelism(2, auto, {}, 1).processes, chooseParallelism(2, auto, {}, 1).threads], [1, 2]);
  assert.deepEqual([chooseParallelism(8, { kind: 'local', processes: 2, threads: 'auto' }, {}, 8).processes, chooseParallelism(8, { kind: 'local', processes: 2, threads: 'auto' }, {}, 8).threads], [2, 4]);
  assert.equal(chooseParallelism(8, { kind: 'local', processes: 2, threads: 3 }, { processes: 1 }, 8).processes, 1, 'a flag wins over the file');
});

test('a 2x1 grid x 2 seeds completes: 4 runs with their baselines, study.json, study.md, one JSON line per event', async () => {
  const file = writeStudy('grid', { base: BASE, grid: { 'was.transform': ['shift', 'crop'] }, seeds: 2 });
  const out = await study(file, '--json');
  assert.equal(out.code, EXIT.ok, out.stderr);
  const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; name?: string; state: string });
  assert.deepEqual(lines.at(-1), { type: 'study-end', state: 'completed', dir: studyDir('grid') });
  const r = results('grid');
  assert.equal(r.state, 'completed');
  assert.deepEqual(r.runs.map((run) => run.name), ['c1-shift-s1', 'c1-shift-s2', 'c2-crop-s1', 'c2-crop-s2']);
  for (const run of r.runs) {
    assert.equal(run.state, 'completed', `${run.name}: ${run.reason}`);
    assert.equal(lines.filter((l) => l.name === run.name && l.state === 'completed').length, 1);
    const runDir = path.join(studyDir('grid'), 'runs', run.name);
    const summary = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as { test: { aom: number }; baseline: { status: string } };
    assert.equal(summary.baseline.status, 'completed');
    assert.ok(fs.existsSync(path.join(runDir, 'baseline', 'summary.json')));
    assert.equal(run.result!.aom, summary.test.aom, 'the result is read from the run\'s own summary.json');
    assert.equal(typeof run.result!.baseline, 'number');
    const config = JSON.parse(fs.readFileSync(path.join(studyDir('grid'), 'configs', `${run.name}.was.json`), 'utf8')) as { seed: number; was: { transform: string }; baseline: boolean };
    assert.equal(config.seed, run.seed);
    assert.equal(config.baseline, true);
    assert.equal(config.was.transform, run.cell === 'c1' ? 'shift' : 'crop');
  }
  assert.deepEqual(r.cells.map((c) => [c.id, c.settings, c.aom?.n, c.gain.dom?.n]), [
    ['c1', { 'was.transform': 'shift' }, 2, 2],
    ['c2', { 'was.transform': 'crop' }, 2, 2],
  ]);
  const gain = r.cells[0].gain.aom!;
  const perSeed = r.runs.filter((run) => run.cell === 'c1').map((run) => ({ seed: run.seed, gain: 100 * (run.result!.aom - run.result!.baseline!) }));
  assert.deepEqual(gain.perSeed.map((p) => p.seed), perSeed.map((p) => p.seed));
  gain.perSeed.forEach((p, i) => assert.ok(Math.abs(p.gain - perSeed[i].gain) < 1e-9));
  assert.equal(r.executor.kind, 'local');
  assert.ok(r.machine.cpus >= 1 && r.versions['was-lab'] && r.wallSec > 0);
  const md = fs.readFileSync(path.join(studyDir('grid'), 'study.md'), 'utf8');
  assert.match(md, /\| c1 \| was\.transform=shift \| 2 \|/);
  assert.match(md, /was-train study .*grid\.study\.json/);
});

test('the same study again: everything kept, nothing run; a changed file is refused without --force, naming what changed', async () => {
  const file = path.join(root, 'grid.study.json');
  const summary = path.join(studyDir('grid'), 'runs', 'c1-shift-s1', 'summary.json');
  const mtime = fs.statSync(summary).mtimeMs;
  const again = await study(file, '--json');
  assert.equal(again.code, EXIT.ok, again.stderr);
  assert.equal(fs.statSync(summary).mtimeMs, mtime);
  assert.equal(results('grid').state, 'completed');

  const changed = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(file, JSON.stringify({ ...changed, seeds: 3, grid: { 'was.transform': ['shift', 'mixed'] } }));
  const refused = await study(file);
  assert.equal(refused.code, EXIT.failed);
  assert.match(refused.stderr, /changed since this study started/);
  assert.match(refused.stderr, /seeds \(2 -> 3\)/);
  assert.match(refused.stderr, /grid\.was\.transform \(\["shift","crop"\] -> \["shift","mixed"\]\)/);
  assert.match(refused.stderr, /--force/);
  assert.deepEqual(fs.readdirSync(path.join(studyDir('grid'), 'runs')).sort(), ['c1-shift-s1', 'c1-shift-s2', 'c2-crop-s1', 'c2-crop-s2']);

  // A change that adds no run, forced: accepted, the completed runs kept.
  fs.writeFileSync(file, JSON.stringify({ ...changed, description: 'forced' }));
  const forced = await study(file, '--force');
  assert.equal(forced.code, EXIT.ok, forced.stderr);
  assert.match(forced.stdout, /description \(absent -> "forced"\)/);
  assert.equal(fs.statSync(summary).mtimeMs, mtime);
  assert.equal(results('grid').study.description, 'forced');

  // Only the bytes changed (formatting): the same study, no --force needed.
  fs.writeFileSync(file, JSON.stringify({ ...changed, description: 'forced' }, null, 4));
  const reformatted = await study(file);
  assert.equal(reformatted.code, EXIT.ok, reformatted.stderr);
  assert.match(reformatted.stdout, /in its bytes only/);
});

test('bad study files are refused before any folder is made, naming the field and the value', async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ base: BASE, grid: { 'was.transfrom': ['shift'] }, seeds: 1 }, /grid\.was\.transfrom: unknown grid option \(did you mean/],
    [{ base: BASE, grid: { 'was.translate': [0.3, 2] }, seeds: 1 }, /grid\.was\.translate/],
    [{ base: BASE, grid: { seed: [1, 2] }, seeds: 1 }, /grid\.seed: unknown grid option \(seed is the study's own: use "seeds"\)/],
    [{ base: { ...BASE, epochs: 0 }, seeds: 1 }, /base\.epochs/],
    [{ base: { ...BASE, modle: 'lenet' }, seeds: 1 }, /base\.modle: unknown option/],
  ];
  for (const [i, [content, message]] of cases.entries()) {
    const out = await study(writeStudy(`bad${i}`, content));
    assert.equal(out.code, EXIT.usage, `case ${i}: ${out.stderr}`);
    assert.match(out.stderr, message);
    assert.ok(!fs.existsSync(studyDir(`bad${i}`)), `case ${i} made no folder`);
  }
  fs.writeFileSync(path.join(root, 'broken.study.json'), '{ "seeds": 1,');
  const broken = await study(path.join(root, 'broken.study.json'));
  assert.equal(broken.code, EXIT.usage);
  assert.match(broken.stderr, /broken\.study\.json is not valid JSON/);
});

test('a run that fails does not stop the others: it shows failed with its reason', async () => {
  const file = writeStudy('failing', { base: { ...BASE, data: { ...BASE.data, dir: path.join(root, 'no-such-data') } }, grid: { 'data.name': ['synthetic', 'mnist'] }, seeds: 1 });
  const out = await study(file);
  assert.equal(out.code, EXIT.failed, out.stderr);
  const r = results('failing');
  assert.equal(r.state, 'failed');
  const [ok, bad] = r.runs;
  assert.equal(ok.state, 'completed', `${ok.name}: ${ok.reason}`);
  assert.equal(bad.name, 'c2-mnist-s1');
  assert.equal(bad.state, 'failed');
  assert.match(bad.reason ?? '', /no-such-data/);
  assert.match(out.stdout, /c2-mnist-s1: failed \(.*no-such-data/);
  assert.match(fs.readFileSync(path.join(studyDir('failing'), 'study.md'), 'utf8'), /c2-mnist-s1: failed/);
});

test('kill -9 of the study mid-way, then the same command: completed runs kept, the interrupted one resumed, none run twice; a second live study is refused', async () => {
  const file = writeStudy('killed', { base: { ...BASE, epochs: 4, maxStepsPerEpoch: 3 }, seeds: 3, executor: { kind: 'local', processes: 1 } });
  const dir = studyDir('killed');
  const runDir = (seed: number): string => path.join(dir, 'runs', `c1-s${seed}`);
  const first = spawn(process.execPath, [TRAINER, 'study', file, '--studies-dir', path.join(root, 'studies'), '--json']);
  first.stdout.resume();
  first.stderr.resume();
  const exited = new Promise<void>((resolve) => first.on('exit', () => resolve()));
  const waitFor = async (what: string, done: () => boolean): Promise<void> => {
    const deadline = Date.now() + 90_000;
    while (!done()) {
      assert.ok(Date.now() < deadline, what);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  // While it runs, a second study process on the same folder is refused.
  await waitFor('the study started its first run', () => fs.existsSync(path.join(runDir(1), 'run.lock')));
  const second = await study(file);
  assert.equal(second.code, EXIT.failed);
  assert.match(second.stderr, /another was-train study is running this study: .*in use by was-train study, pid \d+/);
  // Killed once run 1 completed and run 2 has a checkpoint.
  await waitFor('the study reached its second run', () => fs.existsSync(path.join(runDir(1), 'summary.json')) && fs.existsSync(path.join(runDir(2), 'checkpoints', 'last.json')));
  first.kill('SIGKILL');
  await exited;
  assert.ok(!fs.existsSync(path.join(runDir(2), 'summary.json')) || JSON.parse(fs.readFileSync(path.join(runDir(2), 'summary.json'), 'utf8')).status !== 'completed', 'run 2 was interrupted');
  const doneSummary = path.join(runDir(1), 'summary.json');
  const mtime = fs.statSync(doneSummary).mtimeMs;
  const eventsBefore = events(runDir(1)).length;

  const rerun = await study(file, '--json');
  assert.equal(rerun.code, EXIT.ok, rerun.stderr);
  const r = results('killed');
  assert.equal(r.state, 'completed');
  assert.ok(r.runs.every((run) => run.state === 'completed'));
  assert.equal(fs.statSync(doneSummary).mtimeMs, mtime, 'the completed run was not touched');
  assert.equal(events(runDir(1)).length, eventsBefore);
  for (const seed of [1, 2, 3]) {
    const starts = events(runDir(seed)).filter((e) => e.type === 'run-start');
    assert.equal(starts.filter((e) => e.type === 'run-start' && e.resumedFrom === undefined).length, 1, `run ${seed} started once`);
    if (seed === 2) assert.ok(starts.length >= 2 && starts.at(-1)!.type === 'run-start' && starts.at(-1)!.resumedFrom !== undefined, 'run 2 was resumed');
    else assert.equal(starts.length, 1);
  }
  assert.ok(!fs.existsSync(path.join(dir, 'study.lock')), 'the study lock went with the study');
});

test('SIGTERM stops every run (each ends stopped, resumable), keeps everything, and exits 0', async () => {
  const file = writeStudy('stopped', { base: { ...BASE, epochs: 20, maxStepsPerEpoch: 2 }, seeds: 2 });
  const dir = studyDir('stopped');
  const child = spawn(process.execPath, [TRAINER, 'study', file, '--studies-dir', path.join(root, 'studies'), '--processes', '2', '--threads', '1']);
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (![1, 2].every((seed) => fs.existsSync(path.join(dir, 'runs', `c1-s${seed}`, 'checkpoints', 'last.json')))) {
    assert.ok(Date.now() < deadline, 'both runs started');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill('SIGTERM');
  assert.equal(await exited, EXIT.ok);
  const r = results('stopped');
  assert.equal(r.state, 'stopped');
  for (const run of r.runs) {
    assert.equal(run.state, 'stopped', run.name);
    assert.match(run.reason ?? '', /stop requested/);
    const runDir = path.join(dir, 'runs', run.name);
    assert.equal(JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')).status, 'stopped');
    assert.ok(!fs.existsSync(path.join(runDir, 'run.lock')), 'the trainer ended');
  }
  assert.ok(!fs.existsSync(path.join(dir, 'study.lock')));
  assert.match(stdout, /study stopped: stopped \(2 stopped\)/);
});

test('--dry-run lists the runs and an estimate, and leaves no study folder', async () => {
  const file = writeStudy('dry', { base: BASE, grid: { 'was.transform': ['shift', 'none'] }, seeds: [3, 7] });
  const out = await study(file, '--dry-run');
  assert.equal(out.code, EXIT.ok, out.stderr);
  for (const name of ['c1-shift-s3', 'c1-shift-s7', 'c2-none-s3', 'c2-none-s7']) assert.match(out.stdout, new RegExp(`${name}\\s+was\\.transform=\\w+\\s+seed \\d`));
  assert.match(out.stdout, /small-cnn on synthetic: \d+ samples\/s/);
  assert.match(out.stdout, /estimate: \d+(s|m\d\ds) with \d+ processes x \d+ threads/);
  assert.ok(!fs.existsSync(studyDir('dry')));
});
