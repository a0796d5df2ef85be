// A study on Slurm in the extension: the tree items of a study and its runs carry the runs' Slurm
// tasks (state, exit code; the `.slurm` context values Cancel Study's menus use); a study process
// that stopped following its array ends stopped, its jobs going on; and, against the real
// single-node Slurm (scripts/slurm/up.sh; skipped where none is up, required in CI), the built
// extension (dist/extension.js on test/fixtures/extension/vscode-stub.ts) runs a Slurm study with
// Run Study; Stop Study stops following while the job goes on; WAS: Cancel Study (Slurm) cancels
// it after a confirmation; WAS: Refresh Study from Slurm brings study.json (the tree) up to date.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { studyRunTreeItem, studyTreeItem } from '../../src/extension/lab/study-tree-items';
import { cancelStudyArgs, classifyStudyExit } from '../../src/extension/runs/study-jobs';
import { parseStudyResults, type StudyResults } from '../../src/shared/study';
import { BUNDLE, fakeContext, loadExtension } from '../fixtures/extension/load-extension';
import { createVscodeStub } from '../fixtures/extension/vscode-stub';
import { slurmCluster, slurmSkip } from '../support/slurm-cluster';
import { studyJson } from '../support/study-fixture';
import { TRAINER } from '../support/trainer-cli';

const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'was-ext-slurm-'));
after(() => fs.rmSync(workspace, { recursive: true, force: true }));

function slurmResults(): StudyResults {
  const json = studyJson({ name: 'grid', cells: [{ settings: { 'was.transform': 'shift' }, gain: 0.5, plain: 0.9 }], seeds: [1, 2], done: 0 }) as Record<string, unknown> & { runs: Record<string, unknown>[]; executor: Record<string, unknown> };
  json.executor = { kind: 'slurm', processes: 2, threadsPerProcess: 1 };
  json.runs[0] = { ...json.runs[0], state: 'failed', reason: 'no data (Slurm job 8: FAILED, exit status 1)', slurm: { arrayJobId: '7', taskId: 0, jobId: '8', state: 'FAILED', exitCode: 1, signal: 0 } };
  json.runs[1] = { ...json.runs[1], state: 'running', slurm: { arrayJobId: '7', taskId: 1, jobId: '9', state: 'RUNNING', exitCode: 0, signal: 0 } };
  return parseStudyResults(json);
}

test('tree items of a study on Slurm: each run shows its task\'s Slurm state and exit code; the context values Cancel Study uses', () => {
  const results = slurmResults();
  const study = { name: 'grid', dir: path.join(workspace, 'grid'), file: path.join(workspace, 'grid', 'study.json'), mtimeMs: 0, results, problem: null };
  const item = studyTreeItem(study, false);
  assert.equal(item.contextValue, 'wasStudy.running.slurm');
  assert.equal(studyTreeItem(study, true).contextValue, 'wasStudy.running.slurm.live');
  assert.match(item.description, /· Slurm$/);
  assert.match(item.tooltip, /On Slurm: job array 7 \(not followed here: `was-train study status` reads the cluster/);
  const [failed, running] = results.runs.map((run) => studyRunTreeItem('grid', run, results.cells[0]));
  assert.equal(failed.description, 'failed · Slurm FAILED 1:0');
  assert.match(failed.tooltip, /Slurm: task 7_0 \(job 8\), FAILED, exit code 1:0/);
  assert.equal(failed.contextValue, 'wasStudyRun.failed.slurm');
  assert.equal(running.description, 'epoch 0/1 · Slurm RUNNING');
  assert.equal(running.contextValue, 'wasStudyRun.running.slurm');
  assert.deepEqual(cancelStudyArgs('/s/grid', 'c1-shift-s2'), ['study', 'cancel', '/s/grid', '--run', 'c1-shift-s2']);
  // A Slurm study that stopped following (Stop Study, Ctrl-C): study-end says running, the process exits 0.
  assert.deepEqual(classifyStudyExit(0, null, 'running', true, []), { state: 'stopped', reason: 'no longer followed here; its Slurm jobs go on (WAS: Cancel Study cancels them)' });
});

test('Run Study on a Slurm study; Stop Study stops following, the job goes on; Cancel Study (Slurm) cancels it after a confirmation; Refresh Study from Slurm brings the tree up to date (the real cluster)', { skip: slurmSkip }, async () => {
  assert.ok(fs.existsSync(BUNDLE) && fs.existsSync(TRAINER), 'run npm run build');
  Object.assign(process.env, { SLURM_CONF: slurmCluster().conf, WAS_LAB_SLURM_POLL_MS: '250' });
  const base = { model: 'lenet', data: { name: 'synthetic', validationSize: 16, synthetic: { trainCount: 3200, testCount: 48, size: 12, channels: 1, classes: 3 } }, epochs: 2, batchSize: 16, maxStepsPerEpoch: 100, backend: 'cpu', logEverySteps: 1 };
  const file = path.join(workspace, 'on-slurm.study.json');
  fs.writeFileSync(file, JSON.stringify({ base, seeds: [1], baseline: false, executor: { kind: 'slurm' } }));
  const { api, record } = createVscodeStub(workspace, {}, { trusted: true });
  const { extension } = loadExtension<{ activate(context: unknown): unknown }>(api);
  const { context, subscriptions } = fakeContext(workspace);
  extension.activate(context);
  const run = (command: string, ...args: unknown[]) => record.commands.get(command)!(...args);
  const resultsFile = path.join(workspace, '.was', 'studies', 'on-slurm', 'study.json');
  const read = (): StudyResults | null => (fs.existsSync(resultsFile) ? parseStudyResults(JSON.parse(fs.readFileSync(resultsFile, 'utf8'))) : null);
  const said = () => record.messages.map((m) => `${m.level} ${m.message}`);
  const until = async <T>(what: string, probe: () => T | null | undefined | Promise<T | null | undefined>): Promise<T> => {
    for (const deadline = Date.now() + 120_000; ; await new Promise((r) => setTimeout(r, 100))) {
      const value = await probe();
      if (value !== null && value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${said().join('\n')}\n${record.output.slice(-5).join('\n')}`);
    }
  };
  const node = { kind: 'study', study: { name: 'on-slurm' } };
  try {
    await run('was.runStudy', { scheme: 'file', fsPath: file });
    const running = await until('the run running on the cluster', () => read()?.runs.find((r) => r.state === 'running' && r.slurm?.state === 'RUNNING'));
    assert.match(studyRunTreeItem('on-slurm', running, undefined).description, /Slurm RUNNING$/);

    await run('was.stopStudy', node);
    await until('the study process ended', () => record.messages.find((m) => m.message === 'WAS: study on-slurm stopped'));
    assert.deepEqual([read()!.state, read()!.runs[0].state], ['running', 'running'], 'the job goes on');

    record.answer = 'Cancel Jobs';
    await run('was.cancelStudy', node);
    assert.ok(said().includes('warning Cancel every pending and running job of study on-slurm on the Slurm cluster (scancel)?'), said().join('\n'));
    assert.ok(said().some((m) => /^info WAS: cancelled Slurm job array \d+ \(1 of its 1 tasks were pending or running\)$/.test(m)), said().join('\n'));
    // Nothing follows the study now: Refresh reads the cluster until the cancel has landed.
    const ended = await until('study.json showing the cancel', async () => {
      await run('was.refreshStudy', node);
      const now = read();
      return now?.runs[0].state === 'stopped' ? now : null;
    });
    assert.equal(ended.state, 'stopped');
    assert.equal(ended.runs[0].slurm?.state, 'CANCELLED');
    assert.match(ended.runs[0].reason ?? '', /cancelled \(scancel\)/);
    assert.ok(said().some((m) => /^info WAS: study on-slurm: stopped; Slurm array \d+ \(submission 1, 1 tasks, 0 live\)$/.test(m)), said().join('\n'));
  } finally {
    subscriptions.forEach((s) => s.dispose());
  }
});
