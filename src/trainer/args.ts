// Command-line flags of was-train, read with node:util parseArgs (command-line.ts). Each config
// flag is declared beside its option in src/shared/config.ts and read by that option's kind, so
// flags and config files are checked by the same rules.

import * as fs from 'node:fs';
import { CONFIG_OPTIONS, FIELDS, experimentOptions, resolveConfig, type TrainConfig } from '../shared/config';
import { EXIT } from '../shared/exit-codes';
import { ValidationError, isObject } from '../shared/validate';
import { UsageError, argTokens, didYouMean, flagValue, type ArgToken } from './command-line';
import { errorMessage } from '../shared/errors';

export { UsageError };

interface ConfigFlag {
  flag: string;
  path: string;
  help: string;
}

/** The options that have a flag, in declaration order (the order --help lists them). */
export const CONFIG_FLAGS: readonly ConfigFlag[] = CONFIG_OPTIONS.flatMap((o) => (o.flag === null ? [] : [{ flag: o.flag, path: o.path, help: o.help }]));

export type OutputStyle = 'auto' | 'json' | 'plain';

export interface CliOptions {
  config: TrainConfig;
  output: OutputStyle;
  /** --backend-path folders: where this process may load TensorFlow backends from; never part of the config. */
  backendPaths: string[];
}

/** The one flag that says where backend code may be loaded from (train, resume, dom, export). */
export const BACKEND_PATH_FLAG = 'backend-path';
export const BACKEND_PATH_HELP = 'folder holding node_modules/@tensorflow/tfjs-node(-gpu) (repeatable; also WAS_LAB_BACKEND_PATH)';

export type ParsedArgs =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'train'; options: CliOptions }
  /** Continue the run in `runDir` from its last checkpoint, with its own config. */
  | { kind: 'resume'; runDir: string; output: OutputStyle; backendPaths: string[] };

/** What the train flags say before the config is resolved. */
interface TrainFlags {
  configFile: string | null;
  resumeDir: string | null;
  output: OutputStyle;
  backendPaths: string[];
  patch: Record<string, unknown>;
}

const FLAG_BY_NAME = new Map(CONFIG_FLAGS.map((f) => [f.flag, f]));

/** Flags that take a value: every config flag but the booleans, and --config, --resume, --backend-path. */
const VALUE_FLAGS = [...CONFIG_FLAGS.filter((f) => FIELDS[f.path].kind !== 'boolean').map((f) => f.flag), 'config', 'resume', BACKEND_PATH_FLAG];

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const flags: TrainFlags = { configFile: null, resumeDir: null, output: 'auto', backendPaths: [], patch: {} };
  for (const token of argTokens(argv, VALUE_FLAGS)) {
    if (token.kind === 'positional' || (!token.raw.startsWith('--') && token.name !== 'help')) {
      throw new UsageError(`unexpected argument "${token.kind === 'positional' ? token.value : token.raw}" (flags start with --; see --help)`);
    }
    if (token.name === 'help') return { kind: 'help' };
    if (token.name === 'version') return { kind: 'version' };
    if (token.name === 'json' || token.name === 'plain') flags.output = token.name;
    else if (token.name === 'config') flags.configFile = flagValue(token);
    else if (token.name === 'resume') flags.resumeDir = flagValue(token);
    else if (token.name === BACKEND_PATH_FLAG) flags.backendPaths.push(flagValue(token));
    else addConfigFlag(flags.patch, token);
  }
  if (flags.resumeDir !== null) {
    // A resumed run keeps its own config: a changed option would break bit-exact continuation.
    if (flags.configFile !== null || Object.keys(flags.patch).length > 0)
      throw new UsageError('--resume continues a run with the config it started with; it takes no other options than --backend-path, --json or --plain');
    return { kind: 'resume', runDir: flags.resumeDir, output: flags.output, backendPaths: flags.backendPaths };
  }
  return { kind: 'train', options: { config: trainConfig(flags), output: flags.output, backendPaths: flags.backendPaths } };
}

/** A config flag into the patch: `--x v`, `--x=v`, `--flag`/`--no-flag`. */
function addConfigFlag(patch: Record<string, unknown>, token: ArgToken & { kind: 'flag' }): void {
  const negated = token.name.startsWith('no-') ? FLAG_BY_NAME.get(token.name.slice(3)) : undefined;
  const flag = FLAG_BY_NAME.get(token.name) ?? (negated && FIELDS[negated.path].kind === 'boolean' ? negated : undefined);
  if (!flag) throw new UsageError(`unknown flag --${token.name}${didYouMean(token.name, CONFIG_FLAGS.map((f) => f.flag)) || '; see --help'}`);
  const spec = FIELDS[flag.path];
  if (spec.kind === 'boolean') {
    setPath(patch, flag.path, token.value === undefined ? flag !== negated : parseBoolean(token.name, token.value));
  } else {
    setPath(patch, flag.path, parseFlagValue(flag, flagValue(token)));
  }
}

/** The config file, checked on its own first (so that its errors name the file), then the flags. */
function trainConfig(flags: TrainFlags): TrainConfig {
  const patches: { patch: unknown; where: string }[] = [];
  const { configFile } = flags;
  if (configFile !== null) {
    patches.push({ patch: readConfigFile(configFile), where: configFile });
    rethrowAsUsage(() => resolveConfig(patches), (e) => `${configFile}: ${e.message}`);
  }
  patches.push({ patch: flags.patch, where: 'flags' });
  return rethrowAsUsage(() => resolveConfig(patches), flagMessage);
}

/** `was-train resume <run-dir> [--backend-path <folder>]... [--json | --plain]`. */
export function parseResumeArgs(argv: readonly string[]): ParsedArgs {
  let runDir: string | null = null;
  let output: OutputStyle = 'auto';
  const backendPaths: string[] = [];
  for (const token of argTokens(argv, [BACKEND_PATH_FLAG])) {
    if (token.kind === 'positional') {
      if (runDir !== null) throw new UsageError(`resume: one run folder, got "${runDir}" and "${token.value}"`);
      runDir = token.value;
    } else if (token.name === 'help') return { kind: 'help' };
    else if (token.name === 'json' || token.name === 'plain') output = token.name;
    else if (token.name === BACKEND_PATH_FLAG) backendPaths.push(flagValue(token));
    else throw new UsageError(`resume: unknown flag ${token.raw} (a resumed run keeps its own config; only --backend-path, --json and --plain are accepted)`);
  }
  if (runDir === null) throw new UsageError('resume: which run? usage: was-train resume <run-folder> [--backend-path <folder>] [--json | --plain]');
  return { kind: 'resume', runDir, output, backendPaths };
}

export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read config file ${file}: ${errorMessage(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`config file ${file} is not valid JSON: ${errorMessage(error)}`);
  }
  if (!isObject(json)) throw new UsageError(`config file ${file} must hold a JSON object`);
  // "$schema" (how editors attach the JSON schema) and the like are not options.
  return experimentOptions(json);
}

function rethrowAsUsage<T>(fn: () => T, message: (error: ValidationError) => string): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof ValidationError) throw new UsageError(message(error));
    throw error;
  }
}

function parseFlagValue(flag: ConfigFlag, raw: string): unknown {
  const spec = FIELDS[flag.path];
  if ('nullable' in spec && spec.nullable && (raw === 'none' || raw === 'null')) return null;
  switch (spec.kind) {
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag.flag}: "${raw}" is not a number`);
      return n;
    }
    case 'range': {
      const parts = raw.split(',').map((p) => Number(p));
      if (parts.length !== 2 || parts.some((p) => !Number.isFinite(p)))
        throw new UsageError(`--${flag.flag}: expected two numbers "lo,hi", got "${raw}"`);
      return parts;
    }
    case 'layers':
      return raw === 'preset' || raw === 'all' ? raw : raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
    default:
      return raw;
  }
}

function parseBoolean(name: string, raw: string): boolean {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new UsageError(`--${name}: expected true or false, got "${raw}"`);
}

/** Name the flag (not the config path) when a flag value fails its check. */
function flagMessage(error: ValidationError): string {
  const flag = CONFIG_FLAGS.find((f) => error.path === f.path || error.path.startsWith(`${f.path}[`));
  return flag ? error.message.replace(error.path, `--${flag.flag} (${error.path})`) : error.message;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[keys[keys.length - 1]] = value;
}

export function helpText(): string {
  const width = Math.max(...CONFIG_FLAGS.map((f) => f.flag.length), BACKEND_PATH_FLAG.length) + 2;
  const lines = [
    'Usage: was-train [--config file.json] [flags]',
    '       was-train resume <run-folder> [--backend-path <folder>] [--json | --plain]',
    '       was-train study <file.study.json> [--dry-run] [--force] [--processes N] [--threads N] (see study --help)',
    '',
    'Trains a network with the Weight Augmentation Strategy (WAS) and writes a run folder',
    '(config.json, metrics.jsonl, log.txt, summary.json, checkpoints/). Flags override the',
    'config file, which overrides the preset, which overrides the defaults. `resume` continues a',
    'stopped, failed or killed run from its last checkpoint, bit for bit as if never interrupted.',
    '',
    'Options:',
    ...CONFIG_FLAGS.map((f) => `  --${f.flag.padEnd(width)}${f.help}`),
    '',
    `  --${BACKEND_PATH_FLAG.padEnd(width)}${BACKEND_PATH_HELP}`,
    `  --${'config'.padEnd(width)}JSON file with options (same names as config.json's "config")`,
    `  --${'resume'.padEnd(width)}<run-folder>: continue that run from its last checkpoint (as \`was-train resume\`)`,
    `  --${'json'.padEnd(width)}print the raw events, one JSON object per line`,
    `  --${'plain'.padEnd(width)}plain lines even on a terminal (no progress bar)`,
    `  --${'version'.padEnd(width)}print the version`,
    `  --${'help'.padEnd(width)}this text`,
    '',
    'Boolean flags take no value (--download) or =true/=false; --no-<flag> turns one off.',
    `Exit status: ${EXIT.ok} completed, stopped, or nothing to resume; ${EXIT.failed} failed or cannot resume;`,
    `${EXIT.usage} bad flags or config; ${EXIT.interrupted} interrupted twice.`,
  ];
  return lines.join('\n');
}
