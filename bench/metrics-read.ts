// Issue 14, finding 4, measured: what a big metrics.jsonl costs the extension host, and what a
// trainer line without a newline costs the line splitter. A plain script, not a test:
//
//   node --import tsx bench/metrics-read.ts [--mb 200] [--split-mb 50]
//
// It writes a realistic metrics.jsonl (a run-start, step events as the trainer writes them with
// --log-every 1, phase and epoch events; no summary.json, as a killed trainer leaves it) into a
// temporary runs folder, then runs each case in a fresh Node process so that each peak RSS is its
// own:
// - snapshot: a metrics page says `ready` and the host answers with its snapshot following the
//   run (PanelConnection -> LabRuns -> RunStore, the path the extension takes), the posted message
//   serialized as postMessage would; then a second `ready` (a reloaded page) on the same host.
// - split: 50 MB without a newline, in 64 KiB chunks as a pipe delivers them, then a newline.
// The snapshot runs twice: for a killed run (no summary.json: the Runs tree's listing reads
// metrics.jsonl too, for the epochs done and the best epoch) and for the same file in a finished
// run (only the page reads it). It prints wall time, CPU time, the longest stretch the event loop
// was blocked (what the extension host's UI would feel), peak RSS (process.resourceUsage().maxRSS)
// and the heap after each case.

import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Emitter } from '../src/extension/base/emitter';
import { LabRuns } from '../src/extension/lab/lab-runs';
import { LabState } from '../src/extension/lab/lab-state';
import { PanelConnection } from '../src/extension/lab/panel-connection';
import { RunStore } from '../src/extension/runs/run-store';
import { TrainerSupervisor } from '../src/extension/runs/supervisor';
import * as trainerProcess from '../src/extension/runs/trainer-process';
import { PANEL_PROTOCOL_VERSION, type HostMessage } from '../src/shared/panel-protocol';
import { parseEventLines } from '../src/shared/protocol';

const FIXTURE = path.resolve(__dirname, '../test/fixtures/webview/was-shift.metrics.jsonl');
const STEPS_PER_EPOCH = 10_000;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** A metrics.jsonl of about `mb` megabytes, written in pieces so that writing it costs little memory. */
function writeMetrics(file: string, mb: number): { bytes: number; steps: number } {
  const lines = fs.readFileSync(FIXTURE, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  const start = lines.find((e) => e.type === 'run-start')!;
  const epochTemplate = lines.find((e) => e.type === 'epoch')!;
  const target = mb * 1024 * 1024;
  const fd = fs.openSync(file, 'w');
  let bytes = 0;
  let steps = 0;
  let time = Date.UTC(2026, 11, 1);
  const write = (event: Record<string, unknown>): void => {
    const line = JSON.stringify(event) + '\n';
    bytes += Buffer.byteLength(line);
    fs.writeSync(fd, line);
  };
  const epochs = Math.ceil(target / (STEPS_PER_EPOCH * 190));
  write({ ...start, time, stepsPerEpoch: STEPS_PER_EPOCH, config: { ...(start.config as object), epochs } });
  let pending: string[] = [];
  for (let epoch = 1; bytes < target; epoch++) {
    write({ type: 'phase', time, phase: 'training', epoch });
    for (let s = 1; s <= STEPS_PER_EPOCH && bytes < target; s++) {
      steps++;
      time += 37;
      // A noisy decaying loss with a rare spike: what the min/max of a bucket must keep.
      const loss = 2.3 * Math.exp(-steps / 200_000) + 0.05 * Math.sin(steps * 0.37) + (steps % 99_991 === 0 ? 5 : 0);
      const line = JSON.stringify({ type: 'step', time, epoch, step: steps, stepInEpoch: s, stepsPerEpoch: STEPS_PER_EPOCH, loss, accuracy: Math.min(1, 0.1 + steps / 1e6), lr: 0.01 * Math.cos(steps / 1e6), samplesPerSec: 1000 + (steps % 97) }) + '\n';
      bytes += Buffer.byteLength(line);
      pending.push(line);
      if (pending.length === 4096) {
        fs.writeSync(fd, pending.join(''));
        pending = [];
      }
    }
    fs.writeSync(fd, pending.join(''));
    pending = [];
    write({ ...epochTemplate, time, epoch, best: epoch === 1 });
  }
  fs.closeSync(fd);
  // Every kind of line it wrote is one the trainer writes: parse a sample, so a wrong template fails here.
  const head = Buffer.alloc(4 << 20);
  const readFd = fs.openSync(file, 'r');
  const got = fs.readSync(readFd, head, 0, head.length, 0);
  fs.closeSync(readFd);
  const sample = head.subarray(0, got).toString('utf8').split('\n').slice(0, -1);
  const kinds = new Set(parseEventLines(sample.join('\n')).events.map((e) => e.type));
  if (!kinds.has('epoch')) throw new Error('the sample holds no epoch event');
  return { bytes, steps };
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

/** CPU seconds this process spent since `from` (process.cpuUsage): on a shared machine a steadier measure than wall time. */
function cpuSeconds(from: NodeJS.CpuUsage): string {
  const used = process.cpuUsage(from);
  return `${((used.user + used.system) / 1e6).toFixed(2)} s CPU`;
}

function report(name: string, ms: number, extra: string, cpu: NodeJS.CpuUsage): void {
  const peakRss = process.resourceUsage().maxRSS * 1024;
  console.log(`${name}: ${(ms / 1000).toFixed(2)} s wall, ${cpuSeconds(cpu)}, peak RSS ${mib(peakRss)}, heap used after ${mib(process.memoryUsage().heapUsed)}${extra}`);
}

/** Waits for whatever the connection still has in flight (a newer host reads histories asynchronously). */
async function settled(connection: PanelConnection): Promise<void> {
  const maybe = connection as unknown as { settled?: () => Promise<void> };
  if (typeof maybe.settled === 'function') await maybe.settled();
}

async function snapshotCase(runsDir: string): Promise<void> {
  const memento = new Map<string, unknown>();
  const state = new LabState({ get: (k) => memento.get(k), update: async (k, v) => void memento.set(k, v) });
  state.setActiveRun('big');
  const supervisor = new TrainerSupervisor({ maxConcurrent: () => 1, stopTimeoutMs: () => 30_000, log: () => {} });
  const runs = new LabRuns(new RunStore(), supervisor, () => runsDir);
  let postedChars = 0;
  let postedEvents = 0;
  const connection = new PanelConnection({
    layout: 'full',
    // As postMessage does: the message is serialized.
    post: (message: HostMessage) => {
      postedChars += JSON.stringify(message).length;
      if (message.type === 'snapshot') postedEvents += message.runs.reduce((n, r) => n + r.events.length, 0);
    },
    runs,
    state,
    supervisor,
    actions: { stop: () => {}, switchMode: () => {}, exportWeights: () => {}, saveFile: () => {} },
    settings: () => ({ smoothing: 0, lossLogScale: false }),
    onDidChangeSettings: new Emitter<void>().event,
    log: (line) => console.log(`  log: ${line}`),
  });
  for (const which of ['first snapshot', 'second snapshot (page reloaded)']) {
    postedChars = 0;
    postedEvents = 0;
    // The longest gap between the ticks of a 5 ms timer: how long the event loop was blocked.
    let last = performance.now();
    let longestMs = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longestMs = Math.max(longestMs, now - last);
      last = now;
    }, 5);
    await new Promise((r) => setTimeout(r, 20));
    longestMs = 0;
    last = performance.now();
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    connection.receive({ type: 'ready', protocolVersion: PANEL_PROTOCOL_VERSION });
    await settled(connection);
    const ms = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 20));
    clearInterval(ticker);
    const longest = `, longest event-loop block ${(longestMs / 1000).toFixed(2)} s`;
    report(`  ${which}`, ms, `${longest}, posted ${postedEvents} events in ${mib(postedChars * 2)} of message (UTF-16)`, cpu);
  }
  connection.dispose();
  supervisor.dispose();
}

async function splitCase(mb: number): Promise<void> {
  await splitOnce(mb, undefined);
  // With the cap lifted the line is kept and handed on: the pieces joined once, still linear.
  if (!('lineSplitter' in trainerProcess)) await splitOnce(mb, Number.POSITIVE_INFINITY);
}

async function splitOnce(mb: number, maxLength: number | undefined): Promise<void> {
  const chunk = 'x'.repeat(64 * 1024);
  const chunks = Math.ceil((mb * 1024 * 1024) / chunk.length);
  const seen: number[] = [];
  const dropped: string[] = [];
  const splitter = makeSplitter((line) => seen.push(line.length), (problem) => dropped.push(problem), maxLength);
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < chunks; i++) splitter.push(chunk);
  splitter.push('\nafter\n');
  splitter.flush();
  report(`split ${mb} MB without a newline, 64 KiB chunks${maxLength === undefined ? '' : ', cap lifted'}`, performance.now() - t0, `; lines handed on: ${seen.length} (lengths ${seen.slice(0, 3).join(', ')})${dropped.length > 0 ? `; dropped: ${dropped.join('; ')}` : ''}`, cpu);
}

/** The extension's line splitter, whichever shape this checkout has (the base commit's lineSplitter, or LineSplitter). */
function makeSplitter(onLine: (line: string) => void, onDrop: (problem: string) => void, maxLength: number | undefined): { push(chunk: string): void; flush(): void } {
  const module = trainerProcess as unknown as Record<string, unknown>;
  if (typeof module.lineSplitter === 'function') return (module.lineSplitter as (onLine: (l: string) => void) => { push(c: string): void; flush(): void })(onLine);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { LineSplitter } = require('../src/extension/runs/line-splitter') as typeof import('../src/extension/runs/line-splitter');
  return new LineSplitter({ onLine, onOversized: (size) => onDrop(`a line of ${mib(size)}`), maxLength });
}

async function main(): Promise<void> {
  const which = process.argv[2];
  if (which === 'snapshot') return snapshotCase(process.argv[3]);
  if (which === 'split') return splitCase(flag('split-mb', 50));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'was-metrics-bench-'));
  try {
    const runDir = path.join(root, 'killed', 'big');
    fs.mkdirSync(runDir, { recursive: true });
    const { bytes, steps } = writeMetrics(path.join(runDir, 'metrics.jsonl'), flag('mb', 200));
    console.log(`metrics.jsonl: ${mib(bytes)}, ${steps} step events (Node ${process.version})`);
    // The same file (a hard link) as a finished run: config.json and a summary.json with its test numbers, so the
    // Runs tree's listing needs nothing from metrics.jsonl and only the page reads it.
    const finished = path.join(root, 'finished', 'big');
    fs.mkdirSync(finished, { recursive: true });
    fs.linkSync(path.join(runDir, 'metrics.jsonl'), path.join(finished, 'metrics.jsonl'));
    const end = fs.readFileSync(FIXTURE, 'utf8').split('\n').find((l) => l.includes('"type":"run-end"'))!;
    const start = JSON.parse(fs.readFileSync(FIXTURE, 'utf8').split('\n').find((l) => l.includes('"type":"run-start"'))!) as { config: unknown };
    fs.writeFileSync(path.join(finished, 'config.json'), JSON.stringify({ createdAt: new Date().toISOString(), config: start.config }));
    fs.writeFileSync(path.join(finished, 'summary.json'), end);
    const cases = [
      ['snapshot', path.join(root, 'killed'), 'killed run (no summary.json)'],
      ['snapshot', path.join(root, 'finished'), 'finished run (summary.json)'],
      ['split', '--split-mb', String(flag('split-mb', 50))],
    ];
    for (const args of cases) {
      if (args[0] === 'snapshot') console.log(`${args[2]}:`);
      await new Promise<void>((resolve, reject) => {
        fork(__filename, args, { execArgv: ['--import', 'tsx'] }).on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args[0]} exited with ${code}`))));
      });
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
