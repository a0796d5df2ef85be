// A realistic study.json (STUDY_RESULTS, src/shared/study.ts) for the study page and store tests,
// written as `was-train study` writes it: a grid of cells times seeds, each WAS run paired with its
// baseline, the cells' summaries and paired gains (95% Student t interval, two-sided p of the paired
// t test) computed here from the runs' accuracies, NaN written as null. The accuracies are made up
// (seeded, in the range small MNIST runs reach); the statistics follow from them.

import { STUDY_FORMAT, parseStudyResults, type StudyResults } from '../../src/shared/study';

export interface FixtureCell {
  settings: Record<string, unknown>;
  /** Mean WAS gain over plain of this cell, in points, and the plain accuracy (fraction). */
  gain: number;
  plain: number;
}

export interface FixtureOptions {
  name?: string;
  cells: FixtureCell[];
  seeds: number[];
  /** Runs of each cell done (completed); the rest are `running` (the first) and `pending`. Default: all. */
  done?: number;
  state?: StudyResults['state'];
}

/** The study.json JSON (as on disk: NaN as null). */
export function studyJson(options: FixtureOptions): Record<string, unknown> {
  const name = options.name ?? 'tiny-grid';
  const done = options.done ?? options.seeds.length;
  const runs = options.cells.flatMap((cell, c) =>
    options.seeds.map((seed, k) => {
      const id = `c${c + 1}`;
      const slug = Object.values(cell.settings).map(String).join('-').replace(/[^\w.-]/g, '');
      const plain = cell.plain + 0.002 * wobble(seed * 7 + c);
      const aomGain = cell.gain + 0.4 * wobble(seed * 13 + c);
      const domGain = cell.gain - 0.1 + 0.5 * wobble(seed * 17 + c);
      const state = k < done ? 'completed' : k === done ? 'running' : 'pending';
      const domDraws = [0, 1, 2, 3, 4].map((d) => plain + domGain / 100 + 0.001 * wobble(seed * 31 + d));
      const result =
        state === 'completed'
          ? { aom: plain + aomGain / 100, dom: mean(domDraws), domDraws, baseline: plain, gain: { aom: aomGain, dom: 100 * (mean(domDraws) - plain) }, durationSec: 20 + seed }
          : null;
      return { name: `${id}-${slug}-s${seed}`, cell: id, seed, state, reason: null, epochsCompleted: state === 'completed' ? 1 : 0, epochs: 1, result };
    }),
  );
  const cells = options.cells.map((cell, c) => {
    const id = `c${c + 1}`;
    const results = runs.filter((r) => r.cell === id && r.result !== null).map((r) => ({ seed: r.seed, ...r.result! }));
    const gainOf = (mode: 'aom' | 'dom') => (results.length === 0 ? null : gain(results.map((r) => ({ seed: r.seed, gain: r.gain[mode] }))));
    return {
      id,
      settings: cell.settings,
      aom: results.length === 0 ? null : summary(results.map((r) => r.aom)),
      dom: results.length === 0 ? null : summary(results.map((r) => r.dom)),
      baseline: results.length === 0 ? null : summary(results.map((r) => r.baseline)),
      domDrawStd: results.length === 0 ? null : mean(results.map((r) => std(r.domDraws))),
      gain: { aom: gainOf('aom'), dom: gainOf('dom') },
    };
  });
  const allDone = done >= options.seeds.length;
  const json = {
    format: STUDY_FORMAT,
    name,
    file: `${name}.study.json`,
    fileSha256: 'a'.repeat(64),
    study: { base: { epochs: 1 }, grid: {}, seeds: options.seeds },
    state: options.state ?? (allDone ? 'completed' : 'running'),
    startedAt: '2026-12-06T09:00:00.000Z',
    updatedAt: `2026-12-06T09:0${done}:00.000Z`,
    wallSec: 60 * (done + 1),
    versions: { wasLab: '0.1.0', tfjs: '4.22.0' },
    machine: { cpus: 2, cpuModel: 'test', memoryGiB: 8, platform: 'linux', arch: 'x64' },
    executor: { kind: 'local', processes: 2, threadsPerProcess: 1 },
    runs,
    cells,
  };
  const wire = JSON.parse(JSON.stringify(json)) as Record<string, unknown>;
  parseStudyResults(wire); // a fixture the contract refuses is a broken test
  return wire;
}

/** A deterministic value in [-1, 1]. */
function wobble(n: number): number {
  const x = Math.sin(n * 12.9898) * 43758.5453;
  return 2 * (x - Math.floor(x)) - 1;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => (xs.length < 2 ? Number.NaN : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const summary = (xs: number[]) => ({ n: xs.length, mean: mean(xs), std: std(xs) });

/** Two-sided 95% Student t critical values for 1..10 degrees of freedom. */
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];

function gain(perSeed: { seed: number; gain: number }[]) {
  const xs = perSeed.map((p) => p.gain);
  const n = xs.length;
  const m = mean(xs);
  const s = std(xs);
  const half = n < 2 ? Number.NaN : T95[Math.min(n - 2, T95.length - 1)] * (s / Math.sqrt(n));
  const t = m / (s / Math.sqrt(n));
  return { n, mean: m, std: s, tInterval: [m - half, m + half], bootstrapInterval: [m - half * 0.9, m + half * 0.9], pValue: n < 2 ? Number.NaN : twoSidedP(t, n - 1), perSeed };
}

/** P(|T| > |t|) for Student t with `df` degrees of freedom, by Simpson's rule on the density. */
function twoSidedP(t: number, df: number): number {
  const density = (x: number) => Math.pow(1 + (x * x) / df, -(df + 1) / 2);
  const integrate = (a: number, b: number, steps = 2000) => {
    const h = (b - a) / steps;
    let sum = density(a) + density(b);
    for (let i = 1; i < steps; i++) sum += density(a + i * h) * (i % 2 === 0 ? 2 : 4);
    return (sum * h) / 3;
  };
  const whole = 2 * integrate(0, 200) + 2 * integrate(200, 1e5, 20000);
  return Math.min(1, Math.max(0, 1 - (2 * integrate(0, Math.abs(t))) / whole));
}
