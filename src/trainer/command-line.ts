// The command lines of was-train and the bench, split by node:util parseArgs. Strict mode is off
// so that each command words its own errors (an unknown flag with a suggestion, a missing value)
// rather than print node's.

import { parseArgs } from 'node:util';

/** Bad command-line input: the command prints the message and exits with EXIT.usage. */
export class UsageError extends Error {}

export type ArgToken =
  /** `--name`, `--name value` or `--name=value` (`raw` as typed: `--name`, `-h`). */
  | { kind: 'flag'; name: string; raw: string; value: string | undefined; inline: boolean }
  | { kind: 'positional'; value: string };

/**
 * The arguments in order. `valueFlags` take a value (`--x v` or `--x=v`); any other `--name` is a
 * switch, with a value only when written `--name=value`. `-h` is `--help`.
 */
export function argTokens(argv: readonly string[], valueFlags: readonly string[]): ArgToken[] {
  const options = Object.fromEntries(valueFlags.map((name) => [name, { type: 'string' as const }]));
  const { tokens } = parseArgs({
    args: [...argv],
    options: { ...options, help: { type: 'boolean', short: 'h' } },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  return tokens.flatMap((token): ArgToken[] => {
    if (token.kind === 'positional') return [{ kind: 'positional', value: token.value }];
    if (token.kind === 'option-terminator') return [];
    return [{ kind: 'flag', name: token.name, raw: token.rawName, value: token.value, inline: token.inlineValue === true }];
  });
}

/** A value flag's value; `--x` last, or followed by another flag, has none. */
export function flagValue(token: ArgToken & { kind: 'flag' }): string {
  const { value } = token;
  if (value === undefined || (!token.inline && value.startsWith('--'))) throw new UsageError(`${token.raw} needs a value`);
  return value;
}

/** ` (did you mean --a or --b?)`, or '' when no known flag is near `name`. */
export function didYouMean(name: string, known: readonly string[]): string {
  const near = known
    .filter((f) => f.includes(name) || name.includes(f) || editDistance(f, name) <= 2)
    .sort((a, b) => editDistance(a, name) - editDistance(b, name));
  return near.length > 0 ? ` (did you mean ${near.slice(0, 3).map((f) => `--${f}`).join(' or ')}?)` : '';
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}
