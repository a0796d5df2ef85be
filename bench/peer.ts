// The PyTorch side: bench/pytorch_peer.py in a child process, one JSON line per request and per
// answer. parsePeerLine checks every answer, so a peer that prints something else fails loudly.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { errorMessage } from '../src/shared/errors';

export type PeerMessage =
  | { type: 'hello'; ok: true; torch: string; python: string }
  | { type: 'hello'; ok: false; error: string; python: string | null }
  | { type: 'result'; model: string; batch: number; threads: number; parameters: number; timesMs: number[]; maxRssKb: number }
  | { type: 'error'; message: string };

export interface PeerRunRequest {
  cmd: 'run';
  model: string;
  batch: number;
  /** [height, width, channels], as our models see it (the peer feeds NCHW). */
  shape: [number, number, number];
  classes: number;
  threads: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  warmup: number;
  steps: number | null;
  minSteps: number;
  maxSteps: number;
  blockSeconds: number;
}

export class PeerProtocolError extends Error {}

/** One line from the peer, checked field by field. */
export function parsePeerLine(line: string): PeerMessage {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new PeerProtocolError(`not JSON: ${clip(line)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PeerProtocolError(`not an object: ${clip(line)}`);
  const o = value as Record<string, unknown>;
  const str = (key: string): string => {
    if (typeof o[key] !== 'string') throw new PeerProtocolError(`'${key}' must be a string in ${clip(line)}`);
    return o[key];
  };
  const num = (key: string): number => {
    if (typeof o[key] !== 'number' || !Number.isFinite(o[key])) throw new PeerProtocolError(`'${key}' must be a finite number in ${clip(line)}`);
    return o[key];
  };
  switch (o.type) {
    case 'hello':
      if (o.ok === true) return { type: 'hello', ok: true, torch: str('torch'), python: str('python') };
      if (o.ok === false) return { type: 'hello', ok: false, error: str('error'), python: typeof o.python === 'string' ? o.python : null };
      throw new PeerProtocolError(`'ok' must be true or false in ${clip(line)}`);
    case 'result': {
      const times = o.timesMs;
      if (!Array.isArray(times) || times.length === 0 || !times.every((t) => typeof t === 'number' && Number.isFinite(t) && t >= 0))
        throw new PeerProtocolError(`'timesMs' must be a non-empty list of times in ${clip(line)}`);
      return {
        type: 'result',
        model: str('model'),
        batch: num('batch'),
        threads: num('threads'),
        parameters: num('parameters'),
        timesMs: times as number[],
        maxRssKb: num('maxRssKb'),
      };
    }
    case 'error':
      return { type: 'error', message: str('message') };
    default:
      throw new PeerProtocolError(`unknown message type ${JSON.stringify(o.type)} in ${clip(line)}`);
  }
}

function clip(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export const PEER_SCRIPT = path.join(__dirname, 'pytorch_peer.py');

/** Pythons to try, in order: $WAS_BENCH_PYTHON alone, else python3 and Debian's own (python3-torch). */
export function pythonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.WAS_BENCH_PYTHON) return [env.WAS_BENCH_PYTHON];
  return ['python3', '/usr/bin/python3'];
}

/**
 * glibc malloc settings for the peer: keep freed blocks instead of returning them to the kernel.
 * PyTorch allocates and frees its large activation buffers every step; by default glibc maps and
 * unmaps each (over 128 KB), and every step then pays fresh page faults. Measured on the 2-core
 * machine: small-cnn 22-23 ms per step with these settings against 23-112 ms from run to run
 * without them (the fault cost depends on the host). Our wasm heap keeps its pages, as these
 * settings make glibc keep PyTorch's: the peer runs at its best, as with jemalloc or tcmalloc.
 */
export const PEER_MALLOC_ENV = {
  MALLOC_MMAP_THRESHOLD_: String(2 ** 32),
  MALLOC_TRIM_THRESHOLD_: String(2 ** 32),
  MALLOC_TOP_PAD_: String(2 ** 28),
} as const;

export class TorchPeer {
  private readonly lines: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private closed = false;
  private stderr = '';

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly python: string,
  ) {
    readline.createInterface({ input: child.stdout }).on('line', (line) => this.push(line));
    child.stderr.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-2000)));
    child.on('close', () => {
      this.closed = true;
      this.push(null);
    });
  }

  /**
   * A peer with torch, trying each python in turn; or why there is none. `hello` says which
   * torch and python it found.
   */
  static async start(pythons: readonly string[]): Promise<{ peer: TorchPeer; hello: Extract<PeerMessage, { ok: true }> } | { skipped: string }> {
    const reasons: string[] = [];
    for (const python of pythons) {
      const child = spawn(python, [PEER_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...PEER_MALLOC_ENV } });
      const spawnError = new Promise<Error>((resolve) => child.on('error', resolve));
      const peer = new TorchPeer(child, python);
      let reason: string;
      try {
        const first = await Promise.race([peer.next(), spawnError]);
        if (first instanceof Error) reason = first.message;
        else if (first === null) reason = `ended before saying hello: ${clip(peer.stderr.trim())}`;
        else if (first.type === 'hello' && first.ok) return { peer, hello: first };
        else reason = first.type === 'hello' ? first.error : `said '${first.type}' before hello`;
      } catch (error) {
        reason = errorMessage(error);
      }
      reasons.push(`${python}: ${reason}`);
      peer.kill();
    }
    return { skipped: `no python with torch (${reasons.join('; ')})` };
  }

  async run(request: PeerRunRequest): Promise<Extract<PeerMessage, { type: 'result' }>> {
    if (this.closed) throw new Error(`the PyTorch peer has ended: ${this.stderr.trim() || 'no message'}`);
    this.child.stdin.write(JSON.stringify(request) + '\n');
    const reply = await this.next();
    if (reply === null) throw new Error(`the PyTorch peer ended: ${clip(this.stderr.trim() || 'no message', 1000)}`);
    if (reply.type === 'error') throw new Error(`PyTorch peer: ${reply.message}`);
    if (reply.type !== 'result') throw new PeerProtocolError(`expected a result, got ${reply.type}`);
    return reply;
  }

  /** Asks the peer to quit and waits for it. */
  async close(): Promise<void> {
    if (this.closed) return;
    const ended = new Promise<void>((resolve) => this.child.on('close', () => resolve()));
    this.child.stdin.end(JSON.stringify({ cmd: 'quit' }) + '\n');
    await ended;
  }

  kill(): void {
    if (!this.closed) this.child.kill();
  }

  private push(line: string | null): void {
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve(line);
    } else if (line !== null) {
      this.lines.push(line);
    }
  }

  /** The next message, or null when the peer has ended. */
  private async next(): Promise<PeerMessage | null> {
    const line = this.lines.length > 0 ? this.lines.shift()! : this.closed ? null : await new Promise<string | null>((resolve) => (this.waiting = resolve));
    return line === null ? null : parsePeerLine(line);
  }
}
