// The command lines the extension gives was-train, read back by the trainer's own parser
// (src/trainer/args.ts): quick-pick choices and settings become the intended config; an
// experiment file's own values beat the settings; the runs folder and run name are always the
// extension's. Also experiment-file errors, remembered choices, run names and job specs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CONFIG_FLAGS, parseArgs } from '../../src/trainer/args';
import { FIELDS } from '../../src/shared/config';
import { resumeJob, trainingJob, type LaunchContext } from '../../src/extension/runs/job-specs';
import { SETTING_DEFAULTS, readSettings, resolveRunsDir } from '../../src/extension/runs/settings';
import { FLAG_FOR_PATH, domSearchArgs, exportArgs, newRunName, parseExperiment, parseQuickChoices, resumeArgs, trainArgs, type QuickChoices } from '../../src/extension/runs/trainer-args';

const choices: QuickChoices = { model: 'resnet18', dataset: 'cifar10', transform: 'crop', preset: 'reference', epochs: 7 };
const options = { settings: SETTING_DEFAULTS, runsDir: '/ws/.was/runs', runName: 'r1', backendPaths: [] as string[] };

/** What the trainer would run with (the args minus the leading `train` command). */
function optionsOf(args: string[]) {
  assert.equal(args[0], 'train');
  const parsed = parseArgs(args.slice(1));
  assert.equal(parsed.kind, 'train');
  if (parsed.kind !== 'train') throw new Error('unreachable');
  assert.equal(parsed.options.output, 'plain', 'the output channel gets plain lines');
  return parsed.options;
}

/** The config the trainer would run with. */
function configOf(args: string[]) {
  return optionsOf(args).config;
}

test('every flag the extension passes is the CLI flag for the same option', () => {
  for (const [configPath, flag] of Object.entries(FLAG_FOR_PATH)) {
    assert.ok(FIELDS[configPath], `${configPath} is an option`);
    assert.equal(CONFIG_FLAGS.find((f) => f.flag === flag)?.path, configPath, `--${flag}`);
  }
});

test('quick-pick choices and settings round-trip through the trainer\'s parser', () => {
  const settings = readSettings((key) => ({ backend: 'wasm', 'transform.translate': 0.2, 'transform.cropScale': [0.5, 0.9], logEverySteps: 5, 'data.folders': { cifar10: '/data/c10.tar.gz' }, 'data.download': true })[key]);
  const { config, backendPaths } = optionsOf(trainArgs(choices, { ...options, settings, backendPaths: ['/storage/backends'] }));
  assert.equal(config.model, 'resnet18');
  assert.equal(config.data.name, 'cifar10');
  assert.equal(config.data.dir, '/data/c10.tar.gz');
  assert.equal(config.data.download, true);
  assert.equal(config.was.transform, 'crop');
  assert.equal(config.preset, 'reference');
  assert.equal(config.epochs, 7, 'the chosen epochs beat the preset\'s 500');
  assert.equal(config.batchSize, 128, 'the rest of the preset applies');
  assert.equal(config.backend, 'wasm');
  assert.equal(config.was.translate, 0.2);
  assert.deepEqual(config.was.cropScale, [0.5, 0.9]);
  assert.equal(config.logEverySteps, 5);
  // A process flag, not an option: the run's config.json never records where code was loaded from.
  assert.deepEqual(backendPaths, ['/storage/backends']);
  assert.equal(Object.hasOwn(config, 'backendPaths'), false);
  assert.equal(config.runsDir, '/ws/.was/runs');
  assert.equal(config.runName, 'r1');
});

test('an experiment file: its values win over settings, the extension still places the run', () => {
  const file = '/ws/exp/lenet.was.json';
  const experiment = parseExperiment(file, JSON.stringify({ $schema: './schema.json', model: 'lenet', backend: 'cpu', was: { translate: 0.1 }, runsDir: 'elsewhere', epochs: 4 }));
  const settings = { ...SETTING_DEFAULTS, backend: 'wasm' as const, translate: 0.25, cropRatio: [0.5, 2] as [number, number] };
  const args = trainArgs(experiment, { ...options, settings });
  assert.deepEqual(args.slice(0, 4), ['train', '--plain', '--config', file]);
  assert.ok(!args.includes('--backend') && !args.includes('--translate'), 'settings do not override what the file sets');
  // The trainer reads the file itself; reproduce that with the parsed options.
  const patched = configOf(args.map((a) => (a === file ? writeTemp(experiment.options) : a)));
  assert.equal(patched.backend, 'cpu');
  assert.equal(patched.was.translate, 0.1);
  assert.deepEqual(patched.was.cropRatio, [0.5, 2], 'a setting for what the file leaves open applies');
  assert.equal(patched.runsDir, '/ws/.was/runs');
  assert.equal(patched.epochs, 4);
});

test('a broken experiment file says which file and which option; nothing is built from it', () => {
  assert.throws(() => parseExperiment('/ws/a.was.json', '{"model": "alexnet"}'), /^ValidationError: \/ws\/a.was.json: model: expected one of lenet/);
  assert.throws(() => parseExperiment('/ws/a.was.json', '{"modle": "lenet"}'), /\/ws\/a.was.json: modle: unknown option/);
  assert.throws(() => parseExperiment('/ws/a.was.json', '{"model": '), /\/ws\/a.was.json: not valid JSON/);
  assert.throws(() => parseExperiment('/ws/a.was.json', '[1, 2]'), /must hold a JSON object/);
});

test('remembered choices are parsed, not trusted', () => {
  assert.deepEqual(parseQuickChoices(JSON.parse(JSON.stringify(choices))), choices);
  assert.equal(parseQuickChoices({ ...choices, model: 'alexnet' }), null);
  assert.equal(parseQuickChoices({ ...choices, epochs: 0 }), null);
  assert.equal(parseQuickChoices('lenet'), null);
  assert.equal(parseQuickChoices(undefined), null);
});

test('run names: the trainer\'s format, unique against folders and queued runs', () => {
  const now = new Date('2026-11-28T02:03:04Z');
  assert.equal(newRunName('lenet', 'mnist', () => false, now), '20261128-020304-lenet-mnist');
  const taken = new Set(['20261128-020304-lenet-mnist', '20261128-020304-lenet-mnist-2']);
  assert.equal(newRunName('lenet', 'mnist', (n) => taken.has(n), now), '20261128-020304-lenet-mnist-3');
});

test('job specs: the trainer bundle forked as Node, in the workspace, keyed by the run name', () => {
  const ctx: LaunchContext = { trainerPath: '/ext/dist/trainer.js', cwd: '/ws', runsDir: '/ws/.was/runs', settings: SETTING_DEFAULTS, backendPaths: [], taken: () => false, now: new Date('2026-11-28T02:03:04Z') };
  const spec = trainingJob(choices, ctx);
  assert.equal(spec.runId, '20261128-020304-resnet18-cifar10');
  assert.equal(spec.runDir, path.join('/ws/.was/runs', spec.runId));
  assert.equal(spec.launch.trainerPath, '/ext/dist/trainer.js');
  assert.equal(spec.launch.execPath, undefined, 'VS Code\'s own runtime by default');
  assert.equal(spec.launch.env?.ELECTRON_RUN_AS_NODE, '1');
  assert.equal(configOf(spec.launch.args).runName, spec.runId);
  const named = trainingJob(parseExperiment('/ws/x.was.json', '{"runName": "mine"}'), ctx);
  assert.equal(named.runId, 'mine', 'an experiment file may name its run');
  assert.equal(trainingJob(choices, { ...ctx, settings: { ...SETTING_DEFAULTS, nodePath: '/usr/bin/node' } }).launch.execPath, '/usr/bin/node');
  assert.equal(spec.launch.env?.WAS_LAB_BACKEND_PATH, process.env.WAS_LAB_BACKEND_PATH, 'no installed backend: the environment as it was');
  const withBackend = { ...ctx, backendPaths: ['/storage/backends'] };
  assert.ok(optionsOf(trainingJob(choices, withBackend).launch.args).backendPaths.includes('/storage/backends'));
  const resume = resumeJob({ runId: 'r', dir: '/ws/.was/runs/r', model: 'lenet', dataset: 'mnist', transform: 'shift' }, [], withBackend);
  assert.deepEqual(resume.launch.args, resumeArgs('/ws/.was/runs/r'));
  assert.equal(resume.launch.env?.WAS_LAB_BACKEND_PATH?.split(path.delimiter)[0], '/storage/backends', 'resume takes no --backend-path: the environment carries it');
  assert.deepEqual(resumeArgs('/d'), ['resume', '/d', '--plain']);
  assert.deepEqual(exportArgs('/d', 'aom', '/out'), ['export', '/d', '--mode', 'aom', '--out', '/out']);
  assert.deepEqual(exportArgs('/d', 'dom', '/out', 0.7), ['export', '/d', '--mode', 'dom', '--out', '/out', '--flops-target', '0.7']);
  assert.deepEqual(domSearchArgs('/d', 0.5), ['dom', '/d', '--flops-target', '0.5', '--json']);
});

test('a run name that leaves the runs folder or is taken is refused before anything is written (issue 14, finding 2)', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'was-run-name-'));
  const runsDir = path.join(root, 'runs');
  fs.mkdirSync(path.join(runsDir, 'unfinished'), { recursive: true });
  const ctx: LaunchContext = { trainerPath: '/ext/dist/trainer.js', cwd: root, runsDir, settings: SETTING_DEFAULTS, backendPaths: [], taken: (n) => fs.existsSync(path.join(runsDir, n)) };
  // The experiment file is refused where it is read: the run-name rule is the config's own (shared/run-naming.ts).
  assert.throws(() => parseExperiment('/ws/evil.was.json', '{"runName": "../../../victim"}'), /evil.was.json: runName: run name "..\/..\/..\/victim" may only hold letters/);
  assert.throws(() => parseArgs(['--run-name', '../victim']), /--run-name \(runName\): run name "..\/victim" may only hold/);
  // A config that got past that (any source) is refused again where the job is made.
  const escaping = { file: '/ws/evil.was.json', options: {}, config: { ...parseExperiment('/ws/x.was.json', '{}').config, runName: '../../victim' } };
  assert.throws(() => trainingJob(escaping, ctx), /run name "..\/..\/victim" may only hold/);
  // An existing (here unfinished) run is never reused: its summary is not the new job's to write.
  assert.throws(() => trainingJob(parseExperiment('/ws/x.was.json', '{"runName": "unfinished"}'), ctx), /a run named "unfinished" exists already in .*: give runName another name in x.was.json/);
  // A runs folder entry that is a symlink out of it is outside too.
  fs.mkdirSync(path.join(root, 'elsewhere'));
  fs.symlinkSync(path.join(root, 'elsewhere'), path.join(runsDir, 'linked'));
  assert.throws(() => trainingJob(parseExperiment('/ws/x.was.json', '{"runName": "linked"}'), { ...ctx, taken: () => false }), /linked is not inside the runs folder .* \(it resolves to .*elsewhere\)/);
  assert.deepEqual(fs.readdirSync(path.join(root, 'elsewhere')), [], 'nothing written outside the runs folder');
  assert.deepEqual(fs.readdirSync(path.join(runsDir, 'unfinished')), [], 'the existing run untouched');
});

test('settings: bad values fall back to defaults and are reported; the runs folder resolves against the workspace', () => {
  const problems: string[] = [];
  const settings = readSettings((key) => ({ backend: 'tpu', maxConcurrentRuns: 0, 'transform.cropRatio': [2, 1], 'data.folders': { imagenet: '/x' }, runsFolder: '  ' })[key], (p) => problems.push(p));
  assert.equal(settings.backend, 'auto');
  assert.equal(settings.maxConcurrentRuns, 1);
  assert.deepEqual(settings.cropRatio, SETTING_DEFAULTS.cropRatio);
  assert.deepEqual(settings.dataFolders, {});
  assert.equal(settings.runsFolder, '.was/runs');
  assert.equal(problems.length, 5);
  assert.match(problems[0], /^setting was.backend: backend: expected one of auto/);
  assert.equal(resolveRunsDir('.was/runs', '/ws', '/storage'), path.join('/ws', '.was/runs'));
  assert.equal(resolveRunsDir('.was/runs', null, '/storage'), path.join('/storage', '.was/runs'));
  assert.equal(resolveRunsDir('/abs/runs', '/ws', '/storage'), '/abs/runs');
});

function writeTemp(options: unknown): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'was-args-')), 'x.was.json');
  fs.writeFileSync(file, JSON.stringify(options));
  return file;
}
