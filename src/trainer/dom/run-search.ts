// One DOM search as the tool runs it, after training or on a checkpoint: the reference's
// stochastic DOM measured for comparison, the search on the selection split, the test accuracy of
// AOM and of the chosen DOM, and the result as a `dom-search` event, saved in the run folder
// (dom/<checkpoint>-flops-<target>.json) so that an export can reuse it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DomSearchAlgorithm } from '../../shared/config';
import { parseTrainerEvent, type DomSearchEvent, type TrainerEvent } from '../../shared/protocol';
import { errorMessage } from '../../shared/errors';
import { ValidationError } from '../../shared/validate';
import type { ImageSplit } from '../data/types';
import type { Model } from '../nn/model';
import { writeFileAtomic } from '../../shared/node/atomic-file';
import { evaluate, recalibrate, type EvalSetup } from '../eval/evaluate';
import { domTransforms, maxShiftFor, type DomPlan, type Shift } from './plan';
import { searchDom } from './search';

export interface DomSearchRequest {
  model: Model;
  /** The run's evaluation setup; its domTransforms is the stochastic reference DOM. */
  setup: EvalSetup;
  split: ImageSplit;
  splitName: 'validation' | 'test';
  /** null: no test numbers. */
  test: ImageSplit | null;
  flopsTarget: number;
  algorithm: DomSearchAlgorithm;
  /** The run's shift translate fraction: shifts are searched within the range training drew. */
  translate: number;
  checkpoint: 'best' | 'last';
  epoch: number;
  onProgress?: (line: string) => void;
}

export interface DomSearchOutcome {
  event: DomSearchEvent;
  plan: DomPlan;
}

/**
 * Search, then measure. Throws UnreachableTargetError (search.ts) before any evaluation when the
 * target cannot be met. Leaves the model's 'dom' statistics fitted to the chosen DOM.
 */
export async function runDomSearch(request: DomSearchRequest): Promise<DomSearchOutcome> {
  const { model, setup, split } = request;
  const bn = { ...setup.bn, eval: 'recalibrate' as const };
  // Throws before its first evaluation when the target is unreachable.
  const result = await searchDom(model, setup, split, {
    flopsTarget: request.flopsTarget,
    algorithm: request.algorithm,
    maxShift: (conv) => maxShiftFor(conv.k, request.translate),
    onProgress: request.onProgress,
  });
  // The stochastic reference DOM on the same split, for comparison.
  let stochasticDom: number | null = null;
  if (model.store.convs.some((c) => c.shadowed)) {
    const reference = { ...setup, bn };
    recalibrate('dom', reference);
    stochasticDom = (await evaluate('dom', split, reference)).accuracy;
  }
  // Test numbers, and the 'dom' statistics fitted to the chosen DOM again.
  let test: DomSearchEvent['test'] = null;
  const fixed: EvalSetup = { ...setup, bn, domTransforms: domTransforms(result.plan) };
  if (request.test) {
    recalibrate('aom', fixed);
    const aom = (await evaluate('aom', request.test, fixed)).accuracy;
    recalibrate('dom', fixed);
    const dom = (await evaluate('dom', request.test, fixed)).accuracy;
    test = { aom, dom };
  } else {
    recalibrate('dom', fixed);
  }
  const event: DomSearchEvent = {
    type: 'dom-search',
    time: Date.now(),
    checkpoint: request.checkpoint,
    epoch: request.epoch,
    flopsTarget: request.flopsTarget,
    algorithm: request.algorithm,
    split: request.splitName,
    flops: result.flops,
    accuracy: { aom: result.accuracy.aom, dom: result.accuracy.dom, stochasticDom },
    test,
    layers: result.layers,
    path: result.path,
    evaluations: result.evaluations,
    durationSec: result.durationSec,
  };
  return { event, plan: result.plan };
}

export function planOf(event: DomSearchEvent): DomPlan {
  return new Map<string, Shift>(event.layers.map((l) => [l.layer, { dy: l.dy, dx: l.dx }]));
}

export function savedSearchPath(runDir: string, checkpoint: 'best' | 'last', flopsTarget: number): string {
  return path.join(runDir, 'dom', `${checkpoint}-flops-${flopsTarget}.json`);
}

export function saveSearch(runDir: string, event: DomSearchEvent): string {
  const file = savedSearchPath(runDir, event.checkpoint, event.flopsTarget);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, JSON.stringify(event, null, 2) + '\n');
  return file;
}

/** A saved search of these weights (checkpoint and epoch), target and algorithm, or null. */
export function readSavedSearch(runDir: string, checkpoint: 'best' | 'last', epoch: number, flopsTarget: number, algorithm: DomSearchAlgorithm): DomSearchEvent | null {
  const file = savedSearchPath(runDir, checkpoint, flopsTarget);
  if (!fs.existsSync(file)) return null;
  let event: TrainerEvent;
  try {
    event = parseTrainerEvent(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch (error) {
    // A bare "Unexpected token" would not say which file; deleting it makes the search run again.
    throw new ValidationError(file, `a damaged saved DOM search (${errorMessage(error)}); delete it to search again`);
  }
  if (event.type !== 'dom-search') throw new ValidationError(file, `holds a ${event.type} event, not a dom-search one; delete it to search again`);
  return event.epoch === epoch && event.algorithm === algorithm ? event : null;
}
