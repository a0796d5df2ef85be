// Commands are called with whatever their caller had: nothing (the palette), a tree element (a
// LabRun), a run id (the metrics page, the tree's click), a mode, a file Uri (the CodeLens, the
// explorer). These read what a command needs from `unknown` without trusting its shape.

import type { InferenceMode } from '../../shared/protocol';
import { isObject } from '../../shared/validate';

/** A run id from a string or an object with a string `runId` (a tree element). */
export function runIdOf(arg: unknown): string | undefined {
  if (typeof arg === 'string' && arg !== '' && arg !== 'aom' && arg !== 'dom') return arg;
  if (isObject(arg) && typeof arg.runId === 'string' && arg.runId !== '') return arg.runId;
  return undefined;
}

/** The run ids of a tree multi-selection: VS Code passes (clicked, selected[]). */
export function runIdsOf(clicked: unknown, selected: unknown): string[] {
  const all = Array.isArray(selected) ? selected.map(runIdOf) : [runIdOf(clicked)];
  return [...new Set(all.filter((id): id is string => id !== undefined))];
}

export function modeOf(arg: unknown): InferenceMode | undefined {
  return arg === 'aom' || arg === 'dom' ? arg : undefined;
}

/** A file system path from a vscode.Uri-like argument (`scheme` 'file' and an `fsPath`). */
export function filePathOf(arg: unknown): string | undefined {
  if (isObject(arg) && arg.scheme === 'file' && typeof arg.fsPath === 'string') return arg.fsPath;
  return undefined;
}
