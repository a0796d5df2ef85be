// A workspace may not make WAS Lab run its code (issue 14, finding 1). A workspace holds a fake
// @tensorflow/tfjs-node-gpu and tfjs-node under evil/node_modules whose main writes a marker file
// when it is required. The real trainer (dist/trainer.js, built by `npm test`), with the default
// backend `auto`, is pointed at that folder by every file a workspace or a run folder holds: an
// experiment (--config) file, and a run folder's edited config.json and checkpoint manifest, then
// `resume`, `export` and `dom`. The marker must never appear, and the trainer says why. The folder
// is still loaded when the person at the machine names it: --backend-path or WAS_LAB_BACKEND_PATH.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseExperiment } from '../../src/extension/runs/trainer-args';
import { EXIT } from '../../src/shared/exit-codes';

const TRAINER = path.resolve(__dirname, '../../dist/trainer.js');
const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'was-trust-'));
const EVIL = path.join(workspace, 'evil');
const MARKER = path.join(EVIL, 'LOADED');
const runsDir = path.join(workspace, '.was', 'runs');

/** A tiny run on generated data with the default backend, auto. */
const TINY = {
  model: 'small-cnn',
  data: { name: 'synthetic', validationSize: 16, synthetic: { trainCount: 64, testCount: 32, size: 8, channels: 1, classes: 2 } },
  epochs: 1,
  batchSize: 16,
  evalBatchSize: 32,
  maxStepsPerEpoch: 2,
  seed: 5,
  bn: { recalibrationBatches: 1 },
  runsDir,
};

/** The fake packages: requiring one writes its name into MARKER, then fails as a broken addon would. */
function plantFakeBackends(): void {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    const dir = path.join(EVIL, 'node_modules', ...pkg.split('/'));
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: pkg, version: '4.22.0', main: 'index.js' }));
    fs.writeFileSync(
      path.join(dir, 'index.js'),
      `require('fs').appendFileSync(${JSON.stringify(MARKER)}, ${JSON.stringify(pkg)} + '\\n');\n` +
        `throw new Error('fake ${pkg}: workspace code ran');\n`,
    );
  }
}

function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
}

/** was-train in the workspace, with nothing from the developer's environment widening the backend search. */
function trainer(args: string[], env: Record<string, string> = {}) {
  const clean = { ...process.env };
  delete clean.WAS_LAB_BACKEND_PATH;
  const result = spawnSync(process.execPath, [TRAINER, ...args], { cwd: workspace, encoding: 'utf8', env: { ...clean, ...env }, timeout: 120_000 });
  return { code: result.status, out: result.stdout + result.stderr };
}

function markerWritten(): boolean {
  return fs.existsSync(MARKER);
}

/** A finished run whose config.json and checkpoint manifests were edited to name the fake folder (an earlier version's key). */
function evilRun(name: string): string {
  const made = trainer(['train', '--config', path.join(workspace, 'tiny.was.json'), '--run-name', name, '--plain']);
  assert.equal(made.code, EXIT.ok, made.out);
  const runDir = path.join(runsDir, name);
  const edit = (file: string) => {
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    json.config.backendPaths = [EVIL];
    writeJson(file, json);
  };
  edit(path.join(runDir, 'config.json'));
  const checkpoints = path.join(runDir, 'checkpoints');
  const manifests = fs.readdirSync(checkpoints).map((dir) => path.join(checkpoints, dir, 'checkpoint.json')).filter((f) => fs.existsSync(f));
  assert.ok(manifests.length > 0, 'the run has checkpoint manifests to edit');
  manifests.forEach(edit);
  return runDir;
}

before(() => {
  assert.ok(fs.existsSync(TRAINER), `${TRAINER} missing: run npm run build`);
  plantFakeBackends();
  writeJson(path.join(workspace, 'tiny.was.json'), TINY);
});

after(() => fs.rmSync(workspace, { recursive: true, force: true }));

test('an experiment file naming backendPaths is refused, naming the file and where backend folders go; nothing is loaded', () => {
  const file = path.join(workspace, 'evil.was.json');
  writeJson(file, { ...TINY, backendPaths: ['evil'] });
  const { code, out } = trainer(['train', '--config', file, '--plain']);
  assert.equal(markerWritten(), false, 'the fake package was required');
  assert.equal(code, EXIT.usage, out);
  assert.ok(out.includes(`${file}: backendPaths: not an option of a config or experiment file`), out);
  assert.match(out, /--backend-path <folder>/);
  assert.match(out, /WAS_LAB_BACKEND_PATH/);
  assert.equal(fs.existsSync(runsDir) && fs.readdirSync(runsDir).length > 0, false, 'no run folder was made');
  // The extension reads the file by the same rule before it starts anything.
  assert.throws(() => parseExperiment(file, fs.readFileSync(file, 'utf8')), (e: unknown) => e instanceof Error && e.message.startsWith(`${file}: backendPaths: not an option`));
});

test('resume of a run whose config.json names backendPaths: resumed without them, and the log says so', () => {
  const runDir = evilRun('resume-me');
  // As if killed after its last checkpoint: resumable.
  fs.rmSync(path.join(runDir, 'summary.json'));
  const { code, out } = trainer(['resume', runDir, '--plain']);
  assert.equal(markerWritten(), false, 'the fake package was required');
  assert.equal(code, EXIT.ok, out);
  assert.match(out, /config\.json names backendPaths .*evil.*: ignored, backend code is loaded only from --backend-path/);
  const summary = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8'));
  assert.equal(summary.status, 'completed', summary.reason);
});

test('export of a run whose config.json names backendPaths: exported without them, and the log says so', () => {
  const runDir = evilRun('export-me');
  const { code, out } = trainer(['export', runDir, '--mode', 'aom', '--out', path.join(workspace, 'exported')]);
  assert.equal(markerWritten(), false, 'the fake package was required');
  assert.equal(code, EXIT.ok, out);
  assert.match(out, /was-train export: .*config\.json names backendPaths .*: ignored/);
  assert.ok(fs.existsSync(path.join(workspace, 'exported', 'model.json')));
});

test('dom (Switch to DOM) on a run whose config.json names backendPaths: searched without them, and the log says so', () => {
  const runDir = evilRun('dom-me');
  const { code, out } = trainer(['dom', runDir, '--flops-target', '0.9', '--json']);
  assert.equal(markerWritten(), false, 'the fake package was required');
  assert.equal(code, EXIT.ok, out);
  assert.match(out, /was-train dom: .*config\.json names backendPaths .*: ignored/);
});

test('the places the person at the machine chooses still load the folder: --backend-path, WAS_LAB_BACKEND_PATH', () => {
  const config = path.join(workspace, 'tiny.was.json');
  const runs: [string, string[], Record<string, string>][] = [
    ['train --backend-path', ['train', '--config', config, '--run-name', 'flag', '--backend-path', 'evil', '--plain'], {}],
    ['train with WAS_LAB_BACKEND_PATH', ['train', '--config', config, '--run-name', 'env', '--plain'], { WAS_LAB_BACKEND_PATH: EVIL }],
    ['resume --backend-path', ['resume', path.join(runsDir, 'flag'), '--backend-path', EVIL], {}],
    ['export --backend-path', ['export', path.join(runsDir, 'flag'), '--mode', 'aom', '--backend-path', EVIL], {}],
    ['dom --backend-path', ['dom', path.join(runsDir, 'flag'), '--flops-target', '0.9', '--no-test', '--backend-path', EVIL], {}],
  ];
  for (const [what, args, env] of runs) {
    fs.rmSync(MARKER, { force: true });
    if (what.startsWith('resume')) fs.rmSync(path.join(runsDir, 'flag', 'summary.json'));
    const { code, out } = trainer(args, env);
    assert.equal(code, EXIT.ok, `${what}: ${out}`);
    // Loaded, and (being a fake) refused with its own error; auto goes on to wasm.
    assert.deepEqual(fs.readFileSync(MARKER, 'utf8').split('\n').filter(Boolean), ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'], what);
    assert.match(out, /fake @tensorflow\/tfjs-node-gpu: workspace code ran/, what);
  }
});
