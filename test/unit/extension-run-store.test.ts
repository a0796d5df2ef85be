// The extension's view of run folders (src/extension/run-store.ts) on folders the real trainer
// wrote (one short run in `before`), then copied and damaged the ways a killed trainer leaves them:
// a torn last line, a missing summary, a damaged middle line, a missing config.json, a summary left
// over from before a resume.

import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deletableRunProblem, deleteRunFolder } from '../../src/extension/runs/run-paths';
import { RunStore, listRuns, readRun, readRunEvents, writeMissingSummary } from '../../src/extension/runs/run-store';
import { runFolderEntryKind } from '../../src/shared/run-naming';

const TRAINER = path.resolve(__dirname, '../../dist/trainer.js');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'was-run-store-'));
const source = path.join(root, 'source');
const runsDir = path.join(root, 'runs');

/** A copy of the real run under a new name, edited by `damage`. */
function variant(name: string, damage: (dir: string) => void = () => {}): string {
  const dir = path.join(runsDir, name);
  fs.cpSync(path.join(source, 'real'), dir, { recursive: true });
  damage(dir);
  return dir;
}

function metricsLines(dir: string): string[] {
  return fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trimEnd().split('\n');
}

before(() => {
  execFileSync(process.execPath, [
    TRAINER, 'train', '--model', 'small-cnn', '--dataset', 'synthetic', '--validation-size', '64', '--batch-size', '32', '--seed', '3',
    '--backend', 'wasm', '--epochs', '2', '--max-steps-per-epoch', '2', '--log-every', '1', '--runs-dir', source, '--run-name', 'real', '--json',
  ]);
  fs.mkdirSync(runsDir);
});

test('a completed run: model, dataset, transform, status, best epoch and test numbers', () => {
  const record = readRun(variant('20260101-000000-complete'))!;
  assert.equal(record.runId, '20260101-000000-complete');
  assert.equal(record.status, 'completed');
  assert.equal(record.reason, null);
  assert.deepEqual([record.model, record.dataset, record.transform, record.preset, record.epochs], ['small-cnn', 'synthetic', 'shift', 'sound', 2]);
  assert.equal(record.epochsCompleted, 2);
  assert.ok(record.test && record.test.aom >= 0 && record.test.aom <= 1);
  assert.deepEqual(record.problems, []);
  const summary = JSON.parse(fs.readFileSync(path.join(record.dir, 'summary.json'), 'utf8'));
  assert.equal(record.test.aom, summary.test.aom);
});

test('a torn last line (killed mid-write) is skipped and reported; the events before it are kept', () => {
  const dir = variant('torn', (d) => {
    fs.rmSync(path.join(d, 'summary.json'));
    const lines = metricsLines(d);
    const last = lines.pop()!;
    fs.writeFileSync(path.join(d, 'metrics.jsonl'), [...lines, last.slice(0, last.length >> 1)].join('\n'));
  });
  const { events, problems } = readRunEvents(dir);
  assert.equal(events.length, metricsLines(path.join(source, 'real')).length - 1);
  assert.match(problems[0], /last line is torn/);
  const record = readRun(dir)!;
  assert.equal(record.status, 'incomplete');
  assert.equal(record.epochsCompleted, 2);
  assert.ok(record.best !== null, 'best epoch from the epoch events');
  assert.match(record.problems.join(), /torn/);
});

test('a damaged middle line: the events before it, and a problem naming the line; never an exception', () => {
  const dir = variant('damaged', (d) => {
    fs.rmSync(path.join(d, 'summary.json'));
    const lines = metricsLines(d);
    lines[3] = '{"type":"step","time":"yesterday"}';
    fs.writeFileSync(path.join(d, 'metrics.jsonl'), lines.join('\n') + '\n');
  });
  const { events, problems } = readRunEvents(dir);
  assert.equal(events.length, 3);
  assert.match(problems[0], /^metrics.jsonl: line 4: step.time: expected a finite number/);
  assert.equal(readRun(dir)!.status, 'incomplete');
});

test('no config.json (the backend failed to load): model and dataset from the run-start event or nothing', () => {
  const dir = variant('no-config', (d) => fs.rmSync(path.join(d, 'config.json')));
  const record = readRun(dir)!;
  assert.equal(record.model, 'small-cnn');
  assert.equal(record.status, 'completed');
});

test('a summary older than metrics.jsonl (a resumed session writing) no longer decides the status', () => {
  const dir = variant('resumed', (d) => {
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(path.join(d, 'summary.json'), old, old);
  });
  assert.equal(readRun(dir)!.status, 'incomplete');
  // ... and the supervisor may then record how the resumed session died.
  const end = writeMissingSummary(dir, 'failed', 'the trainer was killed by SIGKILL', readRunEvents(dir).events);
  assert.equal(end?.epochsCompleted, 2);
  const record = readRun(dir)!;
  assert.equal(record.status, 'failed');
  assert.equal(record.reason, 'the trainer was killed by SIGKILL');
});

test('writeMissingSummary never replaces the summary the trainer wrote', () => {
  const dir = variant('has-summary');
  assert.equal(writeMissingSummary(dir, 'failed', 'x', []), null);
  assert.equal(readRun(dir)!.status, 'completed');
  assert.equal(writeMissingSummary(path.join(runsDir, 'no-such-run'), 'failed', 'x', []), null);
  assert.equal(fs.existsSync(path.join(runsDir, 'no-such-run')), false);
});

test('listRuns: run folders only, newest first; a missing runs folder holds no runs; RunStore re-reads only changed folders', () => {
  const other = path.join(root, 'list');
  fs.mkdirSync(path.join(other, 'not-a-run'), { recursive: true });
  fs.writeFileSync(path.join(other, 'stray.txt'), '');
  for (const [name, created] of [['older', '2026-01-01T00:00:00Z'], ['newer', '2026-02-01T00:00:00Z']]) {
    const dir = path.join(other, name);
    fs.cpSync(path.join(source, 'real'), dir, { recursive: true });
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, createdAt: created }));
  }
  assert.deepEqual(listRuns(other).map((r) => r.runId), ['newer', 'older']);
  assert.deepEqual(listRuns(path.join(root, 'nowhere')), []);

  const store = new RunStore();
  const first = store.list(other);
  const again = store.list(other);
  assert.equal(again[0], first[0], 'unchanged folders come from the cache');
  fs.appendFileSync(path.join(other, 'newer', 'metrics.jsonl'), '{"type":"log","time":1,"level":"info","message":"later"}\n');
  const third = store.list(other);
  assert.notEqual(third[0], first[0], 'a grown metrics.jsonl is read again');
  assert.equal(third[1], first[1]);
  fs.appendFileSync(path.join(other, 'newer', 'metrics.jsonl'), '{"type":"log","time":2,"level":"info","message":"later still"}\n');
  assert.equal(store.list(other, (runId) => runId === 'newer')[0], third[0], 'a folder a live trainer is writing is not re-parsed');
  assert.notEqual(store.list(other)[0], third[0], 'once it has ended, it is');
});

test('only folders that look like WAS runs are listed: another program\'s config.json is not a run (issue 14, finding 7)', () => {
  const other = path.join(root, 'foreign');
  fs.mkdirSync(other);
  fs.cpSync(path.join(source, 'real'), path.join(other, 'a-run'), { recursive: true });
  fs.mkdirSync(path.join(other, 'app'));
  fs.writeFileSync(path.join(other, 'app', 'config.json'), JSON.stringify({ port: 8080, config: { debug: true } }));
  fs.mkdirSync(path.join(other, 'commented'));
  fs.writeFileSync(path.join(other, 'commented', 'config.json'), '// settings\n{}');
  assert.deepEqual(listRuns(other).map((r) => r.runId), ['a-run']);
});

test('Delete Run deletes a WAS run folder and nothing else (issue 14, findings 2 and 7)', () => {
  const dir = variant('to-delete', (d) => fs.writeFileSync(path.join(d, 'summary.json.4242.tmp'), '{'));
  assert.equal(deletableRunProblem(runsDir, dir), null, 'the trainer\'s files, a stray temporary file of an atomic write too');
  deleteRunFolder(runsDir, dir);
  assert.equal(fs.existsSync(dir), false);

  // A folder holding an unknown file: refused, naming it, and left whole.
  const mixed = variant('with-notes', (d) => fs.writeFileSync(path.join(d, 'notes.txt'), 'mine'));
  assert.throws(() => deleteRunFolder(runsDir, mixed), /with-notes.notes\.txt is not part of a WAS run \(a run folder holds only config.json, .*checkpoints\/.*\); not deleting/);
  assert.equal(fs.readFileSync(path.join(mixed, 'notes.txt'), 'utf8'), 'mine');
  const inBaseline = variant('baseline-notes', (d) => {
    fs.mkdirSync(path.join(d, 'baseline'));
    fs.writeFileSync(path.join(d, 'baseline', 'thesis.tex'), '');
  });
  assert.throws(() => deleteRunFolder(runsDir, inBaseline), /thesis\.tex is not part of a WAS run/);

  // Symlinks: a known name that is a link, a run folder that is a link, a folder outside the runs folder.
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'was-outside-'));
  fs.writeFileSync(path.join(outside, 'precious'), 'x');
  const linkedCheckpoints = variant('linked-checkpoints', (d) => {
    fs.rmSync(path.join(d, 'checkpoints'), { recursive: true });
    fs.symlinkSync(outside, path.join(d, 'checkpoints'));
  });
  assert.throws(() => deleteRunFolder(runsDir, linkedCheckpoints), /checkpoints should be a folder but is not \(a file or a symlink\)/);
  fs.symlinkSync(outside, path.join(runsDir, 'linked-run'));
  assert.throws(() => deleteRunFolder(runsDir, path.join(runsDir, 'linked-run')), /linked-run is not inside the runs folder .* \(it resolves to /);
  assert.throws(() => deleteRunFolder(runsDir, path.join(runsDir, '..', 'source', 'real')), /is not inside the runs folder/);
  assert.throws(() => deleteRunFolder(runsDir, runsDir), /is not inside the runs folder/);
  assert.equal(fs.readFileSync(path.join(outside, 'precious'), 'utf8'), 'x');
  assert.ok(fs.existsSync(path.join(source, 'real', 'config.json')));
});

test('a finished run with everything the trainer writes (baseline, DOM search, export) is a deletable run folder', () => {
  const dir = path.join(runsDir, 'everything');
  const common = ['--backend', 'wasm', '--json'];
  execFileSync(process.execPath, [
    TRAINER, 'train', '--model', 'small-cnn', '--dataset', 'synthetic', '--validation-size', '64', '--batch-size', '32', '--seed', '4',
    '--epochs', '1', '--max-steps-per-epoch', '1', '--baseline', '--flops-target', '0.9', '--runs-dir', runsDir, '--run-name', 'everything', ...common,
  ]);
  execFileSync(process.execPath, [TRAINER, 'export', dir, '--mode', 'dom']);
  assert.deepEqual(fs.readdirSync(dir).filter((name) => runFolderEntryKind(name) === null), []);
  assert.ok(['baseline', 'dom', 'exports', 'checkpoints'].every((name) => fs.existsSync(path.join(dir, name))), fs.readdirSync(dir).join());
  assert.equal(deletableRunProblem(runsDir, dir), null);
});

test('RunStore never waits for metrics.jsonl: a killed run is listed at once, its epochs once the file is read in the background', async () => {
  const other = path.join(root, 'background');
  fs.mkdirSync(other);
  const dir = path.join(other, 'killed');
  fs.cpSync(path.join(source, 'real'), dir, { recursive: true });
  fs.rmSync(path.join(dir, 'summary.json'));
  const store = new RunStore();
  const read = new Promise<void>((resolve) => store.onDidReadMetrics(resolve));
  const first = store.list(other)[0];
  assert.equal(first.status, 'incomplete');
  assert.equal(first.model, 'small-cnn', 'config.json is read at once');
  assert.equal(first.epochsCompleted, 0, 'nothing from metrics.jsonl yet');
  await read;
  const after = store.list(other)[0];
  assert.equal(after.epochsCompleted, 2);
  assert.ok(after.best !== null);
  assert.deepEqual(after, readRun(dir), 'the same record a whole read gives');
  // Appended events are read the same way: the record has them once that read is done.
  const appended = new Promise<void>((resolve) => store.onDidReadMetrics(resolve));
  fs.appendFileSync(path.join(dir, 'metrics.jsonl'), '{"type":"log","time":1,"level":"info","message":"later"}\n');
  assert.equal(store.list(other)[0].epochsCompleted, 2, 'while the appended bytes are read, the record keeps what was read before');
  await appended;
  assert.deepEqual(store.list(other)[0], readRun(dir));
});

test('RunStore: a metrics.jsonl that cannot be read is tried once per change of the folder, its problem in the record', async () => {
  const other = path.join(root, 'unreadable');
  fs.mkdirSync(other);
  const dir = path.join(other, 'no-metrics');
  fs.cpSync(path.join(source, 'real'), dir, { recursive: true });
  fs.rmSync(path.join(dir, 'summary.json'));
  fs.rmSync(path.join(dir, 'metrics.jsonl'));
  fs.mkdirSync(path.join(dir, 'metrics.jsonl'), { recursive: true });
  const store = new RunStore();
  let reads = 0;
  const read = store.metrics.read.bind(store.metrics);
  store.metrics.read = (d) => (reads++, read(d));
  const done = new Promise<void>((resolve) => store.onDidReadMetrics(resolve));
  store.list(other);
  await done;
  assert.equal(reads, 1);
  assert.match(store.list(other)[0].problems.join(), /metrics.jsonl: EISDIR/);
  store.list(other);
  assert.equal(reads, 1, 'not read again while nothing changed');
});
