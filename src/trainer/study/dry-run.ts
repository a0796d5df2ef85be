// `was-train study <file> --dry-run`: the runs the study would make, and an estimate of its time
// from a short measurement: one trainer per distinct model and data config, a few steps of one
// epoch in a temporary folder (removed after), its throughput and evaluation time scaled to each
// run's epochs and steps, then divided by the processes that run at once. The study's folder is
// not touched.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseEventLines, type TrainerEvent } from '../../shared/protocol';
import type { TrainConfig } from '../../shared/config';
import type { StudyExecutor, StudyJob } from './executor';
import type { PlannedRun, StudyPlan } from './plan';

/** Training steps each measurement takes (the first ones include the backend's warm-up, so it errs long). */
export const MEASURE_STEPS = 8;

/** What one short run measured for a model and data config. */
export interface Measurement {
  key: string;
  label: string;
  /** null when the measurement failed (the reason says why). */
  samplesPerSec: number | null;
  trainImages: number;
  /** Seconds per epoch spent outside the training steps (evaluation), and once per run (the process's start, setup, test). */
  evalSecPerEpoch: number;
  fixedSec: number;
  reason: string | null;
}

export interface StudyEstimate {
  measurements: Measurement[];
  /** Seconds per run (WAS and its baseline), null where its measurement failed. */
  perRun: Map<string, number | null>;
  /** Wall seconds for the whole study with `processes` at once; null when any run is unknown. */
  totalSec: number | null;
  processes: number;
}

function groupKey(config: TrainConfig): string {
  return JSON.stringify({ model: config.model, data: config.data, backend: config.backend });
}

/** Measures each distinct model/data config of the plan with `executor` (one process), in a temporary folder it removes. */
export async function estimateStudy(plan: StudyPlan, executor: StudyExecutor, processes: number): Promise<StudyEstimate> {
  const groups = new Map<string, PlannedRun>();
  for (const run of plan.runs) if (!groups.has(groupKey(run.config))) groups.set(groupKey(run.config), run);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'was-study-estimate-'));
  try {
    const jobs: StudyJob[] = [...groups.values()].map((run, i) => {
      const config: TrainConfig = {
        ...run.config,
        epochs: 1,
        maxStepsPerEpoch: Math.min(MEASURE_STEPS, run.config.maxStepsPerEpoch ?? MEASURE_STEPS),
        baseline: false,
        dom: { ...run.config.dom, flopsTarget: null },
        runsDir: tmp,
        runName: `m${i + 1}`,
        checkpointMinutes: 0,
      };
      const configFile = path.join(tmp, `m${i + 1}.was.json`);
      fs.writeFileSync(configFile, JSON.stringify(config));
      return { name: `m${i + 1}`, runDir: path.join(tmp, `m${i + 1}`), configFile, resume: false };
    });
    const reasons = new Map<string, string | null>();
    const started = new Map<string, number>();
    const wallSec = new Map<string, number>();
    await executor.run(jobs, {
      onUpdate: (u) => {
        if (u.state === 'running' && !started.has(u.name)) started.set(u.name, performance.now());
        if (u.state === 'failed' || u.state === 'stopped') reasons.set(u.name, u.reason);
        if (u.state === 'completed' || u.state === 'failed' || u.state === 'stopped') wallSec.set(u.name, (performance.now() - (started.get(u.name) ?? performance.now())) / 1000);
      },
    });
    const measurements = [...groups.entries()].map(([key, run], i) => measured(key, run, jobs[i], wallSec.get(jobs[i].name) ?? 0, reasons.get(jobs[i].name) ?? null));
    return { measurements, ...scale(plan, measurements, processes) };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** `wallSec`: the trainer process from start to exit, so that its start-up (Node, TensorFlow.js, data) counts once per run. */
function measured(key: string, run: PlannedRun, job: StudyJob, wallSec: number, reason: string | null): Measurement {
  const label = `${run.config.model} on ${run.config.data.name}`;
  let events: TrainerEvent[] = [];
  try {
    events = parseEventLines(fs.readFileSync(path.join(job.runDir, 'metrics.jsonl'), 'utf8')).events;
  } catch {
    // No events: the reason says why.
  }
  const start = events.find((e) => e.type === 'run-start');
  const epoch = events.find((e) => e.type === 'epoch');
  const end = events.find((e) => e.type === 'run-end');
  if (start?.type !== 'run-start' || epoch?.type !== 'epoch' || end?.type !== 'run-end' || !(end.samplesPerSec > 0))
    return { key, label, samplesPerSec: null, trainImages: 0, evalSecPerEpoch: 0, fixedSec: 0, reason: reason ?? 'the measurement run ended without numbers' };
  const stepSec = (start.stepsPerEpoch * run.config.batchSize) / end.samplesPerSec;
  const evalSecPerEpoch = Math.max(0, epoch.durationSec - stepSec);
  return { key, label, samplesPerSec: end.samplesPerSec, trainImages: start.dataset.train, evalSecPerEpoch, fixedSec: Math.max(0, wallSec - epoch.durationSec), reason: null };
}

function scale(plan: StudyPlan, measurements: Measurement[], processes: number): Omit<StudyEstimate, 'measurements'> {
  const byKey = new Map(measurements.map((m) => [m.key, m]));
  const perRun = new Map<string, number | null>();
  for (const run of plan.runs) {
    const m = byKey.get(groupKey(run.config))!;
    if (m.samplesPerSec === null) {
      perRun.set(run.name, null);
      continue;
    }
    const { epochs, batchSize, maxStepsPerEpoch } = run.config;
    const steps = Math.min(Math.ceil(m.trainImages / batchSize), maxStepsPerEpoch ?? Infinity);
    const one = epochs * ((steps * batchSize) / m.samplesPerSec + m.evalSecPerEpoch) + m.fixedSec;
    perRun.set(run.name, run.config.baseline ? 2 * one : one);
  }
  const times = [...perRun.values()];
  const known = times.every((t) => t !== null);
  const total = known ? Math.max(times.reduce<number>((a, b) => a + b!, 0) / processes, ...times.map((t) => t!)) : null;
  return { perRun, totalSec: total, processes };
}
