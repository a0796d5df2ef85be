// Workspace Trust, VS Code's way (issue 14, finding 1): package.json declares limited support in
// untrusted workspaces, with every setting that names a program or a folder restricted; and the
// built extension (dist/extension.js, loaded against test/fixtures/extension/vscode-stub.ts) in an
// untrusted workspace refuses what would start a trainer on the workspace's files or delete in it,
// saying why, and starts nothing. In a trusted workspace an experiment file that names
// backendPaths is refused by the trainer's own rule before anything starts.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUNDLE, fakeContext, loadExtension } from '../fixtures/extension/load-extension';
import { createVscodeStub, type StubRecord } from '../fixtures/extension/vscode-stub';
import { TRAINER } from '../support/trainer-cli';

const ROOT = path.resolve(__dirname, '../..');
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  capabilities?: { untrustedWorkspaces?: { supported: boolean | 'limited'; description?: string; restrictedConfigurations?: string[] } };
  contributes: { configuration: { properties: Record<string, { description: string }> } };
};

const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'was-ext-trust-'));
const runsDir = path.join(workspace, '.was', 'runs');
const RUN = 'finished';

interface Activated {
  record: StubRecord;
  api: { runs(): { runId: string; status: string }[] };
  run(command: string, ...args: unknown[]): Promise<unknown>;
  dispose(): void;
}

/** dist/extension.js activated in `workspace` with the stub, trusted or not. */
function activate(trusted: boolean): Activated {
  const { api, record } = createVscodeStub(workspace, {}, { trusted });
  const { extension } = loadExtension<{ activate(context: unknown): Activated['api'] }>(api);
  const { context, subscriptions } = fakeContext(workspace);
  const exports = extension.activate(context);
  return {
    record,
    api: exports,
    run: async (command, ...args) => record.commands.get(command)!(...args),
    dispose: () => subscriptions.forEach((s) => s.dispose()),
  };
}

function runFolders(): string[] {
  return fs.existsSync(runsDir) ? fs.readdirSync(runsDir).sort() : [];
}

before(() => {
  assert.ok(fs.existsSync(BUNDLE) && fs.existsSync(TRAINER), 'run npm run build');
  // A finished run whose config.json asks for a DOM at 90% FLOPs that was never searched: in a
  // trusted workspace, switching to DOM measures it (a `dom` trainer) without asking.
  const made = spawnSync(
    process.execPath,
    [TRAINER, 'train', '--model', 'small-cnn', '--dataset', 'synthetic', '--validation-size', '64', '--epochs', '1', '--max-steps-per-epoch', '1',
      '--eval-batch-size', '128', '--backend', 'wasm', '--runs-dir', runsDir, '--run-name', RUN, '--plain'],
    { cwd: workspace, encoding: 'utf8' },
  );
  assert.equal(made.status, 0, made.stdout + made.stderr);
  const file = path.join(runsDir, RUN, 'config.json');
  const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
  saved.config.dom.flopsTarget = 0.9;
  fs.writeFileSync(file, JSON.stringify(saved));
});

after(() => fs.rmSync(workspace, { recursive: true, force: true }));

test('package.json: limited support in untrusted workspaces; every setting naming a program or folder is restricted; the description says what is off', () => {
  const trust = manifest.capabilities?.untrustedWorkspaces;
  assert.ok(trust, 'capabilities.untrustedWorkspaces is declared');
  assert.equal(trust.supported, 'limited');
  const settings = Object.keys(manifest.contributes.configuration.properties);
  const namesPlace = settings.filter((key) => /(Path|Folder|folders)$/.test(key));
  assert.deepEqual(namesPlace.sort(), ['was.data.folders', 'was.nodePath', 'was.runsFolder']);
  assert.deepEqual([...(trust.restrictedConfigurations ?? [])].sort(), namesPlace.sort());
  for (const part of ['Restricted Mode', 'experiment files', 'Resume Run', 'Export Weights', 'Switch Mode', 'Delete Run', 'user settings', 'Install TensorFlow Backend', '--backend-path'])
    assert.ok(trust.description?.includes(part), `the description names "${part}"`);
});

test('untrusted workspace: experiment files, Resume, Export, the DOM measurement and Delete are refused with the reason; nothing starts', async () => {
  const experiment = path.join(workspace, 'exp.was.json');
  fs.writeFileSync(experiment, JSON.stringify({ model: 'lenet', dataset: 'synthetic' }));
  const lab = activate(false);
  try {
    await lab.run('was.startTraining', experiment);
    await lab.run('was.resumeRun', RUN);
    await lab.run('was.exportWeights', RUN, 'aom');
    await lab.run('was.deleteRun', RUN);
    await lab.run('was.switchMode', 'dom', RUN);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const refused = lab.record.messages.filter((m) => m.level === 'warning' && m.message.includes('is off in Restricted Mode')).map((m) => m.message);
    for (const action of ['training from an experiment file (exp.was.json)', 'Resume Run', 'Export Weights', 'Delete Run', `measuring ${RUN}'s DOM on the test set`])
      assert.ok(refused.some((m) => m.includes(`WAS: ${action} is off in Restricted Mode`)), `${action}: ${lab.record.messages.map((m) => m.message).join('\n')}`);
    assert.ok(lab.record.output.some((l) => l.startsWith('warn WAS: Resume Run is off in Restricted Mode')), 'and logged');
    assert.deepEqual(runFolders(), [RUN], 'no run started, none deleted');
    assert.deepEqual(fs.readdirSync(path.join(runsDir, RUN)).filter((f) => f === 'dom' || f === 'exports'), [], 'no DOM search, no export');
    assert.deepEqual(lab.api.runs().filter((r) => r.status !== 'completed'), [], 'no job queued');
  } finally {
    lab.dispose();
  }
});

test('untrusted workspace: Run Study is refused with the reason, as training from experiment files is; no study process starts', async () => {
  const study = path.join(workspace, 'grid.study.json');
  fs.writeFileSync(study, JSON.stringify({ base: { model: 'lenet', data: { name: 'synthetic' } }, grid: { 'was.transform': ['shift', 'crop'] }, seeds: 2 }));
  const lab = activate(false);
  try {
    await lab.run('was.runStudy', { scheme: 'file', fsPath: study });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const refused = lab.record.messages.filter((m) => m.level === 'warning').map((m) => m.message);
    assert.ok(refused.some((m) => m.startsWith('WAS: Run Study is off in Restricted Mode')), refused.join('\n'));
    assert.equal(fs.existsSync(path.join(workspace, '.was', 'studies')), false, 'no study folder');
    assert.ok(manifest.capabilities?.untrustedWorkspaces?.description?.includes('Run Study'), 'the trust description names Run Study');
  } finally {
    lab.dispose();
  }
});

test('trusted workspace: an experiment file naming backendPaths is refused before anything starts', async () => {
  const experiment = path.join(workspace, 'evil.was.json');
  fs.writeFileSync(experiment, JSON.stringify({ model: 'lenet', data: { name: 'synthetic' }, backendPaths: ['evil'] }));
  const lab = activate(true);
  try {
    await lab.run('was.startTraining', experiment);
    const errors = lab.record.messages.filter((m) => m.level === 'error').map((m) => `error ${m.message}`);
    assert.ok(errors.some((m) => m.includes(`${experiment}: backendPaths: not an option of a config or experiment file`) && m.includes('--backend-path')), errors.join('\n'));
    assert.deepEqual(runFolders(), [RUN]);
  } finally {
    lab.dispose();
  }
});
