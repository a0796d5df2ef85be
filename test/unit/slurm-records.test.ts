// The Slurm client's pure parts on real outputs of Slurm 22.05 (captured from the test cluster
// of scripts/slurm/up.sh into test/fixtures/slurm): `scontrol -o show job` of an array pending,
// running (throttled, one task cancelled, one killed by signal 9) and ended; the jobcomp/filetxt
// log; `scontrol show config`; `sbatch --parsable`. Then the batch script an array job renders
// (each option's #SBATCH line, values that cannot stand on one refused naming the option), a
// task's Slurm state as a study run's state, and a missing sbatch named as such.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BatchOptionError, renderArrayScript, type ArrayJobOptions } from '../../src/trainer/study/slurm/batch-script';
import { SlurmClient, SlurmError } from '../../src/trainer/study/slurm/client';
import { taskRunState } from '../../src/trainer/study/slurm/run-state';
import {
  arrayRange,
  expandArrayRange,
  isFinalState,
  parseExitCode,
  parseJobComp,
  parseRecord,
  parseSbatchParsable,
  parseShowConfig,
  parseShowJob,
  type SlurmTask,
} from '../../src/trainer/study/slurm/records';

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, '../fixtures/slurm', name), 'utf8');
const brief = (tasks: SlurmTask[]) => tasks.map((t) => `${t.taskId} ${t.jobId} ${t.state} ${t.exitCode}:${t.signal} ${t.reason}`.trim());

test('scontrol -o show job: a pending array is one line whose range stands for each task', () => {
  const tasks = parseShowJob(fixture('show-job-pending.txt'));
  assert.deepEqual(brief(tasks), ['0 8 PENDING 0:0 None', '1 8 PENDING 0:0 None', '2 8 PENDING 0:0 None', '3 8 PENDING 0:0 None', '4 8 PENDING 0:0 None']);
  assert.ok(tasks.every((t) => t.arrayJobId === '8'));
});

test('scontrol -o show job: running, waiting for resources, failed with its exit code', () => {
  assert.deepEqual(brief(parseShowJob(fixture('show-job-running.txt'))), [
    '0 9 COMPLETED 0:0 None',
    '1 10 FAILED 3:0 NonZeroExitCode',
    '2 11 RUNNING 0:0 None',
    '3 12 RUNNING 0:0 None',
    '4 8 PENDING 0:0 Resources',
  ]);
  assert.deepEqual(brief(parseShowJob(fixture('show-job-throttled.txt'))), [
    '0 14 RUNNING 0:0 None',
    '1 15 RUNNING 0:0 None',
    ...[2, 3, 4, 5, 6].map((id) => `${id} 13 PENDING 0:0 JobArrayTaskLimit`),
  ]);
});

test('scontrol -o show job: every task ended; scancel is signal 15, kill -9 is signal 9', () => {
  const tasks = parseShowJob(fixture('show-job-done.txt'));
  assert.deepEqual(brief(tasks), [
    '0 9 COMPLETED 0:0 None',
    '1 10 FAILED 3:0 NonZeroExitCode',
    '2 11 CANCELLED 0:15 None',
    '3 12 FAILED 0:9 JobLaunchFailure',
    '4 8 COMPLETED 0:0 None',
  ]);
  assert.ok(tasks.every((t) => isFinalState(t.state)));
  assert.ok(!isFinalState('PENDING') && !isFinalState('RUNNING') && !isFinalState('COMPLETING'));
});

test('the jobcomp log: one array picked out of every job that ended, non-array jobs with taskId null', () => {
  const text = fixture('jobcomp.txt');
  assert.deepEqual(brief(parseJobComp(text, '8')), ['0 9 COMPLETED 0:0', '1 10 FAILED 3:0', '2 11 CANCELLED 0:0', '3 12 FAILED 0:9', '4 8 COMPLETED 0:0']);
  assert.deepEqual(brief(parseJobComp(text, '1')), ['0 2 COMPLETED 0:0', '1 3 FAILED 1:0', '2 4 FAILED 2:0', '3 1 FAILED 3:0']);
  assert.deepEqual(brief(parseJobComp(text, '7')), ['null 7 COMPLETED 0:0']);
  assert.deepEqual(parseJobComp(text, '424242'), []);
  const requeued = `${text.split('\n')[0]}\n${text.split('\n')[0].replace('JobState=COMPLETED', 'JobState=NODE_FAIL')}\n`;
  assert.deepEqual(brief(parseJobComp(requeued, '1')), ['0 2 NODE_FAIL 0:0'], 'the last line of a task wins');
});

test('one record: values holding = or nothing, keys holding / and :', () => {
  const record = parseRecord(fixture('show-job-done.txt').split('\n')[0]);
  assert.equal(record.get('TRES'), 'cpu=1,mem=10847M,node=1,billing=1');
  assert.equal(record.get('CPUs/Task'), '1');
  assert.equal(record.get('AllocNode:Sid'), 'localhost:11816');
  assert.equal(record.get('Power'), '');
  assert.equal(record.get('JobName'), 'capture');
  assert.equal(parseRecord(fixture('jobcomp.txt').split('\n')[0]).get('ReservationName'), '');
});

test('exit codes, array ranges both ways, sbatch --parsable, scontrol show config', () => {
  assert.deepEqual(parseExitCode('3:0'), { exitCode: 3, signal: 0 });
  assert.deepEqual(parseExitCode('0:15'), { exitCode: 0, signal: 15 });
  assert.throws(() => parseExitCode('3'), /ExitCode must be <status>:<signal>, got "3"/);
  assert.deepEqual(expandArrayRange('2-6%2'), [2, 3, 4, 5, 6]);
  assert.deepEqual(expandArrayRange('1,3,5-7'), [1, 3, 5, 6, 7]);
  assert.deepEqual(expandArrayRange('0-10:5'), [0, 5, 10]);
  assert.throws(() => expandArrayRange('4-2'), /not a Slurm array range: "4-2"/);
  assert.equal(arrayRange([7, 0, 1, 2, 5, 8]), '0-2,5,7-8');
  assert.equal(arrayRange([3]), '3');
  assert.deepEqual(expandArrayRange(arrayRange([9, 1, 4, 2, 3])), [1, 2, 3, 4, 9]);
  assert.equal(parseSbatchParsable('17\n'), '17');
  assert.equal(parseSbatchParsable('17;cluster-a\n'), '17');
  assert.throws(() => parseSbatchParsable('Submitted batch job 17\n'), /printed no job id: "Submitted batch job 17"/);
  const config = parseShowConfig(fixture('show-config.txt'));
  assert.equal(config.get('JobCompType'), 'jobcomp/filetxt');
  assert.match(config.get('JobCompLoc') ?? '', /\/jobcomp\.txt$/);
  assert.equal(config.get('MinJobAge'), '3600 sec');
  assert.equal(config.get('SLURM_VERSION'), '22.05.8');
});

test("a task's study run state: queued with Slurm's reason, running, completed, stopped by the cluster, failed with its exit status or signal", () => {
  const states = (name: string) => parseShowJob(fixture(name)).map((task) => [task.taskId, taskRunState(task).state, taskRunState(task).reason]);
  assert.deepEqual(states('show-job-running.txt'), [
    [0, 'completed', null],
    [1, 'failed', 'Slurm job 10: FAILED, exit status 3'],
    [2, 'running', null],
    [3, 'running', null],
    [4, 'queued', 'Slurm: Resources'],
  ]);
  assert.deepEqual(states('show-job-done.txt').slice(2, 4), [
    [2, 'stopped', 'Slurm job 11: cancelled (scancel)'],
    [3, 'failed', 'Slurm job 12: FAILED, killed by signal 9'],
  ]);
  assert.deepEqual(states('show-job-pending.txt')[0], [0, 'queued', null], 'Reason=None says nothing');
  const task = parseShowJob(fixture('show-job-done.txt'))[0];
  assert.deepEqual(taskRunState({ ...task, state: 'TIMEOUT' }), { state: 'stopped', reason: 'Slurm job 9: the time limit was reached' });
  assert.deepEqual(taskRunState({ ...task, state: 'OUT_OF_MEMORY' }), { state: 'failed', reason: 'Slurm job 9: out of memory (raise the memory per task)' });
  assert.deepEqual(taskRunState({ ...task, state: 'NODE_FAIL' }).state, 'stopped');
});

const OPTIONS: ArrayJobOptions = {
  jobName: 'study-a',
  taskIds: [0, 1, 2, 3, 5],
  workingDirectory: '/shared/project',
  output: '/shared/project/.was/studies/a/slurm/%A_%a.out',
  command: 'node dist/trainer.js train --config "$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" manifest.txt)"',
};

test('the batch script: the #SBATCH lines of every option, then the setup, then the command', () => {
  const script = renderArrayScript({
    ...OPTIONS,
    maxParallel: 4,
    error: '%A_%a.err',
    partition: 'gpu',
    timeLimit: '1-00:00:00',
    cpusPerTask: 8,
    memory: '16G',
    gres: 'gpu:a100:1',
    account: 'lab',
    qos: 'normal',
    extraDirectives: ['--constraint=a100', '#SBATCH --mail-type=END'],
    setup: 'module load nodejs/20\nsource ~/venv/bin/activate\n',
  });
  assert.equal(
    script,
    [
      '#!/bin/bash',
      '# A job array written by WAS Lab: one task per run, its id in $SLURM_ARRAY_TASK_ID.',
      '#SBATCH --job-name=study-a',
      '#SBATCH --array=0-3,5%4',
      '#SBATCH --chdir=/shared/project',
      '#SBATCH --output=/shared/project/.was/studies/a/slurm/%A_%a.out',
      '#SBATCH --export=ALL',
      '#SBATCH --error=%A_%a.err',
      '#SBATCH --partition=gpu',
      '#SBATCH --time=1-00:00:00',
      '#SBATCH --mem=16G',
      '#SBATCH --gres=gpu:a100:1',
      '#SBATCH --account=lab',
      '#SBATCH --qos=normal',
      '#SBATCH --cpus-per-task=8',
      '#SBATCH --constraint=a100',
      '#SBATCH --mail-type=END',
      '',
      '# Setup',
      'module load nodejs/20\nsource ~/venv/bin/activate',
      '',
      '# The task',
      OPTIONS.command,
      '',
    ].join('\n'),
  );
  assert.doesNotMatch(renderArrayScript(OPTIONS), /Setup|--partition|--cpus-per-task/, 'an option left out is the cluster default');
});

test('the batch script: options an #SBATCH line cannot carry are refused, naming the option', () => {
  const refused: [Partial<ArrayJobOptions>, RegExp][] = [
    [{ partition: 'gpu debug' }, /^partition: "gpu debug" holds a space/],
    [{ workingDirectory: '/home/me/my project' }, /^workingDirectory: "\/home\/me\/my project" holds a space/],
    [{ account: 'lab\n#SBATCH --qos=high' }, /^account: .* line break/],
    [{ jobName: '' }, /^jobName: empty/],
    [{ cpusPerTask: 0 }, /^cpusPerTask: expected a whole number >= 1, got 0/],
    [{ maxParallel: 1.5 }, /^maxParallel: expected a whole number >= 1, got 1.5/],
    [{ taskIds: [] }, /^taskIds: an array needs at least one task/],
    [{ taskIds: [0, -1] }, /^taskIds: whole numbers >= 0 expected, got 0, -1/],
    [{ extraDirectives: ['--constraint=a\n--qos=b'] }, /^extraDirectives\[0\]: one #SBATCH line each/],
    [{ extraDirectives: ['module load x'] }, /^extraDirectives\[0\]: expected an sbatch option such as --constraint=a100, got "module load x"/],
    [{ command: '  ' }, /^command: empty/],
  ];
  for (const [patch, message] of refused) assert.throws(() => renderArrayScript({ ...OPTIONS, ...patch }), (e: unknown) => e instanceof BatchOptionError && message.test(e.message));
});

test('sbatch missing: a SlurmError that says what is needed, not a spawn error', async () => {
  const client = new SlurmClient({ binDir: '/nonexistent/slurm/bin' });
  await assert.rejects(client.submit(renderArrayScript(OPTIONS), process.cwd()), (e: unknown) => {
    assert.ok(e instanceof SlurmError);
    assert.equal(e.tool, 'sbatch');
    assert.match(e.message, /^\/nonexistent\/slurm\/bin\/sbatch was not found: Slurm's client tools \(sbatch, scontrol, scancel\) must be installed/);
    return true;
  });
  const onPath = new SlurmClient({ env: { ...process.env, PATH: '/nonexistent' } });
  await assert.rejects(onPath.tasks('1'), /^Error: scontrol was not found on PATH/);
});
