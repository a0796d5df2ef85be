// What a `kill -9` costs (issue 14, finding 6): a small synthetic run is killed at random steps
// (one drawn in each of `kills` equal slices of the run), once checkpointing only at epoch ends
// (checkpointMinutes 0, the old behaviour) and once with mid-epoch checkpoints every quarter of an
// epoch's wall time (the ratio of the default 10 minutes to a ~40-minute CIFAR ResNet epoch on
// wasm). For each kill: could it be resumed, does
// the resumed run end bit for bit as the run never interrupted, and how many steps were lost
// (trained before the kill, after the checkpoint the resume continues from).
//
//   node scripts/build.mjs && node --import tsx bench/kill-resume.ts [kills=10] [seed=1] [mid-epoch]
//
// Steps take longer or shorter with the machine's load, so where the checkpoints land varies from
// run to run; the kill points do not (they are steps).

import { fork, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { currentHistory, parseEventLines, parseTrainerEvent, type TrainerEvent } from '../src/shared/protocol';
import { Rng } from '../src/trainer/rng';
import { runNumbers } from '../test/support/run-numbers';

const TRAINER = path.resolve(__dirname, '../dist/trainer.js');
const EPOCHS = 3;
const CONFIG = {
  model: 'small-cnn',
  data: { name: 'synthetic', validationSize: 64, synthetic: { trainCount: 560, testCount: 64, size: 16, channels: 1, classes: 4 } },
  was: { transform: 'mixed' },
  optimizer: { name: 'sgd' },
  epochs: EPOCHS,
  batchSize: 16,
  evalBatchSize: 64,
  seed: 9,
  backend: 'wasm',
  logEverySteps: 1,
  bn: { recalibrationBatches: 2 },
};

function events(runDir: string): TrainerEvent[] {
  return parseEventLines(fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')).events;
}

function trainer(args: string[]): Promise<number | null> {
  return new Promise((resolve) => spawn(process.execPath, [TRAINER, ...args], { stdio: 'ignore' }).on('close', resolve));
}

/** Starts a run and kills it with SIGKILL once it reports step `atStep`. */
function killAt(args: string[], atStep: number): Promise<void> {
  const child = fork(TRAINER, args, { silent: true });
  child.stdout!.resume();
  child.stderr!.resume();
  child.on('message', (m) => {
    const e = parseTrainerEvent(m);
    if (e.type === 'step' && e.step >= atStep && !child.killed) child.kill('SIGKILL');
  });
  return new Promise((resolve) => child.on('exit', () => resolve()));
}

async function main(): Promise<void> {
  const kills = Number(process.argv[2] ?? 10);
  const rng = new Rng(Number(process.argv[3] ?? 1));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-kill-'));
  const configFile = path.join(dir, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify({ ...CONFIG, runsDir: dir }));

  if ((await trainer(['--config', configFile, '--run-name', 'reference', '--checkpoint-minutes', '0'])) !== 0) throw new Error('the reference run failed');
  const reference = events(path.join(dir, 'reference'));
  const start = reference.find((e) => e.type === 'run-start');
  const stepsPerEpoch = start?.type === 'run-start' ? start.stepsPerEpoch : 0;
  const totalSteps = stepsPerEpoch * EPOCHS;
  // An epoch's training time (its evaluation not counted, as checkpointMinutes counts).
  const speeds = reference.flatMap((e) => (e.type === 'epoch' ? [e.samplesPerSec] : []));
  const epochSec = (stepsPerEpoch * CONFIG.batchSize) / (speeds.reduce((a, b) => a + b, 0) / speeds.length);
  const minutes = epochSec / 4 / 60;
  // Stratified: one point drawn uniformly in each of `kills` equal slices of the run's steps.
  const points = Array.from({ length: kills }, (_, i) => 1 + Math.floor(((i + rng.next()) * (totalSteps - 1)) / kills));
  console.log(`${stepsPerEpoch} steps per epoch, ${EPOCHS} epochs, ${epochSec.toFixed(1)} s of training per epoch; mid-epoch checkpoints every ${(minutes * 60).toFixed(2)} s; kills at steps ${points.join(', ')}`);

  const modes = [['epoch ends only', 0], ['mid-epoch', minutes]] as const;
  for (const [label, interval] of process.argv[4] === 'mid-epoch' ? modes.slice(1) : modes) {
    const rows: string[] = [];
    let resumed = 0;
    let identical = 0;
    const lost: number[] = [];
    for (const [i, atStep] of points.entries()) {
      const name = `${interval === 0 ? 'old' : 'new'}-${i}`;
      const runDir = path.join(dir, name);
      await killAt(['--config', configFile, '--run-name', name, '--checkpoint-minutes', String(interval), '--json'], atStep);
      const done = Math.max(0, ...events(runDir).map((e) => (e.type === 'step' ? e.step : 0)));
      const pointer = path.join(runDir, 'checkpoints', 'last.json');
      const code = await trainer(['resume', runDir]);
      const after = events(runDir);
      const from = after.filter((e) => e.type === 'run-start').at(-1);
      const savedStep = fs.existsSync(pointer) && from?.type === 'run-start' ? (from.resumedFrom?.step ?? 0) : 0;
      const same = code === 0 && JSON.stringify(runNumbers(currentHistory(after))) === JSON.stringify(runNumbers(reference));
      if (code === 0) resumed++;
      if (same) identical++;
      lost.push(done - savedStep);
      rows.push(`  kill at step ${done}: ${code === 0 ? `resumed from step ${savedStep}` : 'not resumable'}, ${done - savedStep} steps lost${same ? ', bit-identical' : ''}`);
    }
    const mean = lost.reduce((a, b) => a + b, 0) / lost.length;
    console.log(`${label}: ${resumed}/${kills} resumed, ${identical} bit-identical; steps lost per kill: mean ${mean.toFixed(1)}, max ${Math.max(...lost)} (of ${stepsPerEpoch} per epoch)`);
    for (const row of rows) console.log(row);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
