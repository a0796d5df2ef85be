// The deterministic DOM for a FLOPs target: choose one fixed shift per transformed layer so that
// the network needs at most `flopsTarget` of the AOM FLOPs, losing as little accuracy as possible
// on the search split (the selection split, never the test set unless the run selects on it).
//
// Search: greedy shrinking from the identity (which is AOM). A move sets one layer to a shift with
// fewer FLOPs than its current one (3x3 -> 2x3, 3x2 or 2x2; 2x3 -> 2x2). Every candidate is
// measured for real: BatchNorm statistics recalibrated for that fixed DOM, then a pass over the
// split. Each step takes the move with the smallest accuracy loss per FLOP saved (ties: loss per
// FLOP), except that when some moves reach the target it takes the most accurate of those.
// - 'greedy' re-measures every move at every step: L layers x 8 shifts per step for 3x3 kernels.
// - 'lazy-greedy' (default) measures every move once, then keeps their last measurements as
//   estimates: it re-measures only the move that looks cheapest, takes it if it is still the
//   cheapest, and re-measures all moves that would reach the target before the final step. For
//   one layer both are the same; for many layers it costs a few evaluations per step instead of
//   8L, at the risk of trusting an estimate made before other layers changed.

import type { DomLayerChoice } from '../../shared/protocol';
import type { DomSearchAlgorithm } from '../../shared/config';
import type { ImageSplit } from '../data/types';
import type { Conv2d } from '../nn/conv';
import type { Model } from '../nn/model';
import { evaluate, recalibrate, type EvalSetup } from '../eval/evaluate';
import { countFlops, type FlopsCount } from '../nn/flops';
import { candidateShifts, domTransforms, domWindows, NO_SHIFT, shiftWindow, type DomPlan, type Shift } from './plan';

export interface DomSearchOptions {
  /** At most this fraction of the AOM FLOPs. */
  flopsTarget: number;
  algorithm: DomSearchAlgorithm;
  /** Largest |dy| and |dx| tried per layer (plan.ts maxShiftFor: the training range). */
  maxShift: (conv: Conv2d) => number;
  onProgress?: (line: string) => void;
}

export interface Score {
  accuracy: number;
  loss: number;
}

export interface DomSearchResult {
  plan: DomPlan;
  layers: DomLayerChoice[];
  flops: { aom: number; dom: number; budget: number; minimum: number };
  /** On the search split. */
  accuracy: { aom: number; dom: number };
  evaluations: number;
  durationSec: number;
}

/** The target cannot be met by shifting the transformed layers; the message says why and what can. */
export class UnreachableTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnreachableTargetError';
  }
}

/** Every transformed layer of the model at the identity (the DOM that equals AOM). */
export function identityPlan(model: Model): Map<string, Shift> {
  return new Map(model.store.convs.filter((c) => c.shadowed).map((c) => [c.name, NO_SHIFT]));
}

export function flopsOf(model: Model, plan: DomPlan | null): FlopsCount {
  return plan === null ? countFlops(model) : countFlops(model, domWindows(plan));
}

/**
 * The FLOPs budget of a target: floor(target * AOM FLOPs). Throws UnreachableTargetError when even
 * every transformed layer at its smallest shift needs more (a check that evaluates nothing).
 */
export function flopsBudget(model: Model, flopsTarget: number, maxShift: (conv: Conv2d) => number): { aomFlops: FlopsCount; budget: number; minimum: number } {
  const shadow = model.store.convs.filter((c) => c.shadowed);
  const aomFlops = flopsOf(model, null);
  const budget = Math.floor(flopsTarget * aomFlops.total);
  const minimum = flopsOf(model, new Map(shadow.map((c) => [c.name, { dy: maxShift(c), dx: maxShift(c) }]))).total;
  if (minimum > budget) throw new UnreachableTargetError(unreachableMessage(model, shadow, flopsTarget, aomFlops.total, minimum, aomFlops));
  return { aomFlops, budget, minimum };
}

/**
 * Search the DOM. Leaves the model's 'dom' BatchNorm statistics recalibrated for the chosen DOM
 * and its 'aom' statistics for AOM, so that evaluating or exporting either mode next is exact.
 */
export function searchDom(model: Model, setup: EvalSetup, split: ImageSplit, options: DomSearchOptions): DomSearchResult {
  const started = Date.now();
  const log = options.onProgress ?? (() => {});
  const shadow = model.store.convs.filter((c) => c.shadowed);
  const { aomFlops, budget, minimum } = flopsBudget(model, options.flopsTarget, options.maxShift);
  const aom = aomFlops.total;

  // A fixed DOM is a deployable network: its BatchNorm runs in inference mode with statistics
  // re-estimated for it, whatever bn.eval the run evaluated with.
  const bn = { ...setup.bn, eval: 'recalibrate' as const };
  let evaluations = 0;
  const measure = (plan: DomPlan | null): Score => {
    evaluations++;
    const mode = plan === null ? 'aom' : 'dom';
    const s: EvalSetup = { ...setup, bn, domTransforms: plan === null ? setup.domTransforms : domTransforms(plan) };
    recalibrate(mode, s);
    return evaluate(mode, split, s);
  };

  const aomScore = measure(null);
  log(`AOM: ${percent(aomScore.accuracy)} on ${split.count} images, ${aom.toLocaleString('en-US')} FLOPs; budget ${budget.toLocaleString('en-US')} (${percent(options.flopsTarget)})`);

  // The identity DOM computes exactly AOM (alpha * I W = alpha * W), so it starts from AOM's score.
  const current = identityPlan(model);
  let currentScore = aomScore;
  let currentFlops = aom;
  // Measurements by move, tagged with the step (version of `current`) they were made at.
  let version = 0;
  const measured = new Map<string, Measurement>();

  while (currentFlops > budget) {
    const moves: Move[] = shadow.flatMap((conv) => {
      const now = area(conv.k, current.get(conv.name) ?? NO_SHIFT);
      return candidateShifts(options.maxShift(conv))
        .filter((shift) => area(conv.k, shift) < now)
        .map((shift) => {
          const plan = new Map(current).set(conv.name, shift);
          return { conv, shift, plan, key: `${conv.name}:${shift.dy},${shift.dx}`, flops: flopsOf(model, plan).total };
        });
    });
    const measureMove = (move: Move): Measurement => {
      const m = { score: measure(move.plan), version };
      measured.set(move.key, m);
      return m;
    };
    const fresh = (move: Move): Measurement => {
      const m = measured.get(move.key);
      return m && m.version === version ? m : measureMove(move);
    };
    // Accuracy (then loss) given up per FLOP saved, from the move's latest measurement.
    const cost = (move: Move, m: Measurement): [number, number] => {
      const saved = currentFlops - move.flops;
      return [(currentScore.accuracy - m.score.accuracy) / saved, (m.score.loss - currentScore.loss) / saved];
    };

    let chosen: { move: Move; m: Measurement } | null = null;
    const finishing = moves.filter((move) => move.flops <= budget);
    if (finishing.length > 0) {
      for (const move of finishing) {
        const m = fresh(move);
        if (chosen === null || better(move, m, chosen.move, chosen.m)) chosen = { move, m };
      }
    } else if (options.algorithm === 'greedy' || version === 0) {
      for (const move of moves) {
        const m = fresh(move);
        if (chosen === null || compare(cost(move, m), cost(chosen.move, chosen.m)) < 0) chosen = { move, m };
      }
    } else {
      // Lazy: rank by the last measurements; re-measure the cheapest-looking until it stays cheapest.
      for (;;) {
        const ranked = moves
          .map((move) => ({ move, m: measured.get(move.key) ?? measureMove(move) }))
          .sort((a, b) => compare(cost(a.move, a.m), cost(b.move, b.m)));
        const top = ranked[0];
        if (top.m.version === version) {
          chosen = top;
          break;
        }
        const m = measureMove(top.move);
        if (ranked.length === 1 || compare(cost(top.move, m), cost(ranked[1].move, ranked[1].m)) <= 0) {
          chosen = { move: top.move, m };
          break;
        }
      }
    }
    if (chosen === null) throw new Error('DOM search: no move left above the budget (cannot happen: the minimum was checked)');
    current.set(chosen.move.conv.name, chosen.move.shift);
    currentScore = chosen.m.score;
    currentFlops = chosen.move.flops;
    version++;
    const w = shiftWindow(chosen.move.conv.k, chosen.move.shift);
    log(
      `step ${version}: ${chosen.move.conv.name} shift (${chosen.move.shift.dy}, ${chosen.move.shift.dx}) -> ${w.height}x${w.width}: ` +
        `${percent(currentScore.accuracy)}, ${percent(currentFlops / aom)} of AOM FLOPs (${evaluations} evaluations so far)`,
    );
  }

  // Leave the 'dom' statistics fitted to the chosen DOM (the last measurement may have been
  // another candidate's). Recalibration is deterministic, so its measured score stands.
  recalibrate('dom', { ...setup, bn, domTransforms: domTransforms(current) });
  const finalFlops = flopsOf(model, current);
  return {
    plan: current,
    layers: layerChoices(model, current, aomFlops, finalFlops),
    flops: { aom, dom: finalFlops.total, budget, minimum },
    accuracy: { aom: aomScore.accuracy, dom: currentScore.accuracy },
    evaluations,
    durationSec: (Date.now() - started) / 1000,
  };
}

/** Per transformed layer: its shift, kernel taps and FLOPs in AOM and in the DOM. */
export function layerChoices(model: Model, plan: DomPlan, aomFlops: FlopsCount = flopsOf(model, null), domFlops: FlopsCount = flopsOf(model, plan)): DomLayerChoice[] {
  const aomBy = new Map(aomFlops.layers.map((l) => [l.name, l.macs]));
  const domBy = new Map(domFlops.layers.map((l) => [l.name, l.macs]));
  return model.store.convs
    .filter((c) => c.shadowed)
    .map((c) => {
      const s = plan.get(c.name) ?? NO_SHIFT;
      const w = shiftWindow(c.k, s);
      return { layer: c.name, dy: s.dy, dx: s.dx, kernel: [w.height, w.width], flops: { aom: aomBy.get(c.name) ?? 0, dom: domBy.get(c.name) ?? 0 } };
    });
}

function area(k: number, s: Shift): number {
  return (k - Math.abs(s.dy)) * (k - Math.abs(s.dx));
}

interface Move {
  conv: Conv2d;
  shift: Shift;
  /** The current plan with this move made, and its FLOPs. */
  plan: DomPlan;
  flops: number;
  key: string;
}

interface Measurement {
  score: Score;
  version: number;
}

/** More accurate, then lower loss, then fewer FLOPs. */
function better(a: Move, am: Measurement, b: Move, bm: Measurement): boolean {
  if (am.score.accuracy !== bm.score.accuracy) return am.score.accuracy > bm.score.accuracy;
  if (am.score.loss !== bm.score.loss) return am.score.loss < bm.score.loss;
  return a.flops < b.flops;
}

function compare(a: [number, number], b: [number, number]): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
}

function unreachableMessage(model: Model, shadow: Conv2d[], target: number, aom: number, minimum: number, aomFlops: FlopsCount): string {
  const names = new Set(shadow.map((c) => c.name));
  const fixed = aomFlops.layers.filter((l) => !names.has(l.name)).reduce((sum, l) => sum + l.macs, 0);
  const what =
    shadow.length === 0
      ? `${model.name} has no transformed layers (WAS transform 'none'), so its DOM is AOM`
      : `only the ${shadow.length} transformed layer${shadow.length > 1 ? 's' : ''} (${[...names].join(', ')}) can shrink; ` +
        `with each at its smallest shift the network still needs ${minimum.toLocaleString('en-US')} FLOPs per image, ` +
        `${percent(minimum / aom)} of AOM's ${aom.toLocaleString('en-US')}, and the untransformed layers alone hold ${percent(fixed / aom)}`;
  return `FLOPs target ${percent(target)} is unreachable: ${what}. Choose a target of at least ${(Math.ceil((1000 * minimum) / aom) / 1000).toFixed(3)}.`;
}

function percent(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}
