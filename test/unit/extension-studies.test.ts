// Studies in the extension, below the API layer: the study store (study.json read per study, a bad,
// huge or malformed one listed with its problem, never thrown; paths kept inside the studies
// folder), the watcher (fs.watch and the poll), the tree items, the study page's host side, a
// study's run opened by id through LabRuns (a real run folder written by the trainer), and the
// study process's stop (SIGINT to a real trainer process) and exit reading.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LabRuns } from '../../src/extension/lab/lab-runs';
import { LabStudies } from '../../src/extension/lab/lab-studies';
import { LabState, type StateStore } from '../../src/extension/lab/lab-state';
import { StudyRunFollower } from '../../src/extension/lab/study-run-follower';
import { StudyPanelConnection } from '../../src/extension/lab/study-panel-connection';
import { studiesGroupItem, studyProgress, studyRunTreeItem, studyTreeItem } from '../../src/extension/lab/study-tree-items';
import { RunStore } from '../../src/extension/runs/run-store';
import { StudyJobs, classifyStudyExit, studyArgs } from '../../src/extension/runs/study-jobs';
import { MAX_STUDY_RESULTS_BYTES, StudyStore, listStudies, readStudyFile, studyNameOf, studyRunDir } from '../../src/extension/runs/study-store';
import { StudyWatcher } from '../../src/extension/runs/study-watcher';
import { TrainerSupervisor } from '../../src/extension/runs/supervisor';
import { writeFileAtomic } from '../../src/shared/node/atomic-file';
import { parseStudyResults } from '../../src/shared/study';
import { STUDY_PANEL_PROTOCOL_VERSION, splitStudyRunId, studyRunId, type StudyHostMessage } from '../../src/shared/study-panel-protocol';
import { studyJson, type FixtureOptions } from '../support/study-fixture';
import { TRAINER } from '../support/trainer-cli';

const GRID: FixtureOptions = {
  name: 'grid',
  cells: [
    { settings: { 'was.transform': 'shift' }, gain: 0.5, plain: 0.9 },
    { settings: { 'was.transform': 'crop' }, gain: 0.1, plain: 0.9 },
  ],
  seeds: [1, 2],
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'was-studies-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A studies folder with the named studies, each a function of its folder. */
function studiesFolder(name: string, studies: Record<string, (dir: string) => void>): string {
  const root = path.join(tmp, name, '.was', 'studies');
  for (const [study, make] of Object.entries(studies)) {
    fs.mkdirSync(path.join(root, study), { recursive: true });
    make(path.join(root, study));
  }
  fs.mkdirSync(root, { recursive: true });
  return root;
}

/** A Map-backed workspaceState. */
function memento(): StateStore {
  const values = new Map<string, unknown>();
  return { get: (key: string) => values.get(key), update: async (key: string, value: unknown) => void values.set(key, value) } as StateStore;
}

/** The watcher neither holds the process open (its poll is unref'd, its fs.watch not persistent): a test waiting on it does. */
async function keptAlive<T>(wait: () => Promise<T>): Promise<T> {
  const alive = setInterval(() => undefined, 1000);
  try {
    return await wait();
  } finally {
    clearInterval(alive);
  }
}

const write = (json: unknown) => (dir: string) => fs.writeFileSync(path.join(dir, 'study.json'), JSON.stringify(json));

test('listStudies: a good study.json is parsed; a bad, huge or malformed one is listed with its problem, not thrown', () => {
  const outside = path.join(tmp, 'outside-study');
  fs.mkdirSync(outside, { recursive: true });
  write(studyJson({ ...GRID, name: 'escaped' }))(outside);
  const dir = studiesFolder('listing', {
    good: write(studyJson(GRID)),
    'not-json': (d) => fs.writeFileSync(path.join(d, 'study.json'), '{"format": "was-study/1", "na'),
    malformed: write({ ...studyJson(GRID), runs: [{ name: 'c1-x-s1', cell: 'c1', seed: 1, state: 'sleeping' }] }),
    // Sparse: its size is over the cap without writing 16 MiB.
    huge: (d) => {
      fs.writeFileSync(path.join(d, 'study.json'), '{');
      fs.truncateSync(path.join(d, 'study.json'), MAX_STUDY_RESULTS_BYTES + 1);
    },
    empty: () => undefined,
  });
  fs.symlinkSync(outside, path.join(dir, 'linked'));
  const studies = listStudies(dir);
  const byName = new Map(studies.map((s) => [s.name, s]));
  assert.deepEqual([...byName.keys()].sort(), ['empty', 'good', 'huge', 'linked', 'malformed', 'not-json']);
  const good = byName.get('good')!;
  assert.equal(good.problem, null);
  assert.equal(good.results?.cells.length, 2);
  assert.equal(good.results?.runs.length, 4);
  assert.match(byName.get('not-json')!.problem!, /^study\.json: not JSON/);
  assert.equal(byName.get('not-json')!.results, null);
  assert.match(byName.get('malformed')!.problem!, /^study\.json\.runs\[0\]\.state: /);
  assert.match(byName.get('malformed')!.problem!, /sleeping|expected/);
  assert.equal(byName.get('huge')!.problem, `study.json is ${MAX_STUDY_RESULTS_BYTES + 1} bytes, over the 16.0 MiB (${MAX_STUDY_RESULTS_BYTES} bytes) cap; not read`);
  assert.equal(byName.get('empty')!.problem, 'no study.json yet');
  assert.match(byName.get('linked')!.problem!, /is not inside the studies folder .* \(it resolves to /);
  assert.equal(byName.get('linked')!.results, null);
  // A missing studies folder holds no studies.
  assert.deepEqual(listStudies(path.join(tmp, 'no-such-folder')), []);
});

test('studyRunDir: <studies>/<study>/runs/<run> for valid names; a name that climbs out or a folder linked outside is refused', () => {
  const dir = studiesFolder('paths', { s: (d) => fs.mkdirSync(path.join(d, 'runs')) });
  assert.equal(studyRunDir(dir, 's', 'c1-shift-s1'), path.join(dir, 's', 'runs', 'c1-shift-s1'));
  assert.throws(() => studyRunDir(dir, 's', '../../x'), /may only hold letters/);
  assert.throws(() => studyRunDir(dir, '..', 'x'), /run name "\.\." may only hold/);
  fs.symlinkSync(tmp, path.join(dir, 's', 'runs', 'away'));
  assert.throws(() => studyRunDir(dir, 's', 'away'), /not inside the studies folder/);
  assert.deepEqual(splitStudyRunId(studyRunId('s', 'c1-shift-s1')), { study: 's', run: 'c1-shift-s1' });
  assert.equal(splitStudyRunId('20260101-000000-lenet-mnist'), null);
  assert.equal(splitStudyRunId('a/b/c'), null);
});

test('readStudyFile and studyNameOf: a study file is checked with the field named; its folder name is its name or the file name', () => {
  const file = path.join(tmp, 'mnist-grid.study.json');
  fs.writeFileSync(file, JSON.stringify({ grid: { 'was.transfrom': ['shift'] }, seeds: 2 }));
  assert.throws(() => readStudyFile(file), /mnist-grid\.study\.json: grid\.was\.transfrom: unknown grid option \(did you mean "was\.transform"\?\)/);
  fs.writeFileSync(file, JSON.stringify({ grid: { 'was.transform': ['shift', 'crop'] }, seeds: 2 }));
  assert.equal(studyNameOf(file, readStudyFile(file)), 'mnist-grid');
  fs.writeFileSync(file, JSON.stringify({ name: 'named', seeds: [3, 5] }));
  assert.equal(studyNameOf(file, readStudyFile(file)), 'named');
  fs.writeFileSync(file, '{ "seeds": ');
  assert.throws(() => readStudyFile(file), /mnist-grid\.study\.json: .*JSON/);
  assert.deepEqual(studyArgs('/w/a.study.json', '/w/.was/studies'), ['study', '/w/a.study.json', '--json', '--studies-dir', '/w/.was/studies']);
});

test('StudyStore re-reads a study.json only when it changed; the watcher reports an atomic rewrite and a new study', async () => {
  const dir = studiesFolder('watched', { grid: write(studyJson({ ...GRID, done: 0 })) });
  const store = new StudyStore();
  const first = store.list(dir)[0];
  assert.equal(store.list(dir)[0], first, 'unchanged: the same entry');
  const watcher = new StudyWatcher(dir, { pollMs: 5000, debounceMs: 50 });
  try {
    const changed = () => new Promise<void>((resolve) => watcher.onDidChange(() => resolve()));
    let next = changed();
    writeFileAtomic(path.join(dir, 'grid', 'study.json'), JSON.stringify(studyJson({ ...GRID, done: 1 })));
    await keptAlive(() => next);
    const second = store.list(dir)[0];
    assert.notEqual(second, first);
    assert.equal(studyProgress(second.results!.runs).done, 2);
    next = changed();
    fs.mkdirSync(path.join(dir, 'second'));
    writeFileAtomic(path.join(dir, 'second', 'study.json'), JSON.stringify(studyJson({ ...GRID, name: 'second' })));
    await keptAlive(() => next);
    assert.deepEqual(store.list(dir).map((s) => s.name).sort(), ['grid', 'second']);
  } finally {
    watcher.dispose();
  }
});

test('the watcher falls back to polling where there is nothing to watch yet (the studies folder made later)', async () => {
  const dir = path.join(tmp, 'late', '.was', 'studies');
  const watcher = new StudyWatcher(dir, { pollMs: 50, debounceMs: 20 });
  try {
    const changed = new Promise<void>((resolve) => watcher.onDidChange(() => resolve()));
    fs.mkdirSync(path.join(dir, 'grid'), { recursive: true });
    writeFileAtomic(path.join(dir, 'grid', 'study.json'), JSON.stringify(studyJson(GRID)));
    await keptAlive(() => changed);
  } finally {
    watcher.dispose();
  }
});

test('tree items: a study shows its state and runs done of all, a live one is stoppable; its runs carry icons by state', () => {
  const dir = studiesFolder('tree', { grid: write(studyJson({ ...GRID, done: 1 })), broken: (d) => fs.writeFileSync(path.join(d, 'study.json'), 'nope') });
  const studies = listStudies(dir);
  const grid = studies.find((s) => s.name === 'grid')!;
  const item = studyTreeItem(grid, true);
  assert.equal(item.label, 'grid');
  assert.equal(item.description, 'running · 2/4 runs');
  assert.equal(item.contextValue, 'wasStudy.running.live');
  assert.equal(item.icon.id, 'sync~spin');
  assert.equal(studyTreeItem(grid, false).contextValue, 'wasStudy.running');
  const broken = studyTreeItem(studies.find((s) => s.name === 'broken')!, false);
  assert.equal(broken.icon.id, 'warning');
  assert.match(broken.tooltip, /study\.json: not JSON/);
  assert.equal(studiesGroupItem(studies).description, '2 · 1 running');

  const results = grid.results!;
  const icons = results.runs.map((run) => studyRunTreeItem('grid', run, results.cells.find((c) => c.id === run.cell)));
  assert.deepEqual(icons.map((i) => [i.contextValue, i.icon.id]), [
    ['wasStudyRun.completed', 'pass'],
    ['wasStudyRun.running', 'sync~spin'],
    ['wasStudyRun.completed', 'pass'],
    ['wasStudyRun.running', 'sync~spin'],
  ]);
  assert.equal(icons[0].label, 'c1 · s1 · was.transform=shift');
  assert.match(icons[0].description, /^AOM \d+\.\d\d% · DOM \d+\.\d\d% · gain [+-]\d+\.\d\d points \/ [+-]\d+\.\d\d points$/);
  assert.equal(icons[1].description, 'epoch 0/1');
  assert.equal(icons[0].id, `study:${studyRunId('grid', results.runs[0].name)}`);
});

test('the study page host side: ready gets the study (NaN as null on the wire), changes are posted once, a malformed message is dropped and logged', () => {
  const dir = studiesFolder('page', { grid: write(studyJson({ ...GRID, done: 1 })) });
  const store = new StudyStore();
  const posted: StudyHostMessage[] = [];
  const logged: string[] = [];
  const opened: string[] = [];
  const connection = new StudyPanelConnection({
    name: 'grid',
    read: () => store.get(dir, 'grid'),
    live: () => true,
    post: (m) => posted.push(m),
    openRun: (run) => opened.push(run),
    log: (line) => logged.push(line),
  });
  connection.refresh();
  assert.equal(posted.length, 0, 'nothing before ready');
  connection.receive({ type: 'ready', protocolVersion: STUDY_PANEL_PROTOCOL_VERSION });
  assert.equal(posted.length, 1);
  const message = posted[0];
  assert.equal(message.live, true);
  // One seed per cell done: no interval, written as null as JSON carries it.
  assert.deepEqual((message.results as unknown as { cells: { gain: { aom: { tInterval: unknown } } }[] }).cells[0].gain.aom.tInterval, [null, null]);
  assert.equal(parseStudyResults(message.results).cells[0].gain.aom!.tInterval.every(Number.isNaN), true);
  connection.refresh();
  assert.equal(posted.length, 1, 'unchanged: not posted again');
  writeFileAtomic(path.join(dir, 'grid', 'study.json'), JSON.stringify(studyJson(GRID)));
  connection.refresh();
  assert.equal(posted.length, 2);
  assert.equal(posted[1].results?.state, 'completed');

  connection.receive({ type: 'open-run', run: 'c1-shift-s2' });
  assert.deepEqual(opened, ['c1-shift-s2']);
  connection.receive({ type: 'open-run', run: '' });
  connection.receive({ type: 'open-runs', run: 'x' });
  connection.receive('ready');
  assert.deepEqual(opened, ['c1-shift-s2']);
  assert.equal(logged.length, 3);
  assert.match(logged[0], /open-run\.run: expected a run name, got an empty string/);
  assert.match(logged[1], /unknown message type "open-runs".*did you mean "open-run"/);
});

test('a study run opens by id (<study>/<run>) through LabRuns: read from <study>/runs/<run>, a real run folder the trainer wrote; a page following it gets it again as it grows', () => {
  const dir = studiesFolder('lab', { grid: write(studyJson(GRID)) });
  const runName = parseStudyResults(studyJson(GRID)).runs[0].name;
  const runsOfStudy = path.join(dir, 'grid', 'runs');
  execFileSync(process.execPath, [
    TRAINER, 'train', '--model', 'small-cnn', '--dataset', 'synthetic', '--validation-size', '64', '--batch-size', '32', '--seed', '1',
    '--backend', 'wasm', '--epochs', '1', '--max-steps-per-epoch', '2', '--log-every', '1', '--runs-dir', runsOfStudy, '--run-name', runName, '--json',
  ]);
  const jobs = new StudyJobs(() => undefined);
  const studies = new LabStudies(jobs, () => dir);
  const supervisor = new TrainerSupervisor({ maxConcurrent: () => 1, stopTimeoutMs: () => 1000, log: () => undefined });
  const store = new RunStore();
  const runs = new LabRuns(store, supervisor, () => path.join(tmp, 'lab', '.was', 'runs'), store.metrics, (id) => studies.runDir(id));
  const state = new LabState(memento());
  const updated: string[] = [];
  state.onDidUpdateRun((id) => updated.push(id));
  const follower = new StudyRunFollower(state, (id) => studies.runDir(id), studies.onDidChange, 60_000);
  try {
    const id = studyRunId('grid', runName);
    // A metrics page that follows the study run is sent it again when its metrics.jsonl grows (no IPC: another process trains it).
    state.setActiveRun(id);
    follower.check(false);
    assert.deepEqual(updated, [], 'first look: nothing to resend');
    fs.appendFileSync(path.join(runsOfStudy, runName, 'metrics.jsonl'), '');
    follower.check(false);
    assert.deepEqual(updated, [], 'unchanged');
    const metrics = path.join(runsOfStudy, runName, 'metrics.jsonl');
    fs.writeFileSync(metrics, fs.readFileSync(metrics, 'utf8') + '\n');
    follower.check(false);
    assert.deepEqual(updated, [id]);
    const run = runs.get(id);
    assert.ok(run, 'the study run is found by its id');
    assert.equal(run.runId, id);
    assert.equal(run.dir, path.join(runsOfStudy, runName));
    assert.equal(run.status, 'completed');
    assert.equal(run.record?.model, 'small-cnn');
    assert.equal(runs.get(studyRunId('grid', 'c9-none-s9')), undefined, 'no such folder');
    assert.equal(runs.get(studyRunId('..', runName)), undefined, 'a name that climbs out');
    assert.equal(runs.list().length, 0, 'study runs are not in the runs listing');
  } finally {
    follower.dispose();
    state.dispose();
    studies.dispose();
    jobs.dispose();
    supervisor.dispose();
  }
});

test('the study process: a refused study fails with the trainer\'s words; Stop sends SIGINT and the process ends stopped (a real trainer)', async () => {
  const cwd = path.join(tmp, 'jobs');
  fs.mkdirSync(cwd, { recursive: true });
  const log: string[] = [];
  const jobs = new StudyJobs((line) => log.push(line), () => 30_000);
  const ended = (name: string) => new Promise<void>((resolve) => jobs.onDidChange((job) => job.name === name && job.state !== 'running' && job.state !== 'stopping' && resolve()));
  try {
    // A study file the trainer refuses (usage error, exit 2): failed, with its reason.
    const bad = path.join(cwd, 'bad.study.json');
    fs.writeFileSync(bad, JSON.stringify({ seeds: 0 }));
    let done = ended('bad');
    jobs.start({ name: 'bad', file: bad, process: { trainerPath: TRAINER, args: studyArgs(bad, path.join(cwd, '.was/studies')), cwd } });
    assert.throws(() => jobs.start({ name: 'bad', file: bad, process: { trainerPath: TRAINER, args: [], cwd } }), /study bad is already running/);
    await done;
    assert.equal(jobs.get('bad')!.state, 'failed');
    assert.match(jobs.get('bad')!.reason!, /^the study was refused: ./);

    // Stop: SIGINT to the process, which ends its work cleanly. A long trainer stands for the study here.
    done = ended('long');
    jobs.start({
      name: 'long',
      file: bad,
      process: {
        trainerPath: TRAINER,
        args: ['train', '--model', 'small-cnn', '--dataset', 'synthetic', '--validation-size', '64', '--batch-size', '32', '--backend', 'wasm', '--epochs', '50', '--runs-dir', path.join(cwd, 'runs'), '--run-name', 'long', '--json'],
        cwd,
      },
    });
    assert.equal(jobs.isRunning('long'), true);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => log.some((l) => l.includes('"type":"step"')) && (clearInterval(poll), resolve()), 20);
    });
    assert.equal(jobs.stop('long'), true);
    assert.equal(jobs.get('long')!.state, 'stopping');
    assert.equal(jobs.stop('long'), false, 'once');
    await done;
    assert.deepEqual([jobs.get('long')!.state, jobs.get('long')!.reason], ['stopped', 'stopped on request']);
    assert.equal(JSON.parse(fs.readFileSync(path.join(cwd, 'runs', 'long', 'summary.json'), 'utf8')).status, 'stopped', 'the run was kept, stopped');
  } finally {
    jobs.dispose();
  }
});

test('classifyStudyExit: a clean end, a stop, a refusal, a crash', () => {
  assert.deepEqual(classifyStudyExit(0, null, 'completed', false, []), { state: 'completed', reason: null });
  assert.deepEqual(classifyStudyExit(0, null, 'stopped', true, []), { state: 'stopped', reason: 'stopped on request' });
  assert.deepEqual(classifyStudyExit(130, null, null, true, []), { state: 'stopped', reason: 'stopped on request' });
  assert.deepEqual(classifyStudyExit(2, null, null, false, ['was-train study: grid.model: expected one of ...']), { state: 'failed', reason: 'the study was refused: grid.model: expected one of ...' });
  assert.deepEqual(classifyStudyExit(null, 'SIGKILL', null, false, []), { state: 'failed', reason: 'the study process was killed by SIGKILL' });
  assert.deepEqual(classifyStudyExit(1, null, null, false, ['boom']), { state: 'failed', reason: 'the study process exited with status 1: boom' });
  assert.deepEqual(classifyStudyExit(1, null, 'failed', false, ['run c1-shift-s2 failed: out of memory']), { state: 'failed', reason: 'a run of the study failed: run c1-shift-s2 failed: out of memory' });
});

before(() => {
  assert.ok(fs.existsSync(TRAINER), 'dist/trainer.js is missing: run npm run build');
});
