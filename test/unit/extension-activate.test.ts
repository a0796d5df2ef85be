// The built extension (dist/extension.js) loaded in plain Node against a recording stand-in for
// the `vscode` module (test/fixtures/extension/vscode-stub.ts): what activate() registers, that it
// matches package.json's contributions, how long it takes, and that it loads no TensorFlow.js and
// starts nothing. Not a VS Code test: the real workbench is the end-to-end issue's.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSettings, SETTING_DEFAULTS } from '../../src/extension/runs/settings';
import { BUNDLE, fakeContext, loadExtension } from '../fixtures/extension/load-extension';
import { createVscodeStub } from '../fixtures/extension/vscode-stub';

const ROOT = path.resolve(__dirname, '../..');
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  main: string;
  activationEvents: string[];
  contributes: {
    commands: { command: string; title: string; category: string }[];
    views: Record<string, { id: string }[]>;
    menus: Record<string, { command: string }[]>;
    configuration: { properties: Record<string, { default: unknown }> };
    jsonValidation: { fileMatch: string; url: string }[];
  };
};

interface ExtensionModule {
  activate(context: unknown): { activationMs: number; runsDir(): string; runs(): unknown[]; mode(): string };
}

test('the extension bundle exists (npm run build) and is package.json main', () => {
  assert.ok(fs.existsSync(BUNDLE), `${BUNDLE} missing: run npm run build`);
  assert.equal(path.resolve(ROOT, manifest.main), BUNDLE);
});

test('activate() registers every contributed command, view and provider, quickly, loading no tfjs and starting nothing', async () => {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'was-activate-'));
  const { api, record } = createVscodeStub(workspace);
  const { extension, loaded, loadMs } = loadExtension<ExtensionModule>(api);
  const { context, subscriptions } = fakeContext(workspace);

  const start = performance.now();
  const exports = extension.activate(context);
  const wallMs = performance.now() - start;

  // What the extension measured itself, logged to the output channel.
  assert.ok(record.output.some((l) => /^info WAS Lab activated in \d+\.\d ms/.test(l)), record.output.join('\n'));
  assert.ok(exports.activationMs <= wallMs);
  console.log(`bundle load ${loadMs.toFixed(1)} ms; activate() ${exports.activationMs.toFixed(2)} ms (wall ${wallMs.toFixed(2)} ms)`);
  assert.ok(wallMs < 100, `activate() took ${wallMs.toFixed(1)} ms`);

  const contributed = manifest.contributes.commands.map((c) => c.command).sort();
  assert.deepEqual([...record.commands.keys()].sort(), contributed, 'registered commands = package.json commands');
  for (const c of manifest.contributes.commands) assert.equal(c.category, 'WAS', `${c.command}: palette title "WAS: ${c.title}"`);
  for (const [menu, items] of Object.entries(manifest.contributes.menus))
    for (const item of items) assert.ok(contributed.includes(item.command), `${menu} names ${item.command}`);

  const views = Object.values(manifest.contributes.views).flat().map((v) => v.id);
  assert.deepEqual(record.treeViews, ['wasLab.runs']);
  assert.deepEqual(record.webviewViewProviders, ['wasLab.metricsView']);
  assert.ok([...record.treeViews, ...record.webviewViewProviders].every((id) => views.includes(id)));
  assert.deepEqual([...record.panelSerializers].sort(), ['wasLab.metrics', 'wasLab.study'], 'the metrics panel and the Study panel come back after a reload');
  for (const type of record.panelSerializers) assert.ok(manifest.activationEvents.includes(`onWebviewPanel:${type}`), `the ${type} serializer needs its activation event`);
  assert.equal(record.codeLensSelectors.length, 2, 'experiment files (Train) and study files (Run Study)');
  assert.deepEqual(record.watchers, [path.join(workspace, '.was/runs', '**/{config.json,summary.json,metrics.jsonl}')]);

  // Only Node built-ins and the host's `vscode` were loaded: no TensorFlow.js, no npm packages.
  const external = loaded.filter((r) => !r.startsWith('node:') && r !== 'vscode' && r !== BUNDLE);
  assert.deepEqual(external, []);
  assert.equal(fs.existsSync(path.join(workspace, '.was')), false, 'activation creates nothing on disk');
  assert.equal(exports.mode(), 'aom');

  for (const s of subscriptions) s.dispose();
  assert.ok(record.disposed > 10, 'the root store released what activate() created');
});

test('package.json settings defaults are the ones the extension falls back to', () => {
  const props = manifest.contributes.configuration.properties;
  const fromManifest = readSettings((key) => props[`was.${key}`]?.default);
  assert.deepEqual(fromManifest, SETTING_DEFAULTS);
  // Every read key is contributed (a typo would silently read undefined).
  const read: string[] = [];
  readSettings((key) => void read.push(key));
  assert.deepEqual(read.map((k) => `was.${k}`).sort(), Object.keys(props).sort());
});

test('experiment files get the generated schema', () => {
  const [validation] = manifest.contributes.jsonValidation;
  assert.equal(validation.fileMatch, '*.was.json');
  assert.ok(fs.existsSync(path.resolve(ROOT, validation.url)), `${validation.url} is built by npm run build`);
});

test('study files get the generated study schema, whose base takes an experiment file\'s options', () => {
  const validation = manifest.contributes.jsonValidation.find((v) => v.fileMatch === '*.study.json');
  assert.ok(validation, 'a jsonValidation for *.study.json');
  const file = path.resolve(ROOT, validation.url);
  assert.ok(fs.existsSync(file), `${validation.url} is built by npm run build`);
  const schema = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.deepEqual(schema.required, ['seeds']);
  assert.equal(schema.properties.base.properties.model.enum.includes('lenet'), true);
  assert.deepEqual(schema.properties.grid.properties['was.transform'].items.enum, ['none', 'shift', 'crop', 'mixed']);
  assert.equal(schema.properties.grid.properties.seed, undefined, 'the seed is the study\'s own');
  for (const event of ['workspaceContains:**/*.study.json', 'workspaceContains:.was/studies/*/study.json']) assert.ok(manifest.activationEvents.includes(event), event);
});
