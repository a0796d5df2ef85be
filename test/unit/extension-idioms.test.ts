// Issue 15, VS Code idioms and the first minutes, as plain Node: the context keys the extension
// sets (lab/context-keys.ts) against the `when` clauses package.json holds (a command hidden, then
// shown, as the state changes), the tree's per-item context values against the menus' regexes,
// the walkthrough's steps and media (present, and in the .vsix by `vsce ls`), the snippets and
// the New Experiment File text (valid experiments by the extension's own parser), and the time
// per epoch and warnings of Start Training (runs/choice-estimates.ts) against the bench table and
// the trainer's own data defaults and FLOPs counter.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CONTEXT_KEY_DEFAULTS, changedKeys, decideContextKeys, runContextValue, type ContextKeys } from '../../src/extension/lab/context-keys';
import { EXPERIMENT_SCHEMA_URI, SCHEMA_SCHEME, experimentNameProblem, newExperimentText, suggestExperimentName } from '../../src/extension/lab/experiment-template';
import type { LabRun } from '../../src/extension/lab/lab-runs';
import { runTreeItem, shortTime } from '../../src/extension/lab/tree-items';
import { CIFAR_FILES, FASHION_MNIST_DIR, MACS, WASM_STEP, choiceWarnings, dataProblem, defaultDataCacheDir, effectiveBackend, estimateEpoch, type DataPlaces } from '../../src/extension/runs/choice-estimates';
import type { RunRecord } from '../../src/extension/runs/run-store';
import type { Job } from '../../src/extension/runs/supervisor';
import { parseExperiment } from '../../src/extension/runs/trainer-args';
import { MODEL_NAMES, type ModelName } from '../../src/shared/config';
import { CIFAR_ARCHIVES, CIFAR_LAYOUTS } from '../../src/trainer/data/cifar';
import { FASHION_MNIST_DEFAULT_DIR } from '../../src/trainer/data/fashion-mnist';
import { defaultCacheDir } from '../../src/trainer/data/index';
import { buildModel } from '../../src/trainer/models/index';
import { countFlops } from '../../src/trainer/nn/flops';
import { Rng } from '../../src/trainer/rng';
import { fakeContext, loadExtension } from '../fixtures/extension/load-extension';
import { createVscodeStub } from '../fixtures/extension/vscode-stub';

const ROOT = path.resolve(__dirname, '../..');
interface MenuItem { command: string; when?: string; group?: string }
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  publisher: string;
  activationEvents: string[];
  contributes: {
    viewsWelcome: { view: string; contents: string }[];
    commands: { command: string }[];
    menus: Record<string, MenuItem[]>;
    snippets: { language: string; path: string }[];
    walkthroughs: { id: string; steps: { id: string; completionEvents?: string[]; media: { markdown?: string; image?: string } }[] }[];
  };
};

function record(runId: string, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    runId, dir: `/runs/${runId}`, status: 'completed', reason: null, model: 'lenet', dataset: 'mnist', transform: 'shift', preset: 'sound', epochs: 3, epochsCompleted: 3,
    best: { epoch: 3, aom: 0.981, dom: 0.975, split: 'validation' }, test: { aom: 0.9871, dom: 0.979, epoch: 3 }, baseline: null, domFlopsTarget: null, domSearches: [],
    hasCheckpoint: true, createdMs: 0, lastWriteMs: 0, problems: [], ...extra,
  };
}
function job(runId: string, state: Job['state']): Job {
  return { runId, state, reason: null, events: [], exit: null, process: null, spec: { runId, runDir: `/runs/${runId}`, runsDir: '/runs', title: runId, model: 'lenet', dataset: 'mnist', transform: 'shift', launch: { trainerPath: '', args: [], cwd: '' } } };
}
const finished = (runId: string, status: LabRun['status']): LabRun => ({ runId, dir: `/runs/${runId}`, status, reason: null, record: record(runId, { status: status === 'incomplete' ? 'incomplete' : (status as RunRecord['status']) }), job: null });
const live = (runId: string, state: Job['state'] = 'running'): LabRun => ({ runId, dir: `/runs/${runId}`, status: state, reason: null, record: null, job: job(runId, state) });
const elsewhere = (runId: string): LabRun => ({ ...finished(runId, 'incomplete'), status: 'running', lockedBy: { pid: 4242, host: 'h', command: 'was-train train', startedAt: '2026-12-06T09:00:00Z', processStart: null } });

/**
 * The `when` clauses package.json uses, evaluated as VS Code does for this subset: `&&`, `||`,
 * `!key`, `key`, `key == value`, `key > n`, `key =~ /re/`. Anything else fails the test, so a new
 * clause form is added here on purpose.
 */
function whenHolds(clause: string, keys: Record<string, unknown>): boolean {
  return clause.split('||').some((alternative) =>
    alternative.split('&&').every((raw) => {
      const term = raw.trim();
      let m: RegExpMatchArray | null;
      if ((m = /^(\S+) =~ \/(.*)\/$/.exec(term))) return new RegExp(m[2]).test(String(keys[m[1]] ?? ''));
      if ((m = /^(\S+) == (\S+)$/.exec(term))) return String(keys[m[1]]) === m[2];
      if ((m = /^(\S+) > (\d+)$/.exec(term))) return Number(keys[m[1]]) > Number(m[2]);
      if ((m = /^!([\w.]+)$/.exec(term))) return !keys[m[1]];
      if ((m = /^([\w.]+)$/.exec(term))) return Boolean(keys[m[1]]);
      throw new Error(`when-clause form not understood by the test: ${term}`);
    }),
  );
}

const palette = new Map(manifest.contributes.menus.commandPalette.map((item) => [item.command, item.when ?? '']));
const offeredInPalette = (command: string, keys: ContextKeys): boolean => !palette.has(command) || whenHolds(palette.get(command)!, { ...keys });

test('context keys: decided from the runs and the view state; only the changed ones are set again', () => {
  const keys = decideContextKeys({ runs: [finished('done', 'completed'), finished('s', 'stopped')], activeRunId: 'done', mode: 'aom', panelVisible: false, studies: [] });
  assert.deepEqual(keys, {
    'was.runCount': 2, 'was.hasLiveRun': false, 'was.hasActiveRun': true, 'was.runIsLive': false,
    'was.hasResumableRun': true, 'was.hasFinishedRun': true, 'was.panelOpen': false, 'was.mode': 'aom',
    'was.studyCount': 0, 'was.hasLiveStudy': false,
  });
  const withLive = decideContextKeys({ runs: [live('now'), finished('done', 'completed')], activeRunId: 'now', mode: 'dom', panelVisible: true, studies: [] });
  assert.equal(withLive['was.hasLiveRun'], true);
  assert.equal(withLive['was.runIsLive'], true);
  assert.equal(withLive['was.hasResumableRun'], false);
  assert.deepEqual(changedKeys(keys, withLive), ['was.hasLiveRun', 'was.runIsLive', 'was.hasResumableRun', 'was.panelOpen', 'was.mode']);
  assert.equal(changedKeys(null, keys).length, Object.keys(CONTEXT_KEY_DEFAULTS).length);
  // Another process's run: not live here (no Stop), not over (no Resume, Delete, Export).
  const foreign = decideContextKeys({ runs: [elsewhere('x')], activeRunId: 'x', mode: 'aom', panelVisible: false, studies: [] });
  assert.deepEqual([foreign['was.hasLiveRun'], foreign['was.runIsLive'], foreign['was.hasResumableRun'], foreign['was.hasFinishedRun']], [false, false, false, false]);
  // A followed run that is no longer listed (deleted) is not an active run.
  assert.equal(decideContextKeys({ runs: [], activeRunId: 'gone', mode: 'aom', panelVisible: false, studies: [] })['was.hasActiveRun'], false);
});

test('palette: Stop is hidden until a trainer of this window runs, Open Metrics Panel while the panel shows; Resume, Delete, Export follow the runs', () => {
  const idle = decideContextKeys({ runs: [finished('done', 'completed')], activeRunId: 'done', mode: 'aom', panelVisible: true, studies: [] });
  assert.equal(offeredInPalette('was.stopTraining', idle), false);
  assert.equal(offeredInPalette('was.openMetricsPanel', idle), false);
  assert.equal(offeredInPalette('was.resumeRun', idle), false, 'a completed run has nothing to resume');
  assert.equal(offeredInPalette('was.deleteRun', idle), true);
  assert.equal(offeredInPalette('was.compareRuns', idle), false, 'one run: nothing to compare');

  const training = decideContextKeys({ runs: [live('now'), finished('done', 'completed'), finished('s', 'stopped')], activeRunId: 'now', mode: 'aom', panelVisible: false, studies: [] });
  assert.equal(offeredInPalette('was.stopTraining', training), true);
  assert.equal(offeredInPalette('was.openMetricsPanel', training), true);
  assert.equal(offeredInPalette('was.resumeRun', training), true);
  assert.equal(offeredInPalette('was.compareRuns', training), true);

  const empty = { ...CONTEXT_KEY_DEFAULTS };
  for (const command of ['was.stopTraining', 'was.resumeRun', 'was.deleteRun', 'was.exportWeights', 'was.revealRunFolder', 'was.compareRuns'])
    assert.equal(offeredInPalette(command, empty), false, `${command} with no runs`);
  for (const command of ['was.startTraining', 'was.newExperimentFile', 'was.installTensorflowBackend', 'was.switchMode', 'was.showLog', 'was.openMetricsPanel'])
    assert.equal(offeredInPalette(command, empty), true, `${command} with no runs`);
});

test('palette: Stop Study only while a study process of this window runs, Open Study Panel once a study is listed', () => {
  const none = decideContextKeys({ runs: [], activeRunId: null, mode: 'aom', panelVisible: false, studies: [] });
  assert.equal(offeredInPalette('was.stopStudy', none), false);
  assert.equal(offeredInPalette('was.openStudyPanel', none), false);
  assert.equal(offeredInPalette('was.runStudy', none), true);
  const finishedStudy = decideContextKeys({ runs: [], activeRunId: null, mode: 'aom', panelVisible: false, studies: [{ live: false }] });
  assert.deepEqual([offeredInPalette('was.stopStudy', finishedStudy), offeredInPalette('was.openStudyPanel', finishedStudy)], [false, true]);
  const running = decideContextKeys({ runs: [], activeRunId: null, mode: 'aom', panelVisible: false, studies: [{ live: false }, { live: true }] });
  assert.deepEqual([running['was.studyCount'], offeredInPalette('was.stopStudy', running)], [2, true]);
});

test('package.json: every command that acts on a run has a palette when-clause, and every key it names is one the extension sets', () => {
  const always = new Set(['was.startTraining', 'was.newExperimentFile', 'was.installTensorflowBackend', 'was.switchMode', 'was.refreshRuns', 'was.showLog']);
  const known = new Set(Object.keys(CONTEXT_KEY_DEFAULTS));
  for (const { command } of manifest.contributes.commands) {
    if (always.has(command)) continue;
    // Run Study has its own checks (a study file to pick); the commands that act on a run or a study are gated.
    if (!/^was\.(stopTraining|resumeRun|deleteRun|exportWeights|openMetricsPanel|compareRuns|revealRunFolder|stopStudy|openStudyPanel)$/.test(command)) continue;
    assert.ok(palette.get(command), `${command} has a commandPalette when-clause`);
  }
  for (const [command, when] of palette)
    for (const key of when.match(/was\.[A-Za-z]+/g) ?? []) assert.ok(known.has(key), `${command}: ${key} is set by lab/context-keys.ts`);
});

test('the running extension sets the keys: Delete is hidden with no runs, then shown once a finished run is listed; Stop stays hidden', { timeout: 120_000 }, async () => {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'was-keys-'));
  const { api, record: stub } = createVscodeStub(workspace);
  const { extension } = loadExtension<{ activate(context: unknown): unknown }>(api);
  const { context, subscriptions } = fakeContext(workspace);
  extension.activate(context);
  const keys = (): Record<string, unknown> => Object.fromEntries(stub.contextKeys);
  // At once, without reading the disk: the mode and the panel.
  assert.equal(keys()['was.mode'], 'aom');
  assert.equal(keys()['was.panelOpen'], false);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  assert.equal(whenHolds(palette.get('was.deleteRun')!, keys()), false, 'no runs: Delete is hidden');
  // A real run, written by the trainer into the workspace's runs folder.
  execFileSync(process.execPath, [path.join(ROOT, 'dist/trainer.js'), '--model', 'lenet', '--dataset', 'synthetic', '--epochs', '1', '--max-steps-per-epoch', '1', '--eval-batch-size', '64',
    '--validation-size', '64', '--backend', 'cpu', '--runs-dir', path.join(workspace, '.was', 'runs'), '--plain'], { cwd: workspace, encoding: 'utf8' });
  await stub.commands.get('was.refreshRuns')!();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.equal(keys()['was.runCount'], 1);
  assert.equal(whenHolds(palette.get('was.deleteRun')!, keys()), true, 'a finished run: Delete is shown');
  assert.equal(whenHolds(palette.get('was.exportWeights')!, keys()), true);
  assert.equal(whenHolds(palette.get('was.stopTraining')!, keys()), false, 'nothing trains: Stop is hidden');
  assert.equal(whenHolds(palette.get('was.resumeRun')!, keys()), false, 'completed: nothing to resume');
  for (const s of subscriptions) s.dispose();
  fs.rmSync(workspace, { recursive: true, force: true });
});

test('tree items: context values tell a live, a finished, a stopped and another process\'s run apart; the menus match them', () => {
  const menus = manifest.contributes.menus['view/item/context'];
  const offered = (command: string, contextValue: string, inline = false): boolean =>
    menus.some((m) => m.command === command && (m.group ?? '').startsWith('inline') === inline && whenHolds(m.when ?? '', { view: 'wasLab.runs', viewItem: contextValue }));
  const values = {
    running: runContextValue(live('a'), null),
    queued: runContextValue(live('q', 'queued'), null),
    completed: runContextValue(finished('c', 'completed'), null),
    stopped: runContextValue(finished('s', 'stopped'), null),
    incomplete: runContextValue(finished('i', 'incomplete'), null),
    elsewhere: runContextValue(elsewhere('e'), null),
    shownCompleted: runContextValue(finished('c', 'completed'), 'c'),
    shownRunning: runContextValue(live('a'), 'a'),
  };
  assert.deepEqual(values, {
    running: 'wasRun.running', queued: 'wasRun.queued', completed: 'wasRun.completed', stopped: 'wasRun.stopped', incomplete: 'wasRun.incomplete',
    elsewhere: 'wasRun.elsewhere', shownCompleted: 'wasRun.completed.shown', shownRunning: 'wasRun.running.shown',
  });
  const table = (command: string, inline = false): string[] => Object.entries(values).filter(([, v]) => offered(command, v, inline)).map(([k]) => k);
  assert.deepEqual(table('was.stopTraining'), ['running', 'queued', 'shownRunning']);
  assert.deepEqual(table('was.stopTraining', true), ['running', 'queued', 'shownRunning']);
  assert.deepEqual(table('was.resumeRun'), ['stopped', 'incomplete']);
  assert.deepEqual(table('was.deleteRun'), ['completed', 'stopped', 'incomplete', 'shownCompleted']);
  assert.deepEqual(table('was.exportWeights'), ['completed', 'stopped', 'incomplete', 'shownCompleted']);
  // The inline Open button is not offered on the run the visible panel already shows.
  assert.deepEqual(table('was.openMetricsPanel', true), ['running', 'queued', 'completed', 'stopped', 'incomplete', 'elsewhere']);
});

test('tree labels: the setup, then the start time (kept substring "lenet · mnist · shift"); the tooltip has the full description', () => {
  const now = new Date(2026, 11, 6, 11, 0).getTime();
  const started = new Date(2026, 11, 6, 9, 7, 31).getTime();
  const run: LabRun = { ...finished('20261206-090731-lenet-mnist', 'completed'), record: record('20261206-090731-lenet-mnist', { createdMs: started, lastWriteMs: started + 60_000 }) };
  const item = runTreeItem(run, 'aom', now);
  assert.equal(item.label, 'lenet · mnist · shift · 09:07');
  assert.ok(item.label.includes('lenet · mnist · shift'));
  assert.match(item.tooltip, /lenet · mnist · shift · AOM 98\.71% · DOM 97\.90% \(test\)/);
  assert.match(item.tooltip, /Started: 2026-12-06 09:07:31 · last written 2026-12-06 09:08:31/);
  assert.equal(shortTime(new Date(2026, 11, 5, 23, 59).getTime(), now), 'Dec 5 23:59');
  assert.equal(shortTime(new Date(2025, 0, 2, 8, 5).getTime(), now), 'Jan 2 2025 08:05');
  // No time known (a queued run, a folder without its creation time): the setup alone.
  assert.equal(runTreeItem(live('q', 'queued'), 'aom', now).label, 'lenet · mnist · shift');
});

test('walkthrough: every step has completion events and media that exist; media, snippets, README images, LICENSE and CHANGELOG are in the .vsix (vsce ls)', { timeout: 120_000 }, () => {
  const [walkthrough] = manifest.contributes.walkthroughs;
  assert.deepEqual(walkthrough.steps.map((s) => s.id), ['backend', 'firstRun', 'experimentFile', 'switchMode', 'export', 'study']);
  const media: string[] = [];
  for (const step of walkthrough.steps) {
    assert.ok((step.completionEvents ?? []).length > 0, `${step.id}: completion events`);
    for (const event of step.completionEvents!) assert.match(event, /^(onCommand|onContext|onSettingChanged|onStepSelected|onView|onLink)(:|$)/, `${step.id}: ${event}`);
    const file = step.media.markdown ?? step.media.image;
    assert.ok(file && fs.existsSync(path.join(ROOT, file)), `${step.id}: ${file} exists`);
    media.push(file!);
  }
  // The Runs tree's welcome links the walkthrough by its full id.
  const welcome = manifest.contributes.viewsWelcome.map((v) => v.contents).join('\n');
  assert.ok(welcome.includes(`command:workbench.action.openWalkthrough?${encodeURIComponent(JSON.stringify(`${manifest.publisher}.${manifest.name}#${walkthrough.id}`))}`), welcome);
  assert.match(welcome, /command:was\.newExperimentFile/);
  const study = fs.readFileSync(path.join(ROOT, walkthrough.steps.find((s) => s.id === 'study')!.media.markdown!), 'utf8');
  assert.match(study, /\*\.study\.json/);
  assert.match(study, /WAS: Run Study/);
  const readmeImages = [...fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8').matchAll(/!\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1]);
  assert.ok(readmeImages.length > 0 && readmeImages.every((i) => !/^[a-z]+:/.test(i)), `README images are relative to the package: ${readmeImages.join(', ')}`);
  const shipped = new Set(execFileSync(process.execPath, [path.join(ROOT, 'node_modules/@vscode/vsce/vsce'), 'ls'], { cwd: ROOT, encoding: 'utf8' }).split('\n'));
  for (const file of [...media, ...readmeImages, ...manifest.contributes.snippets.map((s) => path.normalize(s.path)), 'LICENSE', 'CHANGELOG.md', 'docs/method.md'])
    assert.ok(shipped.has(file), `${file} is in the .vsix`);
});

test('snippets and New Experiment File: each, filled with its defaults, is an experiment the extension accepts', () => {
  const [contributed] = manifest.contributes.snippets;
  assert.equal(contributed.language, 'json');
  const snippets = JSON.parse(fs.readFileSync(path.join(ROOT, contributed.path), 'utf8')) as Record<string, { prefix: string; include: string[]; body: string[] }>;
  assert.deepEqual(Object.values(snippets).map((s) => s.prefix), ['was-minimal', 'was-baseline', 'was-dom-flops']);
  for (const [name, snippet] of Object.entries(snippets)) {
    assert.deepEqual(snippet.include, ['**/*.was.json'], `${name}: offered in experiment files`);
    // Snippet syntax to text: a choice's first value, a placeholder's default, `\$` as `$`.
    const text = snippet.body.join('\n').replace(/\$\{\d+\|([^,|]+)[^}]*\}/g, '$1').replace(/\$\{\d+:([^}]*)\}/g, '$1').replace(/\\\$/g, '$');
    const parsed = parseExperiment(`${name}.was.json`, text);
    assert.equal(parsed.options.$schema, undefined, '$schema is a note for editors, not an option');
    assert.match(text, new RegExp(`"\\$schema": "${EXPERIMENT_SCHEMA_URI}"`));
    if (snippet.prefix === 'was-baseline') assert.equal(parsed.config.baseline, true);
    if (snippet.prefix === 'was-dom-flops') assert.equal(parsed.config.dom.flopsTarget, 0.7);
  }
  // The `$schema` they write is served by the extension, which opening it activates.
  assert.ok(EXPERIMENT_SCHEMA_URI.startsWith(`${SCHEMA_SCHEME}:`));
  assert.ok(manifest.activationEvents.includes(`onFileSystem:${SCHEMA_SCHEME}`));
  const fresh = parseExperiment('experiment.was.json', newExperimentText());
  assert.deepEqual([fresh.config.model, fresh.config.data.name, fresh.config.was.transform, fresh.config.preset, fresh.config.epochs, fresh.config.seed, fresh.config.baseline], ['lenet', 'mnist', 'shift', 'sound', 3, 1, true]);
  const taken = new Set(['experiment.was.json']);
  assert.equal(suggestExperimentName((n) => taken.has(n)), 'experiment-2.was.json');
  assert.match(experimentNameProblem('run.json', () => false) ?? '', /ending in \.was\.json/);
  assert.match(experimentNameProblem('a/b.was.json', () => false) ?? '', /without a folder/);
  assert.match(experimentNameProblem('experiment.was.json', (n) => taken.has(n)) ?? '', /exists/);
  assert.equal(experimentNameProblem('lenet-shift.was.json', () => false), null);
});

test('epoch estimates: the wasm steps are the bench table\'s; a model on another input is scaled by MACs the trainer counts', () => {
  const bench = fs.readFileSync(path.join(ROOT, 'docs/benchmarks.md'), 'utf8');
  for (const model of MODEL_NAMES) {
    const step = WASM_STEP[model];
    if ('like' in step) continue;
    const row = new RegExp(`^\\| ${model} \\| (\\d+)x(\\d+)x(\\d+) \\| 64 \\| wasm \\| 2 \\| ([\\d.]+) (ms|s) \\|`, 'm').exec(bench);
    assert.ok(row, `${model} in the bench table`);
    assert.equal(step.ms, Number(row[4]) * (row[5] === 's' ? 1000 : 1), `${model}: bench step`);
    assert.equal(step.input, row[3] === '1' ? 'gray28' : 'rgb32');
  }
  // The MACs table is what countFlops says (the small models; the large ones take long to build).
  for (const model of ['lenet', 'small-cnn', 'mobilenetv2'] as ModelName[])
    for (const [input, spec] of [['gray28', { height: 28, width: 28, channels: 1, numClasses: 10 }], ['rgb32', { height: 32, width: 32, channels: 3, numClasses: 10 }]] as const) {
      const macs = countFlops(buildModel(model, spec, { rng: new Rng(1), bnEpsilon: 1e-5 })).total / 1e6;
      assert.ok(Math.abs(macs - MACS[model][input]) < 0.06, `${model} ${input}: ${macs.toFixed(2)} M MACs, table ${MACS[model][input]}`);
    }
  // LeNet on MNIST: 55,000 training images at 17.8/64 ms, plus AOM and DOM on 5,000 held out.
  const lenet = estimateEpoch('lenet', 'mnist', 'sound', 'wasm')!;
  assert.ok(Math.abs(lenet.seconds - (17.8 / 64 / 1000) * (55_000 + (2 / 3) * 5_000)) < 1e-9);
  assert.equal(lenet.text, '≈ 16s per epoch (wasm, 2 cores)');
  assert.equal(lenet.measured, true);
  // GoogLeNet is scaled from ResNet-18 by MACs: over an hour per CIFAR-10 epoch on wasm.
  const googlenet = estimateEpoch('googlenet', 'cifar10', 'sound', 'wasm')!;
  assert.equal(googlenet.measured, false);
  assert.ok(googlenet.seconds > 3600, `GoogLeNet on CIFAR-10, wasm: ${googlenet.text}`);
  assert.match(googlenet.text, /scaled by MACs/);
  // The reference preset selects on the test set: every training image trains.
  assert.ok(estimateEpoch('lenet', 'mnist', 'reference', 'wasm')!.seconds > lenet.seconds);
  assert.equal(estimateEpoch('lenet', 'mnist', 'sound', 'tensorflow-gpu'), null);
  assert.equal(effectiveBackend('auto', false), 'wasm');
  assert.notEqual(effectiveBackend('auto', true), 'wasm');
});

test('warnings: hours of training, and data that is not on this machine; the defaults mirrored are the trainer\'s', () => {
  assert.equal(FASHION_MNIST_DIR, FASHION_MNIST_DEFAULT_DIR);
  for (const name of ['cifar10', 'cifar100'] as const) {
    assert.equal(CIFAR_FILES[name].archive, CIFAR_ARCHIVES[name].fileName);
    assert.equal(CIFAR_FILES[name].folder, CIFAR_LAYOUTS[name].folder);
    assert.equal(CIFAR_FILES[name].megabytes, Math.round(CIFAR_ARCHIVES[name].size / 1e6));
  }
  assert.equal(defaultDataCacheDir(), defaultCacheDir());
  assert.equal(defaultDataCacheDir({ WAS_LAB_DATA: '/data' }), '/data');

  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'was-data-'));
  const places: DataPlaces = { folders: {}, download: false, cacheDir: cache, exists: (f) => fs.existsSync(f) };
  assert.deepEqual(choiceWarnings({ model: 'lenet', dataset: 'mnist', preset: 'sound', epochs: 3 }, 'wasm', places), []);
  const long = choiceWarnings({ model: 'googlenet', dataset: 'cifar10', preset: 'sound', epochs: 1 }, 'wasm', places);
  assert.equal(long.length, 2);
  assert.match(long[0], /^1 epoch of googlenet on cifar10 take about \d+h\d\dm on wasm/);
  assert.match(long[1], /cifar10 is not in .*cifar-10-binary\.tar\.gz or cifar-10-batches-bin\/.*was\.data\.download/);
  // The reference preset's 500 LeNet epochs on MNIST: hours.
  assert.match(choiceWarnings({ model: 'lenet', dataset: 'mnist', preset: 'reference', epochs: 500 }, 'wasm', places)[0], /^500 epochs of lenet on mnist take about \d+h/);
  // On a backend without a number, no time warning (nothing measured to warn with).
  assert.deepEqual(choiceWarnings({ model: 'resnet34', dataset: 'mnist', preset: 'sound', epochs: 100 }, 'tensorflow-gpu', places), []);

  assert.equal(dataProblem('cifar10', { ...places, download: true })?.kind, 'download');
  fs.writeFileSync(path.join(cache, 'cifar-10-binary.tar.gz'), '');
  assert.equal(dataProblem('cifar10', places), null);
  assert.equal(dataProblem('cifar100', places)?.kind, 'missing');
  assert.equal(dataProblem('cifar100', { ...places, folders: { cifar100: cache } }), null);
  assert.match(dataProblem('fashion-mnist', { ...places, exists: () => false })?.text ?? '', /Debian's dataset-fashion-mnist package/);
  assert.equal(dataProblem('fashion-mnist', { ...places, folders: { 'fashion-mnist': cache } }), null);
  assert.equal(dataProblem('synthetic', places), null);
  fs.rmSync(cache, { recursive: true });
});
