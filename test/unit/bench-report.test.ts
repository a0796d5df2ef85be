// The pure parts of `npm run bench` (bench/): flags, step-count rule, statistics, the PyTorch
// peer's line protocol, the goals of issue 6 and the markdown table. No timing is asserted.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BENCH_MODELS, DEFAULT_OPTIONS, UsageError, blockDone, parseOptions, type BlockSpec } from '../../bench/options';
import { PeerProtocolError, parsePeerLine, pythonCandidates } from '../../bench/peer';
import {
  busyCpuNote,
  evaluateGoals,
  formatBytes,
  formatMs,
  formatRatio,
  median,
  pairedRatios,
  renderMarkdown,
  summarizeRun,
  table,
  type BenchResults,
  type ModelRun,
} from '../../bench/report';

test('median and paired ratios', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
  assert.deepEqual(pairedRatios([2, 6, 9], [1, 3]), [2, 2]);
});

test('options: defaults, lists, --key=value, --quick fills only what was not given', () => {
  const d = parseOptions([]);
  assert.deepEqual(d.models, [...BENCH_MODELS]);
  assert.equal(d.backendsGiven, false);
  assert.equal(d.steps, null);
  assert.equal(d.torch, true);

  const o = parseOptions(['--models', 'lenet, resnet18,lenet', '--backends=cpu', '--steps=3', '--no-torch', '--rounds', '4', '--step-timeout', '60']);
  assert.deepEqual(o.models, ['lenet', 'resnet18']);
  assert.deepEqual(o.backends, ['cpu']);
  assert.equal(o.backendsGiven, true);
  assert.equal(o.steps, 3);
  assert.equal(o.rounds, 4);
  assert.equal(o.torch, false);
  assert.equal(o.stepTimeout, 60);

  const q = parseOptions(['--quick', '--rounds', '2']);
  assert.equal(q.quick, true);
  assert.equal(q.rounds, 2, 'an explicit flag wins over --quick');
  assert.equal(q.steps, 1);
  assert.ok(q.batch !== null && q.batch < 64);
  assert.ok(q.memorySteps < DEFAULT_OPTIONS.memorySteps);
});

test('options: clear errors for unknown names and bad numbers', () => {
  assert.throws(() => parseOptions(['--models', 'lenet,resnet50']), (e: unknown) => e instanceof UsageError && /unknown model 'resnet50'; choose from small-cnn, lenet/.test(e.message));
  assert.throws(() => parseOptions(['--backends', 'webgl']), (e: unknown) => e instanceof UsageError && /unknown backend 'webgl'; choose from wasm/.test(e.message));
  assert.throws(() => parseOptions(['--steps', '0']), /--steps must be an integer >= 1, got '0'/);
  assert.throws(() => parseOptions(['--warmup', '1.5']), /--warmup must be an integer >= 0/);
  assert.throws(() => parseOptions(['--steps']), /--steps needs a value/);
  assert.throws(() => parseOptions(['--fast']), /unknown flag --fast/);
  assert.throws(() => parseOptions(['lenet']), /unexpected argument 'lenet'/);
});

test('blockDone: fixed steps, or time with a floor and a ceiling', () => {
  const timed: BlockSpec = { warmup: 0, steps: null, minSteps: 2, maxSteps: 5, blockSeconds: 3 };
  assert.equal(blockDone(timed, 1, 100), false, 'at least minSteps');
  assert.equal(blockDone(timed, 2, 2.9), false);
  assert.equal(blockDone(timed, 2, 3), true);
  assert.equal(blockDone(timed, 5, 0.1), true, 'at most maxSteps');
  assert.equal(blockDone({ ...timed, steps: 3 }, 2, 100), false);
  assert.equal(blockDone({ ...timed, steps: 3 }, 3, 0), true);
});

test('peer lines: hello, result and error parse; anything else fails loudly', () => {
  assert.deepEqual(parsePeerLine('{"type": "hello", "ok": true, "torch": "1.13.0a0", "python": "3.11.2"}'), {
    type: 'hello',
    ok: true,
    torch: '1.13.0a0',
    python: '3.11.2',
  });
  assert.deepEqual(parsePeerLine('{"type": "hello", "ok": false, "error": "ModuleNotFoundError: No module named \'torch\'"}'), {
    type: 'hello',
    ok: false,
    error: "ModuleNotFoundError: No module named 'torch'",
    python: null,
  });
  const result = parsePeerLine(
    '{"type": "result", "model": "lenet", "batch": 64, "threads": 1, "parameters": 61706, "timesMs": [29.6, 28.0], "maxRssKb": 255900}',
  );
  assert.equal(result.type, 'result');
  assert.deepEqual(result.type === 'result' && result.timesMs, [29.6, 28.0]);
  assert.deepEqual(parsePeerLine('{"type": "error", "message": "ValueError: boom"}'), { type: 'error', message: 'ValueError: boom' });

  const bad = [
    'Traceback (most recent call last):',
    '[1, 2]',
    '{"type": "hello", "ok": "yes"}',
    '{"type": "result", "model": "lenet", "batch": 64, "threads": 1, "parameters": 1, "timesMs": [], "maxRssKb": 1}',
    '{"type": "result", "model": "lenet", "batch": 64, "threads": 1, "parameters": 1, "timesMs": [-1], "maxRssKb": 1}',
    '{"type": "result", "model": "lenet", "batch": "64", "threads": 1, "parameters": 1, "timesMs": [1], "maxRssKb": 1}',
    '{"type": "progress"}',
  ];
  for (const line of bad) assert.throws(() => parsePeerLine(line), PeerProtocolError, line);
});

test('python candidates: WAS_BENCH_PYTHON alone, else python3 then Debian python', () => {
  assert.deepEqual(pythonCandidates({ WAS_BENCH_PYTHON: '/opt/py/bin/python' }), ['/opt/py/bin/python']);
  assert.deepEqual(pythonCandidates({}), ['python3', '/usr/bin/python3']);
});

test('formatting', () => {
  assert.equal(formatMs(53.24), '53.2 ms');
  assert.equal(formatMs(253.6), '254 ms');
  assert.equal(formatMs(15600), '15.60 s');
  assert.equal(formatMs(NaN), '—');
  assert.equal(formatRatio(4.8333), '4.83x');
  assert.equal(formatRatio(30789.4), '30789x');
  assert.equal(formatBytes(3 * 1024 ** 3), '3.00 GiB');
  assert.equal(formatBytes(250 * 1024 ** 2), '250 MiB');
  assert.equal(table(['a', 'b'], [['x|y', '1']]), '| a | b |\n|---|---|\n| x\\|y | 1 |');
});

function run(model: ModelRun['model'], plain: number[], was: number[], torch: number[] | null, extra: Partial<ModelRun> = {}): ModelRun {
  return {
    backend: 'wasm',
    model,
    status: 'measured',
    batch: 64,
    tooBig: [],
    input: { height: 32, width: 32, channels: 3 },
    threads: 2,
    backendReason: 'requested; @tensorflow/tfjs-backend-wasm (2 threads)',
    parameters: 1000,
    shadowLayers: 1,
    lr: 0.05,
    ours: { plain, shift: was, crop: was.map((t) => t * 1.1), mixed: was },
    torch: torch && { parameters: 1000, threads: 2, samples: torch, maxRssBytes: 300 * 1024 ** 2 },
    nonFiniteSteps: 0,
    maxRssBytes: 2 * 1024 ** 3,
    ...extra,
  };
}

function results(runs: ModelRun[], memoryCounts: number[] | null): BenchResults {
  return {
    schema: 1,
    date: '2026-11-20T10:00:00.000Z',
    durationSec: 600,
    command: 'npm run bench',
    quick: false,
    rounds: 2,
    machine: { cpu: 'Test CPU', cores: 2, memoryBytes: 24 * 1024 ** 3, platform: 'linux x64', loadAverage: [1.5, 2.25] },
    versions: { wasLab: '0.1.0', node: 'v20', tfjs: '4.22.0', torch: '1.13.1', python: '3.11' },
    backends: [{ name: 'wasm', measured: true, detail: '2 thread(s)', threads: 2 }],
    torch: { measured: true, detail: 'torch 1.13.1' },
    runs,
    pipeline: runs.map((r) => ({ model: r.model, input: r.input, batch: r.batch, batchesPerSec: 100 })),
    memory: memoryCounts && {
      backend: 'wasm',
      model: 'lenet',
      variant: 'mixed',
      batch: 64,
      steps: 1000,
      samples: memoryCounts.map((n, i) => [i === 0 ? 1 : i * 100, n, 1e6, 2e8]),
      maxRssBytes: 3e8,
    },
    notes: ['a note'],
  };
}

test('summary: medians, ratio to PyTorch, paired WAS overhead', () => {
  const s = summarizeRun(run('small-cnn', [100, 120, 110], [104, 120, 121], [50, 60]));
  assert.equal(s.ms.plain, 110);
  assert.equal(s.torchMs, 55);
  assert.equal(s.vsTorch, 2);
  assert.equal(s.vsTorchFastest, 2, 'fastest: 100 / 50');
  // Paired: 1.04, 1.0, 1.1 -> median 1.04 (a ratio of medians would say 120/110).
  assert.ok(Math.abs(s.wasOverhead.shift - 1.04) < 1e-12);
  assert.ok(Number.isNaN(summarizeRun(run('lenet', [1], [1], null)).vsTorch));
});

test('goals: met, missed and not measured, each with its measured value', () => {
  const r = results(
    [
      run('small-cnn', [70], [72.1], [50]), // 1.4x torch: met (goal 1.5x); WAS 1.03 met
      run('resnet18', [4000], [4400], [1000]), // 4.0x: missed; WAS 1.10: the worst
      run('lenet', [5], [5], [1]), // pipeline 100/s * 5 ms = 0.5x: the lowest
    ],
    [84, 84, 84],
  );
  const goals = evaluateGoals(r);
  const by = (prefix: string) => goals.find((g) => g.goal.startsWith(prefix))!;
  assert.equal(by('small-cnn').status, 'met');
  assert.match(by('small-cnn').measured, /^1\.40x \(70\.0 ms vs 50\.0 ms; fastest steps 1\.40x\)$/);
  assert.equal(by('resnet18').status, 'missed');
  assert.equal(by('resnet18').value, 4);
  assert.equal(by('WAS').status, 'missed');
  assert.match(by('WAS').measured, /worst 1\.21x \(resnet18 crop\)/);
  assert.equal(by('input pipeline').status, 'missed');
  assert.match(by('input pipeline').measured, /lowest 0\.50x \(lenet\)/);
  assert.equal(by('tensor count').status, 'met');
  assert.equal(by('tensor count').measured, '84 after step 1, 84 after step 200');
  assert.equal(by('peak memory').status, 'reported');

  const growing = evaluateGoals(results([run('lenet', [5], [5], null)], [84, 85, 86]));
  assert.equal(growing.find((g) => g.goal.startsWith('tensor count'))!.status, 'missed');
  const sparse = evaluateGoals(results([run('lenet', [5], [5], null)], null));
  assert.equal(sparse.find((g) => g.goal.startsWith('small-cnn'))!.status, 'not measured');
  assert.match(sparse.find((g) => g.goal.startsWith('resnet18'))!.measured, /model not run/);
  assert.match(evaluateGoals(results([run('small-cnn', [5], [5], null)], null))[0].measured, /PyTorch not run/);
  assert.equal(sparse.find((g) => g.goal.startsWith('tensor count'))!.status, 'not measured');
});

test('markdown: machine, goals, every section, failed runs and notes', () => {
  const failed: ModelRun = { ...run('mobilenetv2', [], [], null), status: 'failed', error: 'Aborted()', tooBig: [{ batch: 64, error: 'Aborted()' }] };
  const withMacs = run('small-cnn', [100], [103], [50], { forwardMacs: 1e7 }); // 3 * 1e7 * 64 per step
  const md = renderMarkdown({ ...results([withMacs, failed], [84, 84]), ceiling: { threads: 2, plainMacsPerSec: 40e9, fmaMacsPerSec: 64e9 } });
  assert.match(md, /^# Training speed benchmark/);
  assert.match(md, /Test CPU, 2 cores/);
  assert.match(md, /Load average \(1 min\) 1\.5 at the start, 2\.3 at the end, on 2 cores/);
  assert.match(md, /PyTorch 1\.13\.1/);
  for (const heading of ['## Goals (issues 6 and 16)', '## Train step', '## Multiply-adds against the wasm ceiling', '## WAS overhead', '## Input pipeline', '## Memory over many steps', '## Notes'])
    assert.ok(md.includes(heading), heading);
  assert.match(md, /\| small-cnn train step vs PyTorch \(wasm\) \| ≤ 1\.5x \| 2\.00x \(100 ms vs 50\.0 ms; fastest steps 2\.00x\) \| \*\*missed\*\* \|/);
  assert.match(md, /\*\*40\.0 GMAC\/s\*\* with plain SIMD.*\*\*64\.0 GMAC\/s\*\* with relaxed-SIMD FMA/);
  // 1.92 G multiply-adds in 100 ms: 19.2 GMAC/s, 48% of 40, 30% of 64; PyTorch in 50 ms: 38.4.
  assert.match(md, /\| small-cnn \| wasm \| 64 \| 1\.92 G \| 19\.2 GMAC\/s \| 48% \| 30% \| 38\.4 GMAC\/s \|/);
  assert.match(md, /\| small-cnn \| 32x32x3 \| 64 \| wasm \| 2 \| 100 ms \| 50\.0 ms \| 2\.00x \| 2\.00x \| 1 \/ 1 \| 2\.00 GiB \/ 300 MiB \|/);
  assert.match(md, /\| mobilenetv2 \| 32x32x3 \| 64 \| wasm \| 2 \| failed: Aborted\(\) \|/);
  assert.match(md, /mobilenetv2 \(wasm\): batch 64 did not fit/);
  assert.match(md, /- a note/);
  assert.match(md, /CPU was busy with other work \(load average up to 2\.3 on 2 cores\)/);
});

test('busy CPU note: only above half the cores, at the start or the end', () => {
  const machine = (start: number, end: number): BenchResults['machine'] => ({ cpu: 'x', cores: 4, memoryBytes: 1, platform: 'p', loadAverage: [start, end] });
  assert.equal(busyCpuNote(machine(0.3, 2)), null);
  assert.match(busyCpuNote(machine(0.3, 2.5))![0], /load average up to 2\.5 on 4 cores/);
  assert.match(busyCpuNote(machine(3, 0.1))![0], /up to 3\.0/);
});
