// The study commands in the built extension (dist/extension.js, loaded against
// test/fixtures/extension/vscode-stub.ts) with the real trainer: Run Study forks `was-train study`
// on the file and opens the Study panel (the page's HTML is the study bundle under the page CSP;
// `ready` gets the study, a malformed page message is dropped and logged); a study the trainer
// refuses ends with an error that says why; a study file with a bad grid is refused before anything
// starts, naming the field; Stop Study and Open Study Panel with nothing to act on say so.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUNDLE, fakeContext, loadExtension } from '../fixtures/extension/load-extension';
import { createVscodeStub, type StubRecord } from '../fixtures/extension/vscode-stub';
import { STUDY_PANEL_PROTOCOL_VERSION } from '../../src/shared/study-panel-protocol';
import { TRAINER } from '../support/trainer-cli';

const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'was-ext-study-'));

interface Activated {
  record: StubRecord;
  run(command: string, ...args: unknown[]): Promise<unknown>;
  dispose(): void;
}

function activate(): Activated {
  const { api, record } = createVscodeStub(workspace, {}, { trusted: true });
  const { extension } = loadExtension<{ activate(context: unknown): unknown }>(api);
  const { context, subscriptions } = fakeContext(workspace);
  extension.activate(context);
  return { record, run: async (command, ...args) => record.commands.get(command)!(...args), dispose: () => subscriptions.forEach((s) => s.dispose()) };
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(() => assert.ok(fs.existsSync(BUNDLE) && fs.existsSync(TRAINER), 'run npm run build'));
after(() => fs.rmSync(workspace, { recursive: true, force: true }));

test('Run Study forks the study on the file and opens the Study panel; a study the trainer refuses ends with the reason', async () => {
  // A study file whose own keys are right but whose base the trainer refuses (its rules, not the extension's).
  const file = path.join(workspace, 'bad-base.study.json');
  fs.writeFileSync(file, JSON.stringify({ base: { model: 'lenet-9000', data: { name: 'synthetic' } }, grid: { 'was.transform': ['shift', 'crop'] }, seeds: 2 }));
  const lab = activate();
  try {
    await lab.run('was.runStudy', { scheme: 'file', fsPath: file });
    const [panel] = lab.record.webviewPanels;
    assert.equal(panel.viewType, 'wasLab.study');
    assert.equal(panel.title, 'Study: bad-base');
    assert.match(panel.html, /<script nonce="[^"]+" src="[^"]*dist\/study\.js"><\/script>/);
    assert.match(panel.html, /default-src &#39;none&#39;; script-src &#39;nonce-/);
    panel.receive({ type: 'ready', protocolVersion: STUDY_PANEL_PROTOCOL_VERSION });
    const first = panel.posted[0] as { type: string; name: string; live: boolean; problem: string | null };
    assert.equal(first.type, 'study');
    assert.equal(first.name, 'bad-base');
    panel.receive({ type: 'open-run', run: 42 });
    assert.ok(lab.record.output.some((l) => /study page: dropped a malformed message: open-run\.run: /.test(l)), lab.record.output.join('\n'));

    const error = await until('the study ended with an error', () => lab.record.messages.find((m) => m.level === 'error'));
    assert.match(error.message, /^WAS: study bad-base failed: the study was refused: ./);
    assert.ok(lab.record.output.some((l) => l.includes('[study bad-base] started: ')), 'the start is logged');
    assert.ok(panel.posted.length >= 2 && (panel.posted.at(-1) as { live: boolean }).live === false, 'the page is told the process ended');
  } finally {
    lab.dispose();
  }
});

test('Run Study refuses a study file with a bad grid before anything starts, naming the field', async () => {
  const file = path.join(workspace, 'typo.study.json');
  fs.writeFileSync(file, JSON.stringify({ grid: { 'was.transfrom': ['shift'] }, seeds: 2 }));
  const lab = activate();
  try {
    await lab.run('was.runStudy', { scheme: 'file', fsPath: file });
    const errors = lab.record.messages.filter((m) => m.level === 'error').map((m) => m.message);
    assert.ok(errors.some((m) => m.includes('typo.study.json: grid.was.transfrom: unknown grid option (did you mean "was.transform"?)')), errors.join('\n'));
    assert.equal(lab.record.webviewPanels.length, 0);
    assert.equal(fs.existsSync(path.join(workspace, '.was', 'studies', 'typo')), false);
  } finally {
    lab.dispose();
  }
});

test('Stop Study and Open Study Panel with no study to act on say so', async () => {
  const lab = activate();
  try {
    await lab.run('was.stopStudy');
    await lab.run('was.openStudyPanel', 'no-such-study');
    const said = lab.record.messages.map((m) => `${m.level} ${m.message}`);
    assert.ok(said.some((m) => /^info WAS: Stop Study: no study to choose from in /.test(m)), said.join('\n'));
    assert.ok(said.some((m) => /^warning WAS: no study no-such-study in /.test(m)), said.join('\n'));
  } finally {
    lab.dispose();
  }
});
