// `npm run bench` (issue 6): train-step time of every model on every backend, side by side with
// the same models in PyTorch, WAS overhead, the input pipeline against training, and memory over
// many steps. Writes bench-results/<time>.json, bench-results/latest.md and, after a full run,
// docs/benchmarks.md. Flags: see USAGE in bench/options.ts.
//
// Process tree: this process orchestrates and measures the input pipeline (plain JS, no tfjs);
// each model runs in a forked worker (bench/worker.ts: its own wasm heap, so an out-of-memory
// abort costs one model one batch size) next to a PyTorch peer (bench/pytorch_peer.py). Per
// model, rounds alternate ours and PyTorch, so a neighbour's load hits both sides alike.

import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXIT } from '../src/shared/exit-codes';
import { packageVersion } from '../src/trainer/version';
import {
  BENCH_MODELS,
  CPU_BACKEND_MODELS,
  UsageError,
  USAGE,
  VARIANTS,
  benchConfig,
  inputShapeFor,
  parseOptions,
  DEFAULT_BATCH,
  type BenchBackend,
  type BenchModel,
  type BenchOptions,
  type BlockSpec,
} from './options';
import { measureCeiling } from './ceiling';
import { TorchPeer, pythonCandidates } from './peer';
import { measurePipeline } from './pipeline';
import { evaluateGoals, formatMs, median, renderMarkdown, type BenchResults, type MemoryRun, type ModelRun } from './report';
import type { WorkerProgress, WorkerReply, WorkerRequest, WorkerStart } from './worker';
import { errorMessage } from '../src/shared/errors';

const ROOT = path.resolve(__dirname, '..');
/** Below this batch a model that does not fit is reported as failed rather than halved again. */
const MIN_BATCH = 4;
const CLASSES = 10;
const TORCH_MIN_STEPS = 3;

/** Steps slower than this are logged as they finish, so a long block shows signs of life. */
const SLOW_STEP_MS = 5000;

/** A forked bench/worker.ts: one reply per request, or an error when it dies or hangs. */
class Worker {
  private readonly replies: WorkerReply[] = [];
  private waiting: ((reply: WorkerReply) => void) | null = null;
  private exit: string | null = null;
  private lastHeard = Date.now();
  private hung: string | null = null;
  private readonly watchdog: NodeJS.Timeout;

  private constructor(
    private readonly child: ChildProcess,
    tag: string,
    stepTimeoutSec: number,
  ) {
    child.on('message', (reply: WorkerReply | WorkerProgress) => {
      this.lastHeard = Date.now();
      if (reply.type !== 'progress') this.deliver(reply);
      else if (reply.ms > SLOW_STEP_MS) log(`${tag}: ${reply.variant} step ${formatMs(reply.ms)}`);
    });
    // A send to a worker that is dying fails here; its 'exit' reports the failure.
    child.on('error', () => undefined);
    child.on('exit', (code, signal) => {
      clearInterval(this.watchdog);
      this.exit = this.hung ?? `the worker exited (${signal ?? `code ${code}`})`;
      this.deliver({ type: 'error', stage: 'run', message: this.exit });
    });
    // The worker reports every step; silence while we wait for it means a hung step.
    this.watchdog = setInterval(() => {
      if (this.waiting === null || Date.now() - this.lastHeard < stepTimeoutSec * 1000) return;
      this.hung = `no step finished within ${stepTimeoutSec} s, so the worker was killed (a hung step?)`;
      log(`${tag}: ${this.hung}`);
      child.kill('SIGKILL');
    }, 1000);
    this.watchdog.unref();
  }

  static start(start: WorkerStart, stepTimeoutSec: number): Worker {
    // execArgv is inherited: the worker runs under tsx as this process does.
    const child = fork(path.join(__dirname, 'worker.ts'), [JSON.stringify(start)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Worker(child, `[${start.backend}] ${start.model} batch ${start.batch}`, stepTimeoutSec);
  }

  next(): Promise<WorkerReply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  request(request: WorkerRequest): Promise<WorkerReply> {
    this.lastHeard = Date.now();
    if (this.exit === null && this.child.connected) this.child.send(request);
    return this.next();
  }

  async quit(): Promise<void> {
    if (this.exit !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) this.child.send({ cmd: 'quit' } satisfies WorkerRequest);
    await exited;
  }

  private deliver(reply: WorkerReply): void {
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve(reply);
    } else this.replies.push(reply);
  }
}

/** The wasm heap (4 GB) or the machine ran out: worth a smaller batch. */
function isOutOfMemory(message: string): boolean {
  return /Aborted\(\)|out of memory|memory access out of bounds|Cannot allocate|allocation failed|exited \(SIGKILL\)/i.test(message);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

interface TorchState {
  /** The python that has torch, once found; null: none (see `detail`). */
  python: string | null;
  version: string | null;
  pythonVersion: string | null;
  detail: string;
}

/** A fresh peer per model (its peak RSS is then that model's); null when there is no torch. */
async function startPeer(torch: TorchState, opts: BenchOptions): Promise<TorchPeer | null> {
  const triedAndFailed = torch.python === null && torch.detail !== '';
  if (!opts.torch || triedAndFailed) return null;
  const started = await TorchPeer.start(torch.python ? [torch.python] : pythonCandidates());
  if ('skipped' in started) {
    torch.detail = started.skipped;
    log(`PyTorch peer skipped: ${started.skipped}`);
    return null;
  }
  torch.python = started.peer.python;
  torch.version = started.hello.torch;
  torch.pythonVersion = started.hello.python;
  torch.detail = `torch ${started.hello.torch} on the CPU via ${started.peer.python}`;
  return started.peer;
}

/** Every round of one model on one backend, ours and PyTorch taking turns. */
async function benchModel(
  backend: BenchBackend,
  model: BenchModel,
  opts: BenchOptions,
  torch: TorchState,
  notes: string[],
): Promise<ModelRun | { unavailable: string }> {
  const input = inputShapeFor(model);
  const run: ModelRun = {
    backend,
    model,
    status: 'failed',
    batch: opts.batch ?? DEFAULT_BATCH,
    tooBig: [],
    input,
    threads: 0,
    backendReason: '',
    parameters: 0,
    shadowLayers: 0,
    lr: benchConfig(model, 1).optimizer.lr!,
    ours: { plain: [], shift: [], crop: [], mixed: [] },
    torch: null,
    nonFiniteSteps: 0,
    maxRssBytes: 0,
  };
  const spec = (round: number): BlockSpec => ({
    warmup: round === 0 ? opts.warmup : 0,
    steps: opts.steps,
    minSteps: opts.minSteps,
    maxSteps: opts.maxSteps,
    blockSeconds: opts.blockSeconds,
  });

  // Find a batch that fits: build, warm up and time the first round; halve after an abort.
  let worker: Worker;
  for (;;) {
    const tag = `[${backend}] ${model} batch ${run.batch}`;
    log(`${tag}: building`);
    worker = Worker.start({ backend, model, batch: run.batch, hardwareOnly: !opts.backendsGiven }, opts.stepTimeout);
    const ready = await worker.next();
    if (ready.type === 'error' && ready.stage === 'backend') return { unavailable: ready.message };
    if (ready.type !== 'ready') {
      run.error = ready.type === 'error' ? ready.message : `unexpected ${ready.type}`;
      await worker.quit();
      return run;
    }
    run.threads = ready.threads;
    run.backendReason = ready.reason;
    run.parameters = ready.parameters;
    run.shadowLayers = ready.shadowLayers;
    run.lr = ready.lr;
    run.forwardMacs = ready.forwardMacs;
    log(`${tag}: ${ready.parameters} parameters, ${ready.shadowLayers} WAS convs, ${plural(ready.threads, 'thread')}, built in ${ready.buildMs} ms; round 1 (warm-up ${opts.warmup})`);
    const first = await worker.request({ cmd: 'block', spec: spec(0) });
    if (first.type === 'block') {
      addBlock(run, first, tag, 1);
      break;
    }
    const message = first.type === 'error' ? first.message : `unexpected ${first.type}`;
    await worker.quit();
    if (!isOutOfMemory(message) || run.batch / 2 < MIN_BATCH) {
      run.error = message;
      return run;
    }
    log(`${tag}: did not fit (${message}); trying batch ${run.batch / 2}`);
    run.tooBig.push({ batch: run.batch, error: message });
    run.batch = Math.floor(run.batch / 2);
  }
  run.status = 'measured';

  const peer = await startPeer(torch, opts);
  const config = benchConfig(model, run.batch);
  const torchRound = async (round: number): Promise<void> => {
    if (!peer || run.torchError) return;
    try {
      const result = await peer.run({
        cmd: 'run',
        model,
        batch: run.batch,
        shape: [input.height, input.width, input.channels],
        classes: CLASSES,
        threads: run.threads,
        lr: run.lr,
        momentum: config.optimizer.momentum,
        weightDecay: config.optimizer.weightDecay,
        ...spec(round),
        // Its steps are cheap next to our block of four variants: a few more make its median firmer.
        minSteps: Math.max(opts.minSteps, TORCH_MIN_STEPS),
      });
      run.torch ??= { parameters: result.parameters, threads: result.threads, samples: [], maxRssBytes: 0 };
      run.torch.samples.push(...result.timesMs);
      run.torch.maxRssBytes = result.maxRssKb * 1024;
      log(`[${backend}] ${model} batch ${run.batch}: round ${round + 1} PyTorch ${formatMs(median(result.timesMs))} (${plural(result.timesMs.length, 'step')}, ${plural(result.threads, 'thread')})`);
    } catch (error) {
      run.torchError = errorMessage(error);
      log(`[${backend}] ${model}: PyTorch failed: ${run.torchError}`);
    }
  };

  try {
    await torchRound(0);
    for (let round = 1; round < opts.rounds; round++) {
      const reply = await worker.request({ cmd: 'block', spec: spec(round) });
      if (reply.type !== 'block') {
        run.error = `round ${round + 1}: ${reply.type === 'error' ? reply.message : reply.type}`;
        notes.push(`${model} on ${backend} stopped in round ${round + 1}: ${run.error}`);
        break;
      }
      addBlock(run, reply, `[${backend}] ${model} batch ${run.batch}`, round + 1);
      await torchRound(round);
    }
  } finally {
    await worker.quit();
    await peer?.close();
  }
  if (run.torch && run.torch.parameters !== run.parameters)
    notes.push(`${model}: the PyTorch mirror has ${run.torch.parameters} parameters, ours ${run.parameters}: the architectures differ`);
  if (run.nonFiniteSteps > 0) notes.push(`${model} on ${backend}: ${run.nonFiniteSteps} steps had a non-finite loss (their update was skipped)`);
  return run;
}

function addBlock(run: ModelRun, reply: Extract<WorkerReply, { type: 'block' }>, tag: string, round: number): void {
  for (const v of VARIANTS) run.ours[v].push(...reply.samples[v]);
  run.nonFiniteSteps = reply.nonFiniteSteps;
  run.maxRssBytes = reply.maxRssBytes;
  const times = VARIANTS.map((v) => `${v} ${formatMs(median(reply.samples[v]))}`).join(', ');
  log(`${tag}: round ${round} ours ${times} (${plural(reply.samples.plain.length, 'step')} each)`);
}

async function memoryRun(backend: BenchBackend, opts: BenchOptions): Promise<MemoryRun | string> {
  const batch = opts.batch ?? DEFAULT_BATCH;
  const variant = 'mixed';
  log(`[${backend}] memory: ${opts.memoryModel} batch ${batch}, WAS ${variant}, ${opts.memorySteps} steps`);
  const worker = Worker.start({ backend, model: opts.memoryModel, batch }, opts.stepTimeout);
  try {
    const ready = await worker.next();
    if (ready.type !== 'ready') return ready.type === 'error' ? ready.message : ready.type;
    const reply = await worker.request({ cmd: 'memory', variant, steps: opts.memorySteps });
    if (reply.type !== 'memory') return reply.type === 'error' ? reply.message : reply.type;
    const { trace } = reply;
    return { backend, model: trace.model, variant, batch, steps: trace.steps, samples: trace.samples, maxRssBytes: reply.maxRssBytes };
  } finally {
    await worker.quit();
  }
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/\..*$/, '').replace(/:/g, '-');
}

async function main(): Promise<void> {
  let opts: BenchOptions;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\n\n${USAGE}\n`);
    process.exitCode = EXIT.usage;
    return;
  }
  if (opts.help) {
    log(USAGE);
    return;
  }
  const started = new Date();
  const notes: string[] = [];
  const torch: TorchState = { python: null, version: null, pythonVersion: null, detail: opts.torch ? '' : 'skipped (--no-torch)' };
  const results: BenchResults = {
    schema: 1,
    date: started.toISOString(),
    durationSec: 0,
    command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    quick: opts.quick,
    rounds: opts.rounds,
    machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, memoryBytes: os.totalmem(), platform: `${os.platform()} ${os.arch()}`, loadAverage: [os.loadavg()[0], 0] },
    versions: { wasLab: packageVersion(), node: process.version, tfjs: tfjsVersion(), torch: null, python: null },
    backends: [],
    torch: { measured: false, detail: '' },
    runs: [],
    pipeline: [],
    memory: null,
    notes,
  };

  if (opts.backends.includes('wasm')) {
    results.ceiling = await measureCeiling();
    const c = results.ceiling;
    log(`wasm ceiling: ${(c.plainMacsPerSec / 1e9).toFixed(1)} GMAC/s plain SIMD` +
      `${c.fmaMacsPerSec === null ? '' : `, ${(c.fmaMacsPerSec / 1e9).toFixed(1)} GMAC/s FMA`} (${plural(c.threads, 'thread')})`);
  }
  for (const backend of opts.backends) {
    const models = backend === 'cpu' ? opts.models.filter((m) => CPU_BACKEND_MODELS.includes(m)) : opts.models;
    const dropped = opts.models.filter((m) => !models.includes(m));
    if (dropped.length > 0) notes.push(`cpu backend: ${dropped.join(', ')} not run (minutes per step in plain JavaScript)`);
    let unavailable: string | null = null;
    for (const model of models) {
      const run = await benchModel(backend, model, opts, torch, notes);
      if ('unavailable' in run) {
        unavailable = run.unavailable;
        break;
      }
      results.runs.push(run);
    }
    const first = results.runs.find((r) => r.backend === backend);
    if (unavailable !== null) {
      // A default backend that does not load is expected (tfjs-node rarely installs); say why.
      const firstLine = unavailable.split('\n')[0].split(ROOT).join('.');
      log(`[${backend}] not available: ${firstLine}`);
      if (opts.backendsGiven) notes.push(`${backend} was asked for and did not load: ${unavailable.replace(/\n/g, ' ')}`);
      results.backends.push({ name: backend, measured: false, detail: firstLine, threads: null });
    } else {
      results.backends.push({ name: backend, measured: true, detail: first?.backendReason ?? 'no model ran', threads: first?.threads ?? null });
    }
  }
  results.versions.torch = torch.version;
  results.versions.python = torch.pythonVersion;
  results.torch = { measured: results.runs.some((r) => r.torch !== null), detail: torch.detail || 'not run' };

  const memoryBackend = results.backends.find((b) => b.measured)?.name;
  if (opts.memorySteps > 0 && memoryBackend) {
    const mem = await memoryRun(memoryBackend, opts);
    if (typeof mem === 'string') notes.push(`memory run failed: ${mem}`);
    else results.memory = mem;
  }

  for (const run of results.runs) {
    if (run.status !== 'measured' || results.pipeline.some((p) => p.model === run.model && p.batch === run.batch)) continue;
    const p = measurePipeline(run.input, run.batch, opts.pipelineSeconds);
    results.pipeline.push({ model: run.model, input: run.input, batch: run.batch, batchesPerSec: p.batchesPerSec });
    log(`pipeline ${run.model} batch ${run.batch}: ${p.batchesPerSec.toFixed(0)} batches/s`);
  }
  notes.push(
    'The pipeline is measured with augmentation on for every input shape; the trainer turns it off for MNIST-like data by default, so the lenet row is a worst case.',
  );
  if (results.backends.every((b) => !b.measured)) notes.push('No backend could be measured.');

  results.durationSec = (Date.now() - started.getTime()) / 1000;
  results.machine.loadAverage[1] = os.loadavg()[0];
  const markdown = renderMarkdown(results);
  const outDir = path.resolve(opts.outDir);
  fs.mkdirSync(outDir, { recursive: true });
  const jsonFile = path.join(outDir, `${timestamp(started)}.json`);
  fs.writeFileSync(jsonFile, JSON.stringify({ ...results, goals: evaluateGoals(results) }, null, 1) + '\n');
  fs.writeFileSync(path.join(outDir, 'latest.md'), markdown);
  log(`\n${markdown}`);
  log(`wrote ${path.relative(process.cwd(), jsonFile)} and ${path.relative(process.cwd(), path.join(outDir, 'latest.md'))}`);
  const full = !opts.quick && BENCH_MODELS.every((m) => opts.models.includes(m));
  if (full) {
    fs.writeFileSync(path.join(ROOT, 'docs', 'benchmarks.md'), markdown);
    log('wrote docs/benchmarks.md');
  } else {
    log('docs/benchmarks.md left alone (only a full run, all models and not --quick, rewrites it)');
  }
  if (results.backends.every((b) => !b.measured)) process.exitCode = EXIT.failed;
}

/** tfjs's version from its package.json, without loading tfjs into this process. */
function tfjsVersion(): string | null {
  try {
    const file = require.resolve('@tensorflow/tfjs-core/package.json', { paths: [ROOT] });
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(EXIT.failed);
});
