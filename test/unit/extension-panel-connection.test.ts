// The host side of the metrics page (src/extension/panel-connection.ts) without VS Code: every
// message from the page goes through the shared parser (malformed and unknown ones are logged and
// dropped, and nothing happens); `ready` gets a snapshot; the page's buttons reach their actions;
// and during a REAL forked training run the page receives every event exactly once, also when it
// connects mid-run. Everything posted is checked with the page's own parser (parseHostMessage)
// after a JSON round trip, as a webview would receive it.

import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Emitter } from '../../src/extension/base/emitter';
import { LabRuns } from '../../src/extension/lab/lab-runs';
import { LabState } from '../../src/extension/lab/lab-state';
import { PanelConnection, panelLabel, type PanelActions } from '../../src/extension/lab/panel-connection';
import { RunStore, readRunEvents } from '../../src/extension/runs/run-store';
import { TrainerSupervisor, type Job } from '../../src/extension/runs/supervisor';
import { PANEL_PROTOCOL_VERSION, parseHostMessage, type HostMessage } from '../../src/shared/panel-protocol';
import type { StepEvent, TrainerEvent } from '../../src/shared/protocol';
import { HISTORY_STEPS } from '../../src/extension/runs/history-sampling';
import { RunModel } from '../../webview/run-model';

const TRAINER = path.resolve(__dirname, '../../dist/trainer.js');
const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-panel-'));
const SMALL = ['--model', 'small-cnn', '--dataset', 'synthetic', '--validation-size', '64', '--batch-size', '32', '--seed', '5', '--backend', 'wasm', '--log-every', '1', '--runs-dir', runsDir];

before(() => {
  execFileSync(process.execPath, [TRAINER, 'train', ...SMALL, '--epochs', '1', '--max-steps-per-epoch', '2', '--run-name', 'disk-a', '--json']);
  fs.cpSync(path.join(runsDir, 'disk-a'), path.join(runsDir, 'disk-b'), { recursive: true });
});

interface Harness {
  connection: PanelConnection;
  posted: HostMessage[];
  actions: string[];
  log: string[];
  state: LabState;
  supervisor: TrainerSupervisor;
  settings: { smoothing: number; lossLogScale: boolean };
  settingsChanged: Emitter<void>;
}

function harness(shared?: { state: LabState; supervisor: TrainerSupervisor }): Harness {
  const posted: HostMessage[] = [];
  const actions: string[] = [];
  const log: string[] = [];
  const memento = new Map<string, unknown>();
  const state = shared?.state ?? new LabState({ get: (k) => memento.get(k), update: async (k, v) => void memento.set(k, v) });
  const supervisor = shared?.supervisor ?? new TrainerSupervisor({ maxConcurrent: () => 1, stopTimeoutMs: () => 30_000, log: () => {} });
  const recorder: PanelActions = {
    stop: (runId) => actions.push(`stop ${runId}`),
    switchMode: (mode, runId) => actions.push(`switch-mode ${mode} ${runId}`),
    exportWeights: (runId, mode) => actions.push(`export ${runId} ${mode}`),
    saveFile: (kind, name, content) => actions.push(`save ${kind} ${name} ${content.length}`),
  };
  const settings = { smoothing: 0.5, lossLogScale: true };
  const settingsChanged = new Emitter<void>();
  const connection = new PanelConnection({
    layout: 'full',
    // As a webview receives it: JSON, then the page's parser.
    post: (message) => void posted.push(parseHostMessage(JSON.parse(JSON.stringify(message)))),
    runs: new LabRuns(new RunStore(), supervisor, () => runsDir),
    state,
    supervisor,
    actions: recorder,
    settings: () => ({ ...settings }),
    onDidChangeSettings: settingsChanged.event,
    log: (line) => log.push(line),
    batchMs: 20,
  });
  return { connection, posted, actions, log, state, supervisor, settings, settingsChanged };
}

test('malformed and unknown messages are logged and dropped: no action, nothing posted', () => {
  const h = harness();
  const bad: unknown[] = [
    null,
    'ready',
    [],
    { type: 'explode' },
    { type: 'stop' },
    { type: 'stop', runId: '' },
    { type: 'stop', runId: 7 },
    { type: 'switch-mode', mode: 'xom', runId: null },
    { type: 'export-weights', runId: 'disk-a' },
    { type: 'save-file', kind: 'png', suggestedName: '../../.bashrc.png', content: 'data:image/png;base64,AAAA' },
    { type: 'save-file', kind: 'png', suggestedName: 'chart.png', content: '<svg onload=alert(1)>' },
    { type: 'save-file', kind: 'csv', suggestedName: 'data.exe', content: 'a,b' },
    { type: 'set-compare', runIds: 'disk-a' },
    { type: 'set-compare', runIds: Array.from({ length: 65 }, (_, i) => `r${i}`) },
    { type: 'select-run', runId: 'x'.repeat(513) },
    { type: 'log', level: 'fatal', message: 'x' },
    { type: 'ready' },
  ];
  for (const message of bad) h.connection.receive(message);
  assert.deepEqual(h.actions, []);
  assert.deepEqual(h.posted, []);
  assert.equal(h.log.length, bad.length);
  for (const line of h.log) assert.match(line, /^metrics panel: dropped a malformed message: /);
  assert.match(h.log[3], /message.type: expected one of ready, stop/);
  assert.match(h.log[9], /save-file.suggestedName: expected a plain file name ending in .png/);
  h.connection.dispose();
});

test('after a window reload the page shows the run followed before it, or else the newest run', async () => {
  // The state lives in the workspace's memento, which survives the reload.
  const memento = new Map<string, unknown>();
  const store = { get: (k: string) => memento.get(k), update: async (k: string, v: unknown) => void memento.set(k, v) };
  const before = new LabState(store);
  before.setActiveRun('disk-a');
  before.setCompare(['disk-b']);
  const h = harness({ state: new LabState(store), supervisor: new TrainerSupervisor({ maxConcurrent: () => 1, stopTimeoutMs: () => 30_000, log: () => {} }) });
  h.connection.receive({ type: 'ready', protocolVersion: PANEL_PROTOCOL_VERSION });
  await h.connection.settled();
  const snapshot = h.posted[0];
  assert.ok(snapshot?.type === 'snapshot');
  assert.equal(snapshot.activeRunId, 'disk-a');
  assert.deepEqual(snapshot.compare, ['disk-b']);
  h.connection.dispose();

  // Nothing followed (or a deleted run): the newest run, not an empty page.
  for (const followed of [null, 'deleted-run']) {
    const fresh = harness();
    fresh.state.setActiveRun(followed);
    fresh.connection.receive({ type: 'ready', protocolVersion: PANEL_PROTOCOL_VERSION });
    await fresh.connection.settled();
    const shown = fresh.posted[0];
    assert.ok(shown?.type === 'snapshot');
    assert.ok(shown.activeRunId === 'disk-a' || shown.activeRunId === 'disk-b', `followed ${followed}: showed ${shown.activeRunId}`);
    assert.equal(shown.runs.length, 1);
    fresh.connection.dispose();
  }
});

test('ready gets a snapshot: the followed and compared runs with their events from disk, the mode, the settings', async () => {
  const h = harness();
  h.state.setActiveRun('disk-a');
  h.state.setCompare(['disk-b', 'no-such-run']);
  h.state.setMode('dom');
  h.connection.receive({ type: 'ready', protocolVersion: PANEL_PROTOCOL_VERSION });
  await h.connection.settled();
  assert.equal(h.posted.length, 1);
  const snapshot = h.posted[0];
  assert.ok(snapshot.type === 'snapshot');
  assert.equal(snapshot.layout, 'full');
  assert.equal(snapshot.activeRunId, 'disk-a');
  assert.deepEqual(snapshot.compare, ['disk-b'], 'a run that does not exist is left out');
  assert.equal(snapshot.mode, 'dom');
  assert.deepEqual(snapshot.settings, { smoothing: 0.5, lossLogScale: true });
  assert.deepEqual(snapshot.runs.map((r) => [r.runId, r.status, r.label]), [['disk-a', 'completed', 'small-cnn · synthetic · shift · disk-a'], ['disk-b', 'completed', 'small-cnn · synthetic · shift · disk-b']]);
  const diskA = new LabRuns(new RunStore(), h.supervisor, () => runsDir).get('disk-a')!;
  assert.equal(panelLabel({ ...diskA, runId: '20261201-231959-lenet-mnist' }), 'small-cnn · synthetic · shift · 23:19:59', 'a generated run id shows its start time');
  assert.equal(snapshot.runs[0].events.length, readRunEvents(path.join(runsDir, 'disk-a')).events.length);
  h.connection.dispose();
});

test('changed settings reach an open page as a fresh snapshot (nothing before it is ready)', async () => {
  const h = harness();
  h.settingsChanged.fire();
  assert.equal(h.posted.length, 0, 'not ready yet: its ready gets the snapshot');
  h.connection.receive({ type: 'ready', protocolVersion: PANEL_PROTOCOL_VERSION });
  h.settings.smoothing = 0.9;
  h.settingsChanged.fire();
  await h.connection.settled();
  const last = h.posted.at(-1);
  assert.ok(last?.type === 'snapshot');
  assert.deepEqual(last.settings, { smoothing: 0.9, lossLogScale: true });
  assert.equal(h.posted.length, 2);
  h.connection.dispose();
  h.settingsChanged.fire();
  assert.equal(h.posted.length, 2, 'a disposed connection posts nothing');
});

test('the page\'s buttons reach their actions; selection, compare and mode changes come back to the page', async () => {
  const h = harness();
  h.connection.receive({ type: 'ready', protocolVersion: PANEL_PROTOCOL_VERSION });
  await h.connection.settled();
  h.posted.length = 0;
  h.connection.receive({ type: 'stop', runId: 'disk-a' });
  h.connection.receive({ type: 'switch-mode', mode: 'dom', runId: null });
  h.connection.receive({ type: 'export-weights', runId: 'disk-a', mode: 'aom' });
  h.connection.receive({ type: 'save-file', kind: 'csv', suggestedName: 'metrics.csv', content: 'epoch,loss\n1,0.5\n' });
  h.connection.receive({ type: 'save-file', kind: 'png', suggestedName: 'loss (1).png', content: 'data:image/png;base64,iVBORw0KGgo=' });
  h.connection.receive({ type: 'log', level: 'warn', message: 'chart overflow' });
  assert.deepEqual(h.actions, ['stop disk-a', 'switch-mode dom null', 'export disk-a aom', 'save csv metrics.csv 17', 'save png loss (1).png 34']);
  assert.deepEqual(h.log, ['metrics page warn: chart overflow']);

  h.connection.receive({ type: 'select-run', runId: 'disk-a' });
  assert.equal(h.state.activeRunId, 'disk-a');
  h.connection.receive({ type: 'set-compare', runIds: ['disk-b', 'disk-a'] });
  assert.deepEqual(h.state.compare, ['disk-b'], 'the active run is not its own comparison');
  h.state.setMode('dom');
  await h.connection.settled();
  assert.deepEqual(
    h.posted.map((m) => m.type + ('runId' in m ? ` ${m.runId}` : 'run' in m ? ` ${m.run.runId}` : 'runIds' in m ? ` ${m.runIds.join()}` : 'mode' in m ? ` ${m.mode}` : '')),
    // disk-b, the newest run, came with the snapshot (nothing was followed), so it is not added again.
    ['run-added disk-a', 'active-run disk-a', 'compare disk-b', 'mode dom'],
  );
  h.state.runRemoved('disk-b');
  await h.connection.settled();
  assert.deepEqual(h.posted.slice(-2).map((m) => m.type), ['compare', 'run-removed']);
  h.connection.dispose();
});

test('a real run: the page gets every event exactly once and in order, also a page that connects mid-run', async () => {
  const early = harness();
  early.connection.receive({ type: 'ready', protocolVersion: PANEL_PROTOCOL_VERSION });
  const { state, supervisor } = early;
  let late: Harness | null = null;
  const job: Job = supervisor.enqueue({
    runId: 'live',
    runDir: path.join(runsDir, 'live'),
    runsDir,
    title: 'live',
    model: 'small-cnn',
    dataset: 'synthetic',
    transform: 'shift',
    launch: { trainerPath: TRAINER, args: ['train', ...SMALL, '--epochs', '2', '--max-steps-per-epoch', '3', '--run-name', 'live'], cwd: runsDir },
  });
  state.setActiveRun('live');
  supervisor.onDidReceiveEvent(({ event }) => {
    if (late === null && event.type === 'epoch') {
      late = harness({ state, supervisor });
      late.connection.receive({ type: 'ready', protocolVersion: PANEL_PROTOCOL_VERSION });
    }
  });
  await new Promise<void>((resolve) => supervisor.onDidChangeJob((j) => j === job && job.state === 'completed' && resolve()));
  await new Promise((r) => setTimeout(r, 50));

  const received = (h: Harness): TrainerEvent[] =>
    h.posted.flatMap((m) => (m.type === 'snapshot' ? (m.runs.find((r) => r.runId === 'live')?.events ?? []) : m.type === 'run-added' && m.run.runId === 'live' ? m.run.events : m.type === 'events' && m.runId === 'live' ? m.events : []));
  const expected = JSON.parse(JSON.stringify(job.events));
  assert.ok(expected.length > 10);
  assert.deepEqual(JSON.parse(JSON.stringify(received(early))), expected, 'the page open from the start');
  assert.ok(late !== null);
  const lateHarness = late as Harness;
  assert.equal(lateHarness.posted[0].type, 'snapshot');
  assert.deepEqual(JSON.parse(JSON.stringify(received(lateHarness))), expected, 'the page that connected mid-run');
  const statuses = early.posted.filter((m) => m.type === 'run-status').map((m) => (m.type === 'run-status' ? m.status : ''));
  assert.deepEqual(statuses.slice(-2), ['running', 'completed']);
  early.connection.dispose();
  lateHarness.connection.dispose();
  supervisor.dispose();
});

test('a long run reaches the page thinned (its spike and last step kept), and a second snapshot does not read its file again', async () => {
  // disk-a with 3 x HISTORY_STEPS step events more before its end, one of them a loss spike.
  const dir = path.join(runsDir, 'disk-long');
  fs.cpSync(path.join(runsDir, 'disk-a'), dir, { recursive: true });
  const file = path.join(dir, 'metrics.jsonl');
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  const end = lines.findIndex((l) => l.includes('"type":"run-end"'));
  const template = JSON.parse(lines.find((l) => l.includes('"type":"step"'))!) as StepEvent;
  const count = 3 * HISTORY_STEPS;
  const extra = Array.from({ length: count }, (_, i) => JSON.stringify({ ...template, step: 100 + i, stepInEpoch: 1, loss: i === 7777 ? 1234 : 1 }));
  fs.writeFileSync(file, [...lines.slice(0, end), ...extra, ...lines.slice(end)].join('\n') + '\n');
  const stepsIn = (events: readonly TrainerEvent[]): StepEvent[] => events.filter((e): e is StepEvent => e.type === 'step');
  const whole = readRunEvents(dir).events;

  const h = harness();
  h.state.setActiveRun('disk-long');
  h.state.setCompare([]);
  h.connection.receive({ type: 'ready', protocolVersion: PANEL_PROTOCOL_VERSION });
  await h.connection.settled();
  const snapshot = h.posted[0];
  assert.ok(snapshot?.type === 'snapshot');
  const sent = snapshot.runs[0].events;
  assert.ok(stepsIn(sent).length <= HISTORY_STEPS + 2, `${stepsIn(sent).length} steps sent of ${stepsIn(whole).length}`);
  assert.deepEqual(sent.filter((e) => e.type !== 'step'), JSON.parse(JSON.stringify(whole.filter((e) => e.type !== 'step'))), 'every other event');
  assert.ok(stepsIn(sent).some((s) => s.loss === 1234), 'the spike');
  const model = RunModel.fromPanelRun(snapshot.runs[0]);
  assert.equal(model.lastStep?.step, stepsIn(whole).at(-1)!.step, 'the page\'s last step is the run\'s');

  // The file's first byte changed in place: a snapshot that read it again would find line 1 damaged.
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, 'X', 0);
  fs.closeSync(fd);
  h.connection.receive({ type: 'ready', protocolVersion: PANEL_PROTOCOL_VERSION });
  await h.connection.settled();
  const again = h.posted.at(-1);
  assert.ok(again?.type === 'snapshot');
  assert.deepEqual(again.runs[0].events, sent);
  h.connection.dispose();
  fs.rmSync(dir, { recursive: true });
});
