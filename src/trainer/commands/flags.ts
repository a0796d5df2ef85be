// Flags of the commands that work on a run folder (`dom`, `export`): one positional run folder
// and a few named flags, each either a switch or a value. Bad input is a UsageError (exit 2).

import { UsageError } from '../args';

/** Where a command prints (tests pass their own). */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CommandIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

export type FlagKinds = Record<string, 'switch' | 'value'>;

export interface CommandArgs {
  runDir: string | null;
  values: Map<string, string>;
  switches: Set<string>;
  help: boolean;
}

export function parseCommandArgs(argv: readonly string[], kinds: FlagKinds): CommandArgs {
  const out: CommandArgs = { runDir: null, values: new Map(), switches: new Set(), help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      out.help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      if (out.runDir !== null) throw new UsageError(`one run folder, got "${out.runDir}" and "${arg}"`);
      out.runDir = arg;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const kind = kinds[name];
    if (!kind) throw new UsageError(`unknown flag --${name} (known: ${Object.keys(kinds).map((k) => `--${k}`).join(', ')})`);
    if (kind === 'switch') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      out.switches.add(name);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
    out.values.set(name, value);
  }
  return out;
}

export function choice<T extends string>(flag: string, value: string | undefined, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`--${flag} must be one of ${choices.join(', ')}, got "${value}"`);
  return value as T;
}

/** A FLOPs target: a fraction in (0, 1], or a percentage such as 70%. */
export function flopsTarget(value: string): number {
  const percent = value.endsWith('%');
  const n = Number(percent ? value.slice(0, -1) : value) / (percent ? 100 : 1);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 1)
    throw new UsageError(`--flops-target must be a fraction in (0, 1] such as 0.7 (or 70%), got "${value}"`);
  return n;
}
