// WAS: Delete Run as the built extension runs it (dist/extension.js against the recording
// `vscode` stand-in, as extension-activate.test.ts loads it), on real folders: a runs folder
// set by the workspace's settings is named in the confirmation; a run folder is deleted only when
// confirmed; a folder holding a file that is not the trainer's is refused, naming it, and kept.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fakeContext, loadExtension } from '../fixtures/extension/load-extension';
import { createVscodeStub } from '../fixtures/extension/vscode-stub';

function activate(workspace: string, settings: Record<string, unknown>) {
  const { api, record } = createVscodeStub(workspace, settings);
  const { extension } = loadExtension<{ activate(context: unknown): unknown }>(api);
  const { context, subscriptions } = fakeContext(workspace);
  extension.activate(context);
  const deleteRun = record.commands.get('was.deleteRun')!;
  return { record, deleteRun, dispose: () => subscriptions.forEach((s) => s.dispose()) };
}

/** A run folder as the trainer starts it: its config.json and metrics.jsonl. */
function runFolder(runsDir: string, name: string): string {
  const dir = path.join(runsDir, name);
  fs.mkdirSync(path.join(dir, 'checkpoints'), { recursive: true });
  const config = { model: 'lenet', data: { name: 'mnist' }, was: { transform: 'shift' }, epochs: 1 };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ runId: name, createdAt: '2026-12-01T00:00:00.000Z', seed: 1, config }));
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), '');
  return dir;
}

test('Delete Run: the workspace\'s runs folder is named in the confirmation; only a confirmed WAS run is deleted; an unknown file stops it (issue 14, findings 2 and 7)', async () => {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'was-delete-'));
  const runsDir = path.join(workspace, 'chosen-by-workspace');
  const { record, deleteRun, dispose } = activate(workspace, { runsFolder: 'chosen-by-workspace' });
  const run = runFolder(runsDir, 'a-run');

  await deleteRun('a-run');
  const [confirm] = record.messages;
  assert.equal(confirm.message, 'Delete run a-run?');
  assert.match(confirm.detail ?? '', new RegExp(`The runs folder ${runsDir.replace(/[/\\.]/g, '\\$&')} is set by this workspace's settings \\(was.runsFolder\\)`));
  assert.ok(fs.existsSync(run), 'not confirmed: kept');

  record.answer = 'Delete';
  await deleteRun('a-run');
  assert.equal(fs.existsSync(run), false, 'confirmed: deleted');

  const mixed = runFolder(runsDir, 'with-thesis');
  fs.writeFileSync(path.join(mixed, 'thesis.tex'), 'two years of work');
  record.messages.length = 0;
  await deleteRun('with-thesis');
  assert.equal(record.messages.length, 1, 'refused before asking');
  assert.match(record.messages[0].message, /^WAS: not deleting with-thesis: .*thesis\.tex is not part of a WAS run/);
  assert.equal(fs.readFileSync(path.join(mixed, 'thesis.tex'), 'utf8'), 'two years of work');
  dispose();
});
