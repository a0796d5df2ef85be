// Command-line flags of was-train. Each config flag names a config path; its value is parsed by
// that path's FieldSpec, so flags and config files are checked by the same rules.

import * as fs from 'node:fs';
import { FIELDS, resolveConfig, type TrainConfig } from '../shared/config';
import { ValidationError, isObject } from '../shared/validate';

interface ConfigFlag {
  flag: string;
  path: string;
  help: string;
}

export const CONFIG_FLAGS: readonly ConfigFlag[] = [
  { flag: 'preset', path: 'preset', help: 'sound (default: held-out selection, inference-mode BN, weight decay, cosine) | reference (the published setting)' },
  { flag: 'model', path: 'model', help: 'lenet | small-cnn | vgg16 | resnet18 | resnet34 | mobilenetv2 | efficientnet-lite0 | googlenet' },
  { flag: 'dataset', path: 'data.name', help: 'mnist (bundled) | fashion-mnist | cifar10 | cifar100 | synthetic' },
  { flag: 'data-dir', path: 'data.dir', help: 'folder (or CIFAR .tar.gz) with the official files' },
  { flag: 'download', path: 'data.download', help: 'CIFAR: download the official archive when missing' },
  { flag: 'labels', path: 'data.cifar100Labels', help: 'CIFAR-100 labels: fine | coarse' },
  { flag: 'validation-size', path: 'data.validationSize', help: 'training images held out for model selection' },
  { flag: 'augment', path: 'data.augment', help: 'auto | on | off (pad-4 random crop + horizontal flip)' },
  { flag: 'normalize', path: 'data.normalize', help: 'dataset | half (mean 0.5, std 0.5)' },
  { flag: 'train-limit', path: 'data.trainLimit', help: 'use only the first N training images (none: all)' },
  { flag: 'test-limit', path: 'data.testLimit', help: 'use only the first N test images (none: all)' },
  { flag: 'transform', path: 'was.transform', help: 'WAS shadow-weight transform: shift | crop | mixed | none (plain training)' },
  { flag: 'layers', path: 'was.layers', help: 'transformed convs: preset | all | comma-separated layer names' },
  { flag: 'translate', path: 'was.translate', help: 'shift: translate fraction (reference 0.3)' },
  { flag: 'crop-scale', path: 'was.cropScale', help: 'crop: area scale lo,hi (reference 0.8,1; GoogLeNet 0.6,0.8)' },
  { flag: 'crop-ratio', path: 'was.cropRatio', help: 'crop: aspect ratio lo,hi (reference 0.75,1.333)' },
  { flag: 'optimizer', path: 'optimizer.name', help: 'sgd | adam' },
  { flag: 'lr', path: 'optimizer.lr', help: 'base learning rate (none: the model\'s recommended rate; Adam 0.001)' },
  { flag: 'momentum', path: 'optimizer.momentum', help: 'SGD momentum' },
  { flag: 'weight-decay', path: 'optimizer.weightDecay', help: 'L2 weight decay on conv and dense kernels' },
  { flag: 'schedule', path: 'schedule.name', help: 'constant | step | cosine' },
  { flag: 'step-epochs', path: 'schedule.stepEpochs', help: 'step schedule: epochs between LR drops' },
  { flag: 'gamma', path: 'schedule.gamma', help: 'step schedule: LR factor per drop' },
  { flag: 'bn-eval', path: 'bn.eval', help: 'recalibrate (per-mode statistics) | running | batch (the reference)' },
  { flag: 'epochs', path: 'epochs', help: 'number of epochs' },
  { flag: 'batch-size', path: 'batchSize', help: 'training batch size' },
  { flag: 'eval-batch-size', path: 'evalBatchSize', help: 'evaluation batch size' },
  { flag: 'seed', path: 'seed', help: 'random seed (none: drawn and recorded)' },
  { flag: 'select-on', path: 'selectOn', help: 'validation | test (the reference selects on the test set)' },
  { flag: 'max-steps-per-epoch', path: 'maxStepsPerEpoch', help: 'cap the steps of each epoch (quick runs)' },
  { flag: 'backend', path: 'backend', help: 'auto | tensorflow-gpu | tensorflow-cpu | wasm | cpu' },
  { flag: 'backend-path', path: 'backendPaths', help: 'folder holding node_modules/@tensorflow/tfjs-node(-gpu) (repeatable)' },
  { flag: 'log-every', path: 'logEverySteps', help: 'a step event every N steps' },
  { flag: 'runs-dir', path: 'runsDir', help: 'where run folders are created' },
  { flag: 'run-name', path: 'runName', help: 'run folder name (default: <time>-<model>-<dataset>)' },
  { flag: 'baseline', path: 'baseline', help: 'then train the plain model (same seed, data order, init) into <run>/baseline; report the gain' },
  { flag: 'flops-target', path: 'dom.flopsTarget', help: 'after training, search a fixed DOM with at most this fraction of the AOM FLOPs (e.g. 0.7)' },
  { flag: 'dom-search', path: 'dom.search', help: 'DOM search: lazy-greedy | greedy' },
];

export type OutputStyle = 'auto' | 'json' | 'plain';

export interface CliOptions {
  config: TrainConfig;
  output: OutputStyle;
}

export type ParsedArgs =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'train'; options: CliOptions }
  /** Continue the run in `runDir` from its last checkpoint, with its own config. */
  | { kind: 'resume'; runDir: string; output: OutputStyle };

/** Bad command-line input: the CLI prints the message and exits with status 2. */
export class UsageError extends Error {}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  let configFile: string | null = null;
  let resumeDir: string | null = null;
  let output: OutputStyle = 'auto';
  const flagPatch: Record<string, unknown> = {};
  const byName = new Map(CONFIG_FLAGS.map((f) => [f.flag, f]));

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg === '--version') return { kind: 'version' };
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}" (flags start with --; see --help)`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const inline = eq < 0 ? null : arg.slice(eq + 1);
    const takeValue = (): string => {
      if (inline !== null) return inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      i++;
      return next;
    };
    if (name === 'json') output = 'json';
    else if (name === 'plain') output = 'plain';
    else if (name === 'config') configFile = takeValue();
    else if (name === 'resume') resumeDir = takeValue();
    else {
      const flag = byName.get(name) ?? (name.startsWith('no-') ? byName.get(name.slice(3)) : undefined);
      if (!flag) throw new UsageError(`unknown flag --${name}${suggestFlag(name)}`);
      const spec = FIELDS[flag.path];
      let value: unknown;
      if (spec.kind === 'boolean') {
        value = inline === null ? !name.startsWith('no-') : parseBoolean(name, inline);
      } else {
        value = parseFlagValue(flag, takeValue());
      }
      setPath(flagPatch, flag.path, spec.kind === 'strings' ? [...((getPath(flagPatch, flag.path) as string[]) ?? []), ...(value as string[])] : value);
    }
  }

  if (resumeDir !== null) {
    // A resumed run keeps its own config: a changed option would break bit-exact continuation.
    if (configFile !== null || Object.keys(flagPatch).length > 0)
      throw new UsageError('--resume continues a run with the config it started with; it takes no other options than --json or --plain');
    return { kind: 'resume', runDir: resumeDir, output };
  }
  const patches: { patch: unknown; where: string }[] = [];
  if (configFile !== null) {
    patches.push({ patch: readConfigFile(configFile), where: configFile });
    // Check the file on its own first, so that its errors name the file rather than a flag.
    rethrowAsUsage(() => resolveConfig(patches), (e) => `${configFile}: ${e.message}`);
  }
  patches.push({ patch: flagPatch, where: 'flags' });
  const config = rethrowAsUsage(() => resolveConfig(patches), flagMessage);
  return { kind: 'train', options: { config, output } };
}

/** `was-train resume <run-dir> [--json | --plain]`. */
export function parseResumeArgs(argv: readonly string[]): ParsedArgs {
  let runDir: string | null = null;
  let output: OutputStyle = 'auto';
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg === '--json') output = 'json';
    else if (arg === '--plain') output = 'plain';
    else if (arg.startsWith('--')) throw new UsageError(`resume: unknown flag ${arg} (a resumed run keeps its own config; only --json and --plain are accepted)`);
    else if (runDir !== null) throw new UsageError(`resume: one run folder, got "${runDir}" and "${arg}"`);
    else runDir = arg;
  }
  if (runDir === null) throw new UsageError('resume: which run? usage: was-train resume <run-folder> [--json | --plain]');
  return { kind: 'resume', runDir, output };
}

export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read config file ${file}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`config file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(json)) throw new UsageError(`config file ${file} must hold a JSON object`);
  // A "$schema" key is how editors attach the JSON schema; it is not an option.
  const { $schema: _schema, ...rest } = json;
  return rest;
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
    case 'strings':
      return [raw];
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

function suggestFlag(name: string): string {
  const near = CONFIG_FLAGS.map((f) => f.flag)
    .filter((f) => f.includes(name) || name.includes(f) || editDistance(f, name) <= 2)
    .sort((a, b) => editDistance(a, name) - editDistance(b, name));
  return near.length > 0 ? ` (did you mean ${near.slice(0, 3).map((f) => `--${f}`).join(' or ')}?)` : '; see --help';
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[keys[keys.length - 1]] = value;
}

function getPath(target: Record<string, unknown>, path: string): unknown {
  let node: unknown = target;
  for (const key of path.split('.')) node = isObject(node) ? node[key] : undefined;
  return node;
}

export function helpText(): string {
  const width = Math.max(...CONFIG_FLAGS.map((f) => f.flag.length)) + 2;
  const lines = [
    'Usage: was-train [--config file.json] [flags]',
    '       was-train resume <run-folder> [--json | --plain]',
    '',
    'Trains a network with the Weight Augmentation Strategy (WAS) and writes a run folder',
    '(config.json, metrics.jsonl, log.txt, summary.json, checkpoints/). Flags override the',
    'config file, which overrides the preset, which overrides the defaults. `resume` continues a',
    'stopped, failed or killed run from its last checkpoint, bit for bit as if never interrupted.',
    '',
    'Options:',
    ...CONFIG_FLAGS.map((f) => `  --${f.flag.padEnd(width)}${f.help}`),
    '',
    `  --${'config'.padEnd(width)}JSON file with options (same names as config.json's "config")`,
    `  --${'resume'.padEnd(width)}<run-folder>: continue that run from its last checkpoint (as \`was-train resume\`)`,
    `  --${'json'.padEnd(width)}print the raw events, one JSON object per line`,
    `  --${'plain'.padEnd(width)}plain lines even on a terminal (no progress bar)`,
    `  --${'version'.padEnd(width)}print the version`,
    `  --${'help'.padEnd(width)}this text`,
    '',
    'Boolean flags take no value (--download) or =true/=false; --no-<flag> turns one off.',
    'Exit status: 0 completed, stopped, or nothing to resume; 1 failed or cannot resume;',
    '2 bad flags or config; 130 interrupted twice.',
  ];
  return lines.join('\n');
}
