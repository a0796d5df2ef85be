// Flags of the commands that work on a run folder (`dom`, `export`): one positional run folder
// and a few named flags, each either a switch or a value, read with node:util parseArgs. Bad
// input is a UsageError (EXIT.usage).

import { flopsTargetProblem } from '../../shared/config';
import { UsageError, argTokens, flagValue } from '../command-line';

/** Where a command prints (tests pass their own). */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CommandIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** 'list': a value flag that may be repeated, each value kept in order. */
export type FlagKinds = Record<string, 'switch' | 'value' | 'list'>;

export interface CommandArgs {
  runDir: string | null;
  values: Map<string, string>;
  lists: Map<string, string[]>;
  switches: Set<string>;
  help: boolean;
}

export function parseCommandArgs(argv: readonly string[], kinds: FlagKinds): CommandArgs {
  const out: CommandArgs = { runDir: null, values: new Map(), lists: new Map(), switches: new Set(), help: false };
  const valueFlags = Object.keys(kinds).filter((name) => kinds[name] !== 'switch');
  for (const token of argTokens(argv, valueFlags)) {
    if (token.kind === 'positional') {
      if (out.runDir !== null) throw new UsageError(`one run folder, got "${out.runDir}" and "${token.value}"`);
      out.runDir = token.value;
    } else if (token.name === 'help') {
      out.help = true;
    } else if (!Object.hasOwn(kinds, token.name)) {
      throw new UsageError(`unknown flag --${token.name} (known: ${Object.keys(kinds).map((k) => `--${k}`).join(', ')})`);
    } else if (kinds[token.name] === 'switch') {
      if (token.value !== undefined) throw new UsageError(`--${token.name} takes no value`);
      out.switches.add(token.name);
    } else if (kinds[token.name] === 'list') {
      out.lists.set(token.name, [...(out.lists.get(token.name) ?? []), flagValue(token)]);
    } else {
      out.values.set(token.name, flagValue(token));
    }
  }
  return out;
}

export function choice<T extends string>(flag: string, value: string | undefined, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`--${flag} must be one of ${choices.join(', ')}, got "${value}"`);
  return value as T;
}

/** A FLOPs target: a fraction in (0, 1], or a percentage such as 70%; checked by the config's own rule (FLOPS_TARGET). */
export function flopsTarget(value: string): number {
  const percent = value.endsWith('%');
  const n = Number(percent ? value.slice(0, -1) : value) / (percent ? 100 : 1);
  const problem = value.trim() === '' ? 'expected a number' : flopsTargetProblem(n);
  if (problem !== null) throw new UsageError(`--flops-target must be a fraction in (0, 1] such as 0.7 (or 70%), got "${value}" (${problem})`);
  return n;
}
