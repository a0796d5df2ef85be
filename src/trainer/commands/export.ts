// `was-train export <run-dir> --mode aom|dom [--checkpoint best|last] [--out <folder>] [--force]`:
// write a checkpoint's AOM or deterministic DOM as a TensorFlow.js LayersModel folder
// (model.json, weight shards, was-export.json) that plain @tensorflow/tfjs loads.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorMessage } from '../../shared/errors';
import { acquireRunLock } from '../../shared/node/run-lock';
import { BACKEND_NAMES, DOM_SEARCH_ALGORITHMS } from '../../shared/config';
import { EXIT } from '../../shared/exit-codes';
import { BACKEND_PATH_FLAG, BACKEND_PATH_HELP, UsageError } from '../args';
import { layersText, table } from '../output/dom-report';
import { planOf, readSavedSearch, saveSearch } from '../dom/run-search';
import { maxShiftFor } from '../dom/plan';
import { flopsBudget, UnreachableTargetError } from '../dom/search';
import { exportModel, type ExportRequest, type ExportResult } from '../export/export-model';
import { checkDestination, DestinationExistsError } from '../export/folder';
import { openRun, searchSavedRun, type RunSource } from '../export/run-source';
import type { DomSearchAlgorithm, TrainConfig } from '../../shared/config';
import type { InferenceMode } from '../../shared/protocol';
import { choice, flopsTarget, parseCommandArgs, processIo, type CommandIo } from './flags';

const USAGE = `Usage: was-train export <run-folder> --mode aom|dom [options]

Writes the run's weights in one inference mode as a TensorFlow.js LayersModel folder
(model.json + weight shards) that @tensorflow/tfjs loads with no WAS code, and was-export.json
beside it (mode, FLOPs, accuracies, alphas, transforms, source run and epoch). AOM: the plain
weights with alpha folded in. DOM: one fixed shift per transformed layer for a FLOPs target, the
shifted kernels exported at their real, smaller size. BatchNorm in inference mode with the
mode's recalibrated statistics. Inputs: NHWC, (pixel / 255 - mean) / std; outputs: logits.

Options:
  --mode M            aom | dom
  --checkpoint C      best (default: the run's selected epoch) | last
  --out DIR           default: <run-folder>/exports/<mode>-<checkpoint>[-flops-<target>]
  --force             replace an existing export at DIR
  --flops-target F    dom: the target (default: the run's dom.flopsTarget); a saved search of
                      the same weights, target and algorithm (\`was-train dom\`) is reused
  --search S          dom: lazy-greedy (default) | greedy
  --backend B         ${BACKEND_NAMES.join(' | ')} (default: the run's)
  --backend-path DIR  ${BACKEND_PATH_HELP}
  --json              print was-export.json

Exit status: 0 written; 1 the run, checkpoint or data cannot be used; 2 bad flags, an unreachable
target, or an existing destination without --force.`;

export async function exportCommand(argv: string[], io: CommandIo = processIo): Promise<number> {
  const command = 'export';
  try {
    const args = parseCommandArgs(argv, {
      mode: 'value',
      checkpoint: 'value',
      out: 'value',
      force: 'switch',
      'flops-target': 'value',
      search: 'value',
      backend: 'value',
      [BACKEND_PATH_FLAG]: 'list',
      json: 'switch',
    });
    if (args.help) {
      io.out(USAGE + '\n');
      return EXIT.ok;
    }
    if (args.runDir === null) throw new UsageError(`which run? ${USAGE.split('\n')[0]}`);
    const runDir = args.runDir;
    if (!args.values.has('mode')) throw new UsageError(`--mode aom or --mode dom is required`);
    const mode = choice('mode', args.values.get('mode'), ['aom', 'dom'] as const, 'aom');
    const which = choice('checkpoint', args.values.get('checkpoint'), ['best', 'last'] as const, 'best');
    const algorithm = choice('search', args.values.get('search'), DOM_SEARCH_ALGORITHMS, 'lazy-greedy');
    const backend = args.values.has('backend') ? choice('backend', args.values.get('backend'), BACKEND_NAMES, 'auto') : undefined;
    const rawTarget = args.values.get('flops-target');
    if (mode === 'aom' && (rawTarget !== undefined || args.values.has('search'))) throw new UsageError(`--flops-target and --search are for --mode dom`);
    const flags = { runDir, mode, which, algorithm, backend, backendPaths: args.lists.get(BACKEND_PATH_FLAG) ?? [], rawTarget, out: args.values.get('out'), force: args.switches.has('force'), json: args.switches.has('json') };
    // It may write into the run folder (exports/, dom/): not while a trainer does (a missing folder is openRun's to report).
    const lock = fs.statSync(runDir, { throwIfNoEntry: false })?.isDirectory() ? acquireRunLock(runDir, 'was-train export', (line) => io.err(`was-train export: ${line}\n`)) : null;
    try {
      return await exportRun(flags, io);
    } finally {
      lock?.release();
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof UnreachableTargetError || error instanceof DestinationExistsError) {
      io.err(`was-train ${command}: ${error.message}\n`);
      return EXIT.usage;
    }
    io.err(`was-train ${command}: ${errorMessage(error)}\n`);
    return EXIT.failed;
  }
}

interface ExportFlags {
  runDir: string;
  mode: InferenceMode;
  which: 'best' | 'last';
  algorithm: DomSearchAlgorithm;
  backend: TrainConfig['backend'] | undefined;
  /** --backend-path folders. */
  backendPaths: string[];
  /** --flops-target as given. */
  rawTarget: string | undefined;
  out: string | undefined;
  force: boolean;
  json: boolean;
}

/** Open the run's checkpoint, find (or reuse) its DOM, write the export and say what was written. */
async function exportRun(flags: ExportFlags, io: CommandIo): Promise<number> {
  const { runDir, mode, which } = flags;
  const say = (line: string): void => {
    io.err(`was-train export: ${line}\n`);
  };
  const defaultOut = (target: number | null): string => path.join(runDir, 'exports', `${mode}-${which}${target === null ? '' : `-flops-${target}`}`);
  const early = mode === 'aom' ? null : flags.rawTarget !== undefined ? flopsTarget(flags.rawTarget) : undefined;
  // Refuse an existing destination before loading anything, when its name is known already.
  if (early !== undefined) checkDestination(flags.out ?? defaultOut(early), flags.force);

  const source = await openRun(runDir, which, {
    backend: flags.backend,
    backendPaths: flags.backendPaths,
    log: say,
    // An unreachable target needs no data to tell.
    beforeData: (model, config) => {
      const target = mode === 'dom' ? (early ?? config.dom.flopsTarget) : null;
      if (target !== null) flopsBudget(model, target, (conv) => maxShiftFor(conv.k, config.was.translate));
    },
  });
  try {
    const target = mode === 'dom' ? (early ?? source.config.dom.flopsTarget) : null;
    if (mode === 'dom' && target === null) throw new UsageError(`--mode dom needs --flops-target (the run was not trained with one)`);
    const out = flags.out ?? defaultOut(target);
    // Refuse an existing destination before the search and the export, not after.
    checkDestination(out, flags.force);
    const dom = target === null ? null : await fixedDom(source, flags, target, say);
    const result = await exportModel({ source, mode, dom, out, force: flags.force });
    if (flags.json) io.out(JSON.stringify(result.metadata) + '\n');
    else io.out(`\n${table(exportRows(result, flags, source.run.epoch, dom !== null))}\n`);
    return EXIT.ok;
  } finally {
    source.dispose();
  }
}

/** The DOM for the target: the search saved for these weights, or a new one (then saved). */
async function fixedDom(source: RunSource, flags: ExportFlags, target: number, say: (line: string) => void): Promise<NonNullable<ExportRequest['dom']>> {
  const { runDir, which, algorithm } = flags;
  const saved = readSavedSearch(runDir, which, source.run.epoch, target, algorithm);
  if (saved) say(`reusing the DOM search saved for ${which} epoch ${saved.epoch}, target ${target}: ${layersText(saved.layers)}`);
  const search = saved ?? (await searchSavedRun(source, { flopsTarget: target, algorithm, withTest: true, onProgress: say })).event;
  if (!saved) saveSearch(runDir, search);
  return { plan: planOf(search), search };
}

function exportRows(result: ExportResult, flags: ExportFlags, epoch: number, withDom: boolean): [string, string][] {
  const m = result.metadata;
  const bytes = result.files.reduce((sum, f) => sum + f.bytes, 0);
  return [
    ['exported', `${flags.mode.toUpperCase()} of ${m.model.name}, ${flags.which} checkpoint (epoch ${epoch})`],
    ['folder', `${result.dir} (${result.files.length} files, ${(bytes / 1e6).toFixed(2)} MB)`],
    ['FLOPs', `${m.flops.model.toLocaleString('en-US')} (${((100 * m.flops.model) / m.flops.aom).toFixed(1)}% of AOM)`],
    [`${m.accuracy.split} accuracy`, `${(100 * m.accuracy.selection).toFixed(2)}%`],
    ['test accuracy', `${(100 * m.accuracy.test).toFixed(2)}%${m.accuracy.reportedByRun === null ? '' : ` (the run reported ${(100 * m.accuracy.reportedByRun).toFixed(2)}%)`}`],
    ...(withDom ? ([['transforms', layersText(m.transforms)]] as [string, string][]) : []),
  ];
}
