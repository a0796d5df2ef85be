// The `was.*` settings: their names, defaults and checks in one place. VS Code hands settings over
// as whatever the user typed into settings.json, so each one is parsed from `unknown`; a bad value
// falls back to its default and is reported, never thrown.

import * as path from 'node:path';
import { DATASET_NAMES, DEFAULTS, checkField, type BackendName, type DatasetName } from '../../shared/config';
import { errorMessage } from '../../shared/errors';
import { DEFAULT_PANEL_SETTINGS, type PanelSettings } from '../../shared/panel-protocol';
import { ValidationError, expectBoolean, expectNumber, expectObject, expectOneOf, expectString } from '../../shared/validate';

export interface WasSettings {
  backend: BackendName;
  /** Relative to the first workspace folder unless absolute. */
  runsFolder: string;
  maxConcurrentRuns: number;
  stopTimeoutSeconds: number;
  /** Defaults for new runs' WAS transform parameters (an experiment file's own values win). */
  translate: number;
  cropScale: [number, number] | null;
  cropRatio: [number, number];
  logEverySteps: number;
  /** Per dataset: the folder (or CIFAR .tar.gz) with the official files. */
  dataFolders: Partial<Record<DatasetName, string>>;
  download: boolean;
  /** A Node executable for the trainer; '' runs it on VS Code's own runtime. */
  nodePath: string;
  openPanelOnStart: boolean;
  panel: PanelSettings;
}

export const SETTING_DEFAULTS: WasSettings = {
  backend: DEFAULTS.backend,
  runsFolder: DEFAULTS.runsDir,
  maxConcurrentRuns: 1,
  stopTimeoutSeconds: 60,
  translate: DEFAULTS.was.translate,
  cropScale: DEFAULTS.was.cropScale,
  cropRatio: DEFAULTS.was.cropRatio,
  logEverySteps: DEFAULTS.logEverySteps,
  dataFolders: {},
  download: DEFAULTS.data.download,
  nodePath: '',
  openPanelOnStart: true,
  panel: DEFAULT_PANEL_SETTINGS,
};

/** Reads every setting through `get` (the key without the `was.` prefix). */
export function readSettings(get: (key: string) => unknown, report: (problem: string) => void = () => {}): WasSettings {
  const read = <T>(key: string, fallback: T, parse: (value: unknown, path: string) => T): T => {
    const value = get(key);
    if (value === undefined) return fallback;
    try {
      return parse(value, `was.${key}`);
    } catch (error) {
      report(`setting was.${key}: ${errorMessage(error)}; using ${JSON.stringify(fallback)}`);
      return fallback;
    }
  };
  // Settings that are training options are checked by that option's own rule (TRAIN_CONFIG).
  const option = <T>(configPath: string) => (value: unknown): T => checkField(configPath, value) as T;
  const d = SETTING_DEFAULTS;
  return {
    backend: read('backend', d.backend, option<BackendName>('backend')),
    runsFolder: read('runsFolder', d.runsFolder, nonEmptyString),
    maxConcurrentRuns: read('maxConcurrentRuns', d.maxConcurrentRuns, (v, p) => expectNumber(v, p, { integer: true, min: 1, max: 64 })),
    stopTimeoutSeconds: read('stopTimeoutSeconds', d.stopTimeoutSeconds, (v, p) => expectNumber(v, p, { min: 1, max: 3600 })),
    translate: read('transform.translate', d.translate, option<number>('was.translate')),
    cropScale: read('transform.cropScale', d.cropScale, option<[number, number] | null>('was.cropScale')),
    cropRatio: read('transform.cropRatio', d.cropRatio, option<[number, number]>('was.cropRatio')),
    logEverySteps: read('logEverySteps', d.logEverySteps, option<number>('logEverySteps')),
    dataFolders: read('data.folders', d.dataFolders, (v, p) => {
      const out: Partial<Record<DatasetName, string>> = {};
      for (const [name, folder] of Object.entries(expectObject(v, p))) out[expectOneOf(name, `${p} key`, DATASET_NAMES)] = nonEmptyString(folder, `${p}.${name}`);
      return out;
    }),
    download: read('data.download', d.download, option<boolean>('data.download')),
    nodePath: read('nodePath', d.nodePath, expectString),
    openPanelOnStart: read('openPanelOnStart', d.openPanelOnStart, expectBoolean),
    panel: {
      smoothing: read('panel.smoothing', d.panel.smoothing, (v, p) => expectNumber(v, p, { min: 0, max: 0.99 })),
      lossLogScale: read('panel.lossLogScale', d.panel.lossLogScale, expectBoolean),
    },
  };
}

function nonEmptyString(value: unknown, path: string): string {
  const s = expectString(value, path).trim();
  if (s === '') throw new ValidationError(path, 'expected a non-empty string');
  return s;
}

/** The runs folder as an absolute path: as given, or under the workspace folder, or (no folder open) under `fallbackRoot`. */
export function resolveRunsDir(runsFolder: string, workspaceRoot: string | null, fallbackRoot: string): string {
  if (path.isAbsolute(runsFolder)) return runsFolder;
  return path.join(workspaceRoot ?? fallbackRoot, runsFolder);
}
