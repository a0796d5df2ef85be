// The benchmark's results: the JSON shape, the statistics, the goals of issue 6 and the markdown
// table. Pure functions of the results, so test/unit/bench-report.test.ts can pin them down.

import type { Ceiling } from './ceiling';
import { WAS_FAMILIES, type BenchBackend, type BenchModel, type InputShape, type Variant } from './options';

export interface ModelRun {
  backend: BenchBackend;
  model: BenchModel;
  /** 'failed': built or stepped with an error at every batch tried (see `error`). */
  status: 'measured' | 'failed';
  error?: string;
  batch: number;
  /** Batches that did not fit (e.g. the wasm heap), with what happened. */
  tooBig: { batch: number; error: string }[];
  input: InputShape;
  threads: number;
  /** How the backend describes itself (selectBackend's reason: build, threads). */
  backendReason: string;
  parameters: number;
  shadowLayers: number;
  lr: number;
  /** Step times (ms) per variant over all rounds; index i of each variant is the same iteration. */
  ours: Record<Variant, number[]>;
  torch: { parameters: number; threads: number; samples: number[]; maxRssBytes: number } | null;
  torchError?: string;
  nonFiniteSteps: number;
  maxRssBytes: number;
  /** Multiply-adds of one image's forward pass (absent in results written before issue 16). */
  forwardMacs?: number;
}

export interface PipelineRun {
  model: BenchModel;
  input: InputShape;
  batch: number;
  batchesPerSec: number;
}

export interface MemoryRun {
  backend: BenchBackend;
  model: BenchModel;
  variant: Variant;
  batch: number;
  steps: number;
  /** [step, numTensors, numBytes, rssBytes]; the first after step 1. */
  samples: [number, number, number, number][];
  maxRssBytes: number;
}

export interface BenchResults {
  schema: 1;
  date: string;
  durationSec: number;
  command: string;
  quick: boolean;
  rounds: number;
  /** loadAverage: the 1-minute load average at the start and at the end (other work on the CPU). */
  machine: { cpu: string; cores: number; memoryBytes: number; platform: string; loadAverage: [number, number] };
  versions: { wasLab: string; node: string; tfjs: string | null; torch: string | null; python: string | null };
  backends: { name: BenchBackend; measured: boolean; detail: string; threads: number | null }[];
  torch: { measured: boolean; detail: string };
  runs: ModelRun[];
  pipeline: PipelineRun[];
  memory: MemoryRun | null;
  /** The wasm ceiling (bench/ceiling.ts); absent before issue 16 or when wasm was not run. */
  ceiling?: Ceiling | null;
  notes: string[];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** a[i] / b[i] for the pairs both have. */
export function pairedRatios(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.min(a.length, b.length);
  return Array.from({ length: n }, (_, i) => a[i] / b[i]);
}

export interface RunSummary {
  backend: BenchBackend;
  model: BenchModel;
  /** Median step time (ms) per variant. */
  ms: Record<Variant, number>;
  torchMs: number;
  /** ours plain / PyTorch, medians; NaN without PyTorch. */
  vsTorch: number;
  /**
   * The same from each side's fastest step. A neighbour's load only ever adds time, so on a
   * shared CPU this is the steadier estimate; far from vsTorch means the run was noisy.
   */
  vsTorchFastest: number;
  /** Median of paired WAS/plain step ratios per family. */
  wasOverhead: Record<(typeof WAS_FAMILIES)[number], number>;
}

export function summarizeRun(run: ModelRun): RunSummary {
  const ms = { plain: median(run.ours.plain), shift: median(run.ours.shift), crop: median(run.ours.crop), mixed: median(run.ours.mixed) };
  const torchMs = run.torch ? median(run.torch.samples) : NaN;
  const overhead = (f: (typeof WAS_FAMILIES)[number]): number => median(pairedRatios(run.ours[f], run.ours.plain));
  return {
    backend: run.backend,
    model: run.model,
    ms,
    torchMs,
    vsTorch: ms.plain / torchMs,
    vsTorchFastest: run.torch ? Math.min(...run.ours.plain) / Math.min(...run.torch.samples) : NaN,
    wasOverhead: { shift: overhead('shift'), crop: overhead('crop'), mixed: overhead('mixed') },
  };
}

export type GoalStatus = 'met' | 'missed' | 'not measured' | 'reported';

export interface Goal {
  goal: string;
  target: string;
  measured: string;
  status: GoalStatus;
  /** The number the status was decided on (NaN when not measured). */
  value: number;
}

/** Issue 6's goals, with issue 16's small-cnn target (1.5x, was 2x). */
export const GOALS = { smallCnnVsTorch: 1.5, resnet18VsTorch: 3, wasOverhead: 1.05, pipelineVsTraining: 10 } as const;

/** The goals of issue 6, for each backend measured (the tensor count on the memory run's backend). */
export function evaluateGoals(results: BenchResults): Goal[] {
  const goals: Goal[] = [];
  const measured = results.runs.filter((r) => r.status === 'measured');
  const backends = [...new Set(measured.map((r) => r.backend))];
  if (backends.length === 0) backends.push(results.backends[0]?.name ?? 'wasm');
  for (const backend of backends) {
    const runs = measured.filter((r) => r.backend === backend).map((r) => ({ run: r, s: summarizeRun(r) }));
    const vsTorch = (model: BenchModel, limit: number): Goal => {
      const found = runs.find((r) => r.run.model === model);
      const goal = `${model} train step vs PyTorch (${backend})`;
      const target = `≤ ${limit}x`;
      if (!found) return notMeasured(goal, target, 'model not run');
      if (!found.run.torch) return notMeasured(goal, target, `PyTorch not run${found.run.torchError ? `: ${found.run.torchError}` : ''}`);
      const v = found.s.vsTorch;
      const measured = `${formatRatio(v)} (${formatMs(found.s.ms.plain)} vs ${formatMs(found.s.torchMs)}; fastest steps ${formatRatio(found.s.vsTorchFastest)})`;
      return { goal, target, value: v, measured, status: v <= limit ? 'met' : 'missed' };
    };
    goals.push(vsTorch('small-cnn', GOALS.smallCnnVsTorch), vsTorch('resnet18', GOALS.resnet18VsTorch));

    const overheads = runs.flatMap((r) => WAS_FAMILIES.map((f) => ({ model: r.run.model, family: f, v: r.s.wasOverhead[f] })));
    const worst = overheads.filter((o) => Number.isFinite(o.v)).sort((a, b) => b.v - a.v)[0];
    const wasGoal = `WAS step / plain step, every model and family (${backend})`;
    goals.push(
      worst
        ? { goal: wasGoal, target: `≤ ${GOALS.wasOverhead}x`, value: worst.v, measured: `worst ${formatRatio(worst.v)} (${worst.model} ${worst.family})`, status: worst.v <= GOALS.wasOverhead ? 'met' : 'missed' }
        : notMeasured(wasGoal, `≤ ${GOALS.wasOverhead}x`, 'no model run'),
    );

    const pipe = runs
      .map((r) => ({ model: r.run.model, v: pipelineRatio(results.pipeline, r.run, r.s) }))
      .filter((p) => Number.isFinite(p.v))
      .sort((a, b) => a.v - b.v)[0];
    const pipeGoal = `input pipeline rate / training rate, every model (${backend})`;
    goals.push(
      pipe
        ? { goal: pipeGoal, target: `≥ ${GOALS.pipelineVsTraining}x`, value: pipe.v, measured: `lowest ${formatRatio(pipe.v)} (${pipe.model})`, status: pipe.v >= GOALS.pipelineVsTraining ? 'met' : 'missed' }
        : notMeasured(pipeGoal, `≥ ${GOALS.pipelineVsTraining}x`, 'no pipeline or model run'),
    );
  }

  const mem = results.memory;
  const flatGoal = `tensor count flat over many steps${mem ? ` (${mem.model}, WAS ${mem.variant}, ${mem.backend})` : ''}`;
  if (!mem || mem.samples.length === 0) goals.push(notMeasured(flatGoal, 'flat', 'memory run skipped'));
  else {
    const counts = mem.samples.map((s) => s[1]);
    const growth = Math.max(...counts) - Math.min(...counts);
    const first = mem.samples[0];
    const last = mem.samples[mem.samples.length - 1];
    goals.push({
      goal: flatGoal,
      target: 'flat',
      value: growth,
      measured: `${first[1]} after step ${first[0]}, ${last[1]} after step ${last[0]}`,
      status: growth === 0 ? 'met' : 'missed',
    });
  }
  const peak = measured.reduce<ModelRun | null>((a, r) => (a === null || r.maxRssBytes > a.maxRssBytes ? r : a), null);
  const torchPeak = measured.reduce<ModelRun | null>((a, r) => (r.torch && (a === null || r.torch.maxRssBytes > a.torch!.maxRssBytes) ? r : a), null);
  goals.push({
    goal: 'peak memory (RSS of one training process)',
    target: 'reported',
    value: peak?.maxRssBytes ?? NaN,
    measured: peak
      ? `ours ${formatBytes(peak.maxRssBytes)} (${peak.model}, ${peak.backend})` +
        (torchPeak ? `; PyTorch ${formatBytes(torchPeak.torch!.maxRssBytes)} (${torchPeak.model})` : '')
      : '—',
    status: peak ? 'reported' : 'not measured',
  });
  return goals;
}

function notMeasured(goal: string, target: string, why: string): Goal {
  return { goal, target, measured: `— (${why})`, status: 'not measured', value: NaN };
}

/** Multiply-adds of one train step: forward, input gradient and filter gradient, 3x the forward pass's. */
export function macsPerStep(run: ModelRun): number {
  return run.forwardMacs === undefined ? NaN : 3 * run.forwardMacs * run.batch;
}

const gmacs = (macsPerSec: number): string => (Number.isFinite(macsPerSec) ? `${(macsPerSec / 1e9).toFixed(1)} GMAC/s` : '—');
const percent = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(0)}%` : '—');

/** The wasm ceiling and each model's achieved multiply-adds per second against it (issue 16). */
function ceilingSection(results: BenchResults, summaries: Map<ModelRun, RunSummary>): string[] {
  const c = results.ceiling;
  if (!c) return [];
  const rows = [...summaries].map(([r, s]) => {
    const macs = macsPerStep(r);
    const ours = macs / (s.ms.plain / 1000), torch = macs / (s.torchMs / 1000);
    const fma = c.fmaMacsPerSec === null ? '—' : percent(ours / c.fmaMacsPerSec);
    return [r.model, r.backend, String(r.batch), Number.isFinite(macs) ? `${(macs / 1e9).toFixed(2)} G` : '—', gmacs(ours), percent(ours / c.plainMacsPerSec), fma, gmacs(torch)];
  });
  return [
    '',
    '## Multiply-adds against the wasm ceiling',
    '',
    `The wasm ceiling of this machine (bench/ceiling.ts, ${c.threads} threads at once, a loop of nothing but f32x4 multiply-adds): ` +
      `**${gmacs(c.plainMacsPerSec)}** with plain SIMD (a multiply and an add per lane, as in XNNPACK's kernels)` +
      (c.fmaMacsPerSec === null ? '; no relaxed SIMD here. ' : `, **${gmacs(c.fmaMacsPerSec)}** with relaxed-SIMD FMA. `) +
      'A step counts 3x the forward multiply-adds (forward, input gradient, filter gradient) of direct convolutions (nn/flops.ts); ' +
      'Winograd convs do fewer real multiplications than that, so their effective rate may pass the ceiling.',
    '',
    table(['model', 'backend', 'batch', 'multiply-adds per step', 'ours', 'of the ceiling', 'of the FMA ceiling', 'PyTorch (same count)'], rows),
  ];
}

/** Pipeline batches per second over training steps per second (plain step) for one run. */
export function pipelineRatio(pipeline: readonly PipelineRun[], run: ModelRun, s: RunSummary): number {
  const p = pipeline.find((x) => x.model === run.model && x.batch === run.batch);
  return p ? p.batchesPerSec * (s.ms.plain / 1000) : NaN;
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${Math.round(ms)} ms`;
  return `${ms.toFixed(1)} ms`;
}

export function formatRatio(r: number): string {
  if (!Number.isFinite(r)) return '—';
  return r >= 100 ? `${Math.round(r)}x` : `${r.toFixed(2)}x`;
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '—';
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(2)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`;
}

const shapeText = (s: InputShape): string => `${s.height}x${s.width}x${s.channels}`;
const STATUS_MARK: Record<GoalStatus, string> = { met: '**met**', missed: '**missed**', 'not measured': 'not measured', reported: 'reported' };

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

/**
 * A warning when other work kept the CPU busy (a 1-minute load average above half the cores at
 * the start or the end). PyTorch's OpenMP threads suffer most from that: every parallel region
 * waits for a preempted thread, which was seen to make its small-model steps 5x slower here.
 */
export function busyCpuNote(machine: BenchResults['machine']): [string] | null {
  const load = Math.max(...machine.loadAverage);
  if (load <= machine.cores / 2) return null;
  return [
    `The CPU was busy with other work (load average up to ${load.toFixed(1)} on ${machine.cores} cores). ` +
      'PyTorch suffers most from that (its OpenMP threads wait for each other at every parallel region), ' +
      'so the ratios against PyTorch flatter us: rerun on a quiet machine before trusting a met goal.',
  ];
}

export function renderMarkdown(results: BenchResults): string {
  const m = results.machine;
  const v = results.versions;
  const measured = results.runs.filter((r) => r.status === 'measured');
  const summaries = new Map(measured.map((r) => [r, summarizeRun(r)]));
  const out: string[] = [];
  out.push('# Training speed benchmark');
  out.push('');
  out.push(
    `Written by \`npm run bench\` (bench/run.ts) on ${results.date.slice(0, 10)}${results.quick ? ' in **--quick** mode (smoke test, not a measurement)' : ''}. ` +
      `Machine: ${m.cpu}, ${m.cores} cores, ${formatBytes(m.memoryBytes)} RAM, ${m.platform}. ` +
      `Node ${v.node}, tfjs ${v.tfjs ?? '—'}, WAS Lab ${v.wasLab}` +
      (v.torch ? `, PyTorch ${v.torch} (Python ${v.python ?? '?'})` : '') +
      `. The run took ${(results.durationSec / 60).toFixed(1)} min: \`${results.command}\`. ` +
      `Load average (1 min) ${m.loadAverage[0].toFixed(1)} at the start, ${m.loadAverage[1].toFixed(1)} at the end, on ${m.cores} cores.`,
  );
  out.push('');
  out.push(
    'Rerun: `npm run bench` (`npm run bench -- --help` lists the flags; `-- --quick` is a one-minute smoke test of the harness). ' +
      'Every run writes bench-results/<time>.json (all step times) and bench-results/latest.md; only a full run rewrites this file.',
  );
  out.push('');
  out.push(
    'Backends: ' +
      results.backends.map((b) => (b.measured ? `${b.name} (${b.detail})` : `${b.name} not measured (${b.detail})`)).join('; ') +
      `. PyTorch: ${results.torch.detail}.`,
  );
  out.push('');
  const rounds = `${results.rounds} round${results.rounds === 1 ? '' : 's'}`;
  out.push(
    `Method: one train step = forward, loss, backward and the SGD update (momentum 0.9, weight decay 5e-4 on kernels) ` +
      `on random-but-normalised batches, as runTraining does it (trainStep, Optimizer, ForwardContext, the WAS sampler). ` +
      (results.torch.measured
        ? `PyTorch runs the same architectures (bench/pytorch_peer.py; a note below flags any parameter count that differs), ` +
          `same batch, same thread count, same optimizer, with glibc malloc told to keep freed memory (bench/peer.ts: ` +
          `without that, PyTorch's per-step page faults made its steps up to 5x slower here). Times are medians over all timed steps after warm-up, in ${rounds}, ` +
          `each alternating ours and PyTorch model by model. `
        : `Times are medians over all timed steps after warm-up, in ${rounds}. `) +
      `WAS overhead is the median of step-by-step paired ratios (the variants take turns). The CPU may be shared with other work: ` +
      `the side-by-side ratios are more telling than absolute times, and a ratio of the fastest steps far from the ratio of medians marks a noisy run.`,
  );
  out.push('');
  out.push('## Goals (issues 6 and 16)');
  out.push('');
  out.push(table(['goal', 'target', 'measured', 'status'], evaluateGoals(results).map((g) => [g.goal, g.target, g.measured, STATUS_MARK[g.status]])));
  out.push('');
  out.push('## Train step (median time per step)');
  out.push('');
  out.push(
    table(
      ['model', 'input', 'batch', 'backend', 'threads', 'ours', 'PyTorch', 'ours / PyTorch', 'same, fastest steps', 'timed steps ours / PyTorch', 'peak RSS ours / PyTorch'],
      results.runs.map((r) => {
        const s = summaries.get(r);
        if (!s) return [r.model, shapeText(r.input), String(r.batch), r.backend, String(r.threads), `failed: ${r.error ?? '?'}`, '', '', '', '', ''];
        return [
          r.model,
          shapeText(r.input),
          String(r.batch),
          r.backend,
          String(r.threads),
          formatMs(s.ms.plain),
          r.torch ? formatMs(s.torchMs) : r.torchError ? `failed: ${r.torchError}` : '—',
          formatRatio(s.vsTorch),
          formatRatio(s.vsTorchFastest),
          `${r.ours.plain.length} / ${r.torch?.samples.length ?? 0}`,
          `${formatBytes(r.maxRssBytes)} / ${r.torch ? formatBytes(r.torch.maxRssBytes) : '—'}`,
        ];
      }),
    ),
  );
  const tooBig = results.runs.filter((r) => r.tooBig.length > 0);
  if (tooBig.length > 0) {
    out.push('');
    for (const r of tooBig) out.push(`- ${r.model} (${r.backend}): batch ${r.tooBig.map((t) => t.batch).join(', ')} did not fit: ${r.tooBig[0].error}`);
  }
  out.push(...ceilingSection(results, summaries));
  out.push('');
  out.push('## WAS overhead (WAS step / plain step, same backend)');
  out.push('');
  out.push(
    table(
      ['model', 'backend', 'transformed convs', 'plain', 'shift', 'crop', 'mixed'],
      measured.map((r) => {
        const s = summaries.get(r)!;
        const cell = (f: (typeof WAS_FAMILIES)[number]): string => `${formatRatio(s.wasOverhead[f])} (${formatMs(s.ms[f])})`;
        return [r.model, r.backend, String(r.shadowLayers), formatMs(s.ms.plain), cell('shift'), cell('crop'), cell('mixed')];
      }),
    ),
  );
  out.push('');
  out.push('## Input pipeline (BatchMaker, pad-4 random crop + flip) against training');
  out.push('');
  out.push(
    table(
      ['model', 'input', 'batch', 'pipeline batches/s', 'backend', 'train steps/s (plain)', 'pipeline / training'],
      measured.flatMap((r) => {
        const p = results.pipeline.find((x) => x.model === r.model && x.batch === r.batch);
        if (!p) return [];
        const s = summaries.get(r)!;
        return [[r.model, shapeText(r.input), String(r.batch), p.batchesPerSec.toFixed(0), r.backend, (1000 / s.ms.plain).toFixed(2), formatRatio(pipelineRatio(results.pipeline, r, s))]];
      }),
    ),
  );
  out.push('');
  out.push('## Memory over many steps');
  out.push('');
  const mem = results.memory;
  if (!mem) out.push('Not run (--memory-steps 0, or its model failed).');
  else {
    out.push(`${mem.model}, WAS ${mem.variant}, batch ${mem.batch}, ${mem.steps} steps on ${mem.backend}; peak RSS ${formatBytes(mem.maxRssBytes)}.`);
    out.push('');
    out.push(table(['after step', 'tf.memory().numTensors', 'bytes in tensors', 'RSS'], mem.samples.map(([step, n, bytes, rss]) => [String(step), String(n), formatBytes(bytes), formatBytes(rss)])));
  }
  const notes = [...(busyCpuNote(results.machine) ?? []), ...results.notes];
  if (notes.length > 0) {
    out.push('');
    out.push('## Notes');
    out.push('');
    for (const note of notes) out.push(`- ${note}`);
  }
  out.push('');
  return out.join('\n');
}
