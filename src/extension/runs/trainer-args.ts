// The was-train command lines the extension runs. Training options travel as the CLI's own flags
// (so the trainer checks them by the same rules as in a terminal); an experiment file travels as
// --config, and a setting is passed for an option only where the file leaves it open.

import { FIELDS, TRAIN_CONFIG, experimentOptions, resolveConfig, type TrainConfig } from '../../shared/config';
import { errorMessage } from '../../shared/errors';
import type { InferenceMode } from '../../shared/protocol';
import { defaultRunName, firstFreeRunName } from '../../shared/run-naming';
import * as v from 'valibot';
import { ValidationError, isObject, type JsonObject } from '../../shared/validate';
import type { WasSettings } from './settings';

/** What the Start Training quick picks ask, each by its option's rule. */
const QUICK_CHOICES = v.object({
  model: TRAIN_CONFIG.entries.model,
  dataset: TRAIN_CONFIG.entries.data.entries.name,
  transform: TRAIN_CONFIG.entries.was.entries.transform,
  preset: TRAIN_CONFIG.entries.preset,
  epochs: TRAIN_CONFIG.entries.epochs,
});
export type QuickChoices = v.InferOutput<typeof QUICK_CHOICES>;

/** Choices remembered in workspace/global state (anything may be stored there): null unless all are valid. */
export function parseQuickChoices(value: unknown): QuickChoices | null {
  const result = v.safeParse(QUICK_CHOICES, value);
  return result.success ? result.output : null;
}

/** An experiment file as read: its options (without "$schema") and the config they resolve to. */
export interface ExperimentFile {
  file: string;
  options: JsonObject;
  config: TrainConfig;
}

/** was-train flag for each config path the extension sets (checked against the CLI in a test). */
export const FLAG_FOR_PATH = {
  preset: 'preset',
  model: 'model',
  'data.name': 'dataset',
  'data.dir': 'data-dir',
  'data.download': 'download',
  'was.transform': 'transform',
  'was.translate': 'translate',
  'was.cropScale': 'crop-scale',
  'was.cropRatio': 'crop-ratio',
  epochs: 'epochs',
  backend: 'backend',
  logEverySteps: 'log-every',
  runsDir: 'runs-dir',
  runName: 'run-name',
} as const;
type FlagPath = keyof typeof FLAG_FOR_PATH;

export interface TrainLaunchOptions {
  settings: WasSettings;
  /** Absolute runs folder: always passed, so every run lands where the Runs tree looks. */
  runsDir: string;
  runName: string;
  /** Folders with an installed TensorFlow backend (Install TensorFlow Backend): --backend-path, a process flag, never an option. */
  backendPaths: readonly string[];
}

/** Parse an experiment file's text: a JSON object of training options, checked like the CLI checks it. */
export function parseExperiment(file: string, text: string): ExperimentFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(file, `not valid JSON: ${errorMessage(error)}`);
  }
  if (!isObject(json)) throw new ValidationError(file, 'an experiment file must hold a JSON object of training options');
  const options = experimentOptions(json);
  try {
    return { file, options, config: resolveConfig([{ patch: options, where: file }]) };
  } catch (error) {
    if (error instanceof ValidationError) throw new ValidationError(file, error.message);
    throw error;
  }
}

/** `was-train train` arguments for a run from the quick picks or from an experiment file. */
export function trainArgs(source: QuickChoices | ExperimentFile, options: TrainLaunchOptions): string[] {
  const { settings } = options;
  const fromSettings: Partial<Record<FlagPath, unknown>> = {
    backend: settings.backend,
    'was.translate': settings.translate,
    'was.cropScale': settings.cropScale,
    'was.cropRatio': settings.cropRatio,
    logEverySteps: settings.logEverySteps,
    'data.download': settings.download,
  };
  const args: string[] = ['train', '--plain'];
  let values: Partial<Record<FlagPath, unknown>>;
  if ('file' in source) {
    args.push('--config', source.file);
    const dataset = source.config.data.name;
    values = { ...fromSettings, 'data.dir': settings.dataFolders[dataset] };
    const fileSets = new Set(optionPaths(source.options));
    for (const path of Object.keys(values) as FlagPath[]) if (fileSets.has(path)) delete values[path];
  } else {
    values = {
      ...fromSettings,
      preset: source.preset,
      model: source.model,
      'data.name': source.dataset,
      'data.dir': settings.dataFolders[source.dataset],
      'was.transform': source.transform,
      epochs: source.epochs,
    };
  }
  // The run's place is the extension's to choose: the tree and the watcher look there.
  values.runsDir = options.runsDir;
  values.runName = options.runName;
  for (const [path, value] of Object.entries(values) as [FlagPath, unknown][]) args.push(...flagArgs(path, value));
  for (const folder of options.backendPaths) args.push('--backend-path', folder);
  return args;
}

/** `was-train resume <run-dir>`: continue a stopped, failed or killed run from its last checkpoint, with the config it started with. */
export function resumeArgs(runDir: string): string[] {
  return ['resume', runDir, '--plain'];
}

/** `was-train export <run-dir> --mode aom|dom --out <folder> [--flops-target F]`: the weights of one inference mode (DOM: for a FLOPs target, the run's own unless given). */
export function exportArgs(runDir: string, mode: InferenceMode, outDir: string, flopsTarget?: number): string[] {
  return ['export', runDir, '--mode', mode, '--out', outDir, ...(flopsTarget !== undefined ? ['--flops-target', String(flopsTarget)] : [])];
}

/** `was-train dom <run-dir> --flops-target F --json`: search the deterministic DOM on the best checkpoint and measure it on the test set. */
export function domSearchArgs(runDir: string, flopsTarget: number): string[] {
  return ['dom', runDir, '--flops-target', String(flopsTarget), '--json'];
}

/**
 * A run folder name in the trainer's own format, <yyyymmdd-hhmmss>-<model>-<dataset> (UTC), made
 * unique against `taken` (folders on disk and runs still queued).
 */
export function newRunName(model: string, dataset: string, taken: (name: string) => boolean, now = new Date()): string {
  return firstFreeRunName(defaultRunName(model, dataset, now), taken);
}

function flagArgs(path: FlagPath, value: unknown): string[] {
  const flag = `--${FLAG_FOR_PATH[path]}`;
  const spec = FIELDS[path];
  if (value === undefined) return [];
  if (value === null) return 'nullable' in spec && spec.nullable ? [flag, 'none'] : [];
  if (spec.kind === 'boolean') return [value ? flag : `--no-${FLAG_FOR_PATH[path]}`];
  if (spec.kind === 'range') return [flag, (value as number[]).join(',')];
  return [flag, String(value)];
}

/** The option paths an experiment file sets ("was.translate", "epochs", ...). */
function optionPaths(options: JsonObject, prefix = ''): string[] {
  return Object.entries(options).flatMap(([key, value]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return !FIELDS[path] && isObject(value) ? optionPaths(value, path) : [path];
  });
}
