// The Slurm client against a real single-node Slurm (scripts/slurm/up.sh; skipped with a message
// where none is up, required in CI): a 4-task job array of `node -e` tasks submitted with sbatch,
// followed through scontrol until every task has ended, one running task cancelled with scancel;
// each task's state and exit code as Slurm reports them, in scontrol and in the jobcomp log; the
// submitter's environment, the setup lines and the per-task output files inside the jobs; and
// sbatch's own message when it refuses a job (a bad partition or time, over a partition's or the
// node's limit).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { renderArrayScript, type ArrayJobOptions } from '../../src/trainer/study/slurm/batch-script';
import { SlurmClient, SlurmError } from '../../src/trainer/study/slurm/client';
import { isFinalState, type SlurmTask } from '../../src/trainer/study/slurm/records';
import { taskRunState } from '../../src/trainer/study/slurm/run-state';
import { slurmCluster, slurmSkip } from '../support/slurm-cluster';

/** Each task a `node -e` program: 0 and 3 succeed, 1 exits 3, 2 runs until it is cancelled. */
const TASK_PROGRAM = [
  "const fs = require('node:fs');",
  'const id = Number(process.env.SLURM_ARRAY_TASK_ID);',
  "fs.writeFileSync(`task-${id}.json`, JSON.stringify({ id, token: process.env.WAS_LAB_TEST_TOKEN, setup: process.env.WAS_LAB_SETUP, cwd: process.cwd(), node: process.version }));",
  "console.log('task', id, 'wrote its file');",
  'if (id === 1) process.exit(3);',
  'if (id === 2) setTimeout(() => {}, 120000);',
].join(' ');

/** `text` as one single-quoted shell word. */
const shellQuoted = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

function jobOptions(dir: string, patch: Partial<ArrayJobOptions> = {}): ArrayJobOptions {
  return {
    jobName: 'was-slurm-test',
    taskIds: [0, 1, 2, 3],
    workingDirectory: dir,
    output: 'task-%a.out',
    cpusPerTask: 1,
    setup: 'export WAS_LAB_SETUP=from-setup',
    command: `exec node -e ${shellQuoted(TASK_PROGRAM)}`,
    ...patch,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls scontrol every 200 ms until `done` holds for the tasks (or 40 s pass). */
async function waitFor(client: SlurmClient, jobId: string, done: (tasks: SlurmTask[]) => boolean, what: string): Promise<SlurmTask[]> {
  const deadline = Date.now() + 40_000;
  for (;;) {
    const tasks = await client.tasks(jobId);
    if (done(tasks)) return tasks;
    if (Date.now() > deadline) throw new Error(`job ${jobId}: ${what} did not happen in 40 s: ${JSON.stringify(tasks)}`);
    await sleep(200);
  }
}

const summary = (tasks: SlurmTask[]) => tasks.map((t) => [t.taskId, t.state, t.exitCode, t.signal]);

test('a 4-task array: COMPLETED, FAILED with exit 3, CANCELLED while running, COMPLETED; node, the environment and the setup inside the jobs', { skip: slurmSkip }, async () => {
  const { env } = slurmCluster();
  const token = `token-${process.pid}-${Date.now()}`;
  const client = new SlurmClient({ env: { ...env, WAS_LAB_TEST_TOKEN: token } });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-slurm-'));
  const script = renderArrayScript(jobOptions(dir));
  const jobId = await client.submit(script, dir);
  assert.match(jobId, /^\d+$/);

  const submitted = await client.tasks(jobId);
  assert.deepEqual(submitted.map((t) => t.taskId), [0, 1, 2, 3], 'every task is known right after sbatch, pending ones from a range');
  assert.ok(submitted.every((t) => t.arrayJobId === jobId));

  const running = (tasks: SlurmTask[]) => tasks.some((t) => t.taskId === 2 && t.state === 'RUNNING') && fs.existsSync(path.join(dir, 'task-2.json'));
  await waitFor(client, jobId, running, 'task 2 running its program');
  await client.cancel(jobId, 2);
  const ended = await waitFor(client, jobId, (tasks) => tasks.length === 4 && tasks.every((t) => isFinalState(t.state)), 'every task ended');

  assert.deepEqual(summary(ended), [
    [0, 'COMPLETED', 0, 0],
    [1, 'FAILED', 3, 0],
    [2, 'CANCELLED', 0, 15],
    [3, 'COMPLETED', 0, 0],
  ]);
  assert.equal(ended[1].reason, 'NonZeroExitCode');
  assert.deepEqual(ended.map((t) => taskRunState(t).state), ['completed', 'failed', 'stopped', 'completed'], "as the study's run states");
  assert.ok(ended.every((t) => t.arrayJobId === jobId && t.jobId !== ''));

  for (const id of [0, 1, 2, 3]) {
    const written = JSON.parse(fs.readFileSync(path.join(dir, `task-${id}.json`), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(
      { id: written.id, token: written.token, setup: written.setup, cwd: written.cwd },
      { id, token, setup: 'from-setup', cwd: dir },
      `task ${id} ran node in the working folder with the submitter's environment and the setup's`,
    );
    assert.match(String(written.node), /^v\d+\./);
  }
  assert.equal(fs.readFileSync(path.join(dir, 'task-0.out'), 'utf8'), 'task 0 wrote its file\n', "each task's stdout in its own file");

  // The jobcomp log has the same ends (scancel shows there as ExitCode 0:0).
  let fromLog = await client.endedTasks(jobId);
  for (let i = 0; i < 50 && fromLog !== null && fromLog.length < 4; i++) {
    await sleep(200);
    fromLog = await client.endedTasks(jobId);
  }
  assert.ok(fromLog !== null, 'the test cluster keeps a jobcomp/filetxt log');
  assert.deepEqual(summary(fromLog), [
    [0, 'COMPLETED', 0, 0],
    [1, 'FAILED', 3, 0],
    [2, 'CANCELLED', 0, 0],
    [3, 'COMPLETED', 0, 0],
  ]);
});

test('scancel of the whole array cancels its pending tasks; a job Slurm does not know has no tasks', { skip: slurmSkip }, async () => {
  const { env } = slurmCluster();
  const client = new SlurmClient({ env });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-slurm-'));
  const jobId = await client.submit(renderArrayScript(jobOptions(dir, { taskIds: [0, 1, 2, 5, 6], maxParallel: 1, command: 'sleep 60' })), dir);
  const pending = await client.tasks(jobId);
  assert.deepEqual(pending.map((t) => t.taskId), [0, 1, 2, 5, 6], 'the ids of --array=0-2,5-6%1');
  await client.cancel(jobId);
  const ended = await waitFor(client, jobId, (tasks) => tasks.length === 5 && tasks.every((t) => isFinalState(t.state)), 'every task ended');
  assert.deepEqual(new Set(ended.map((t) => t.state)), new Set(['CANCELLED']));
  assert.deepEqual(await client.tasks('999999999'), []);
});

test("sbatch's own message when it refuses a job (bad partition or time, over a limit), and nothing is submitted", { skip: slurmSkip }, async () => {
  const { env } = slurmCluster();
  const client = new SlurmClient({ env });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-slurm-'));
  const refusal = async (patch: Partial<ArrayJobOptions>): Promise<SlurmError> => {
    try {
      await client.submit(renderArrayScript(jobOptions(dir, patch)), dir);
    } catch (error) {
      assert.ok(error instanceof SlurmError, String(error));
      return error;
    }
    throw new Error(`sbatch accepted ${JSON.stringify(patch)}`);
  };
  const partition = await refusal({ partition: 'no-such-partition' });
  assert.equal(partition.tool, 'sbatch');
  assert.match(partition.message, /^sbatch submitted nothing:\n/);
  assert.match(partition.message, /sbatch: error: invalid partition specified: no-such-partition/);
  assert.match(partition.message, /Batch job submission failed: Invalid partition name specified/);
  const time = await refusal({ timeLimit: '1-2-3' });
  assert.match(time.message, /sbatch: error: Invalid --time specification/);
  // Over a limit: the short partition's 1 minute (enforced at submission), the node's CPUs and memory.
  const overTime = await refusal({ partition: 'short', timeLimit: '5' });
  assert.match(overTime.message, /Batch job submission failed: Requested time limit is invalid \(missing or exceeds some limit\)/);
  const overCpus = await refusal({ cpusPerTask: 4096 });
  assert.match(overCpus.message, /Batch job submission failed: More processors requested than permitted/);
  const overMemory = await refusal({ memory: '100000000' });
  assert.match(overMemory.message, /sbatch: error: Memory specification can not be satisfied/);
  assert.deepEqual(fs.readdirSync(dir), [], 'no task ran');
});
