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

export interface DomSearchStep {
  layer: string;
  dy: number;
  dx: number;
  flops: number;
  accuracy: number;
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
  /** Each step taken from AOM: the layer shrunk, and the FLOPs and accuracy after it. */
  path: DomSearchStep[];
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
export async function searchDom(model: Model, setup: EvalSetup, split: ImageSplit, options: DomSearchOptions): Promise<DomSearchResult> {
  const started = Date.now();
  const log = options.onProgress ?? (() => {});
  const { aomFlops, budget, minimum } = flopsBudget(model, options.flopsTarget, options.maxShift);
  const aom = aomFlops.total;
  const search = new ShrinkSearch(model, setup, split, options.maxShift);

  const aomScore = await search.measure(null);
  log(`AOM: ${percent(aomScore.accuracy)} on ${split.count} images, ${aom.toLocaleString('en-US')} FLOPs; budget ${budget.toLocaleString('en-US')} (${percent(options.flopsTarget)})`);
  // The identity DOM computes exactly AOM (alpha * I W = alpha * W), so it starts from AOM's score.
  search.start(aomScore, aom);
  const path: DomSearchStep[] = [];
  while (search.flops > budget) {
    const { move } = search.take(await search.choose(budget, options.algorithm));
    path.push({ layer: move.conv.name, dy: move.shift.dy, dx: move.shift.dx, flops: search.flops, accuracy: search.score.accuracy });
    const w = shiftWindow(move.conv.k, move.shift);
    log(
      `step ${search.version}: ${move.conv.name} shift (${move.shift.dy}, ${move.shift.dx}) -> ${w.height}x${w.width}: ` +
        `${percent(search.score.accuracy)}, ${percent(search.flops / aom)} of AOM FLOPs (${search.evaluations} evaluations so far)`,
    );
  }

  // Leave the 'dom' statistics fitted to the chosen DOM (the last measurement may have been
  // another candidate's). Recalibration is deterministic, so its measured score stands.
  recalibrate('dom', { ...search.setup, domTransforms: domTransforms(search.current) });
  const finalFlops = flopsOf(model, search.current);
  return {
    plan: search.current,
    layers: layerChoices(model, search.current, aomFlops, finalFlops),
    flops: { aom, dom: finalFlops.total, budget, minimum },
    accuracy: { aom: aomScore.accuracy, dom: search.score.accuracy },
    path,
    evaluations: search.evaluations,
    durationSec: (Date.now() - started) / 1000,
  };
}

/** The greedy search's state: the current plan, its score and FLOPs, and every measurement so far. */
class ShrinkSearch {
  /** The evaluation setup; a fixed DOM's BatchNorm always recalibrates (see the constructor). */
  readonly setup: EvalSetup;
  readonly current: Map<string, Shift>;
  score: Score = { accuracy: 0, loss: 0 };
  flops = 0;
  evaluations = 0;
  /** Steps taken: the version of `current` that measurements are tagged with. */
  version = 0;
  private readonly measured = new Map<string, Measurement>();
  private readonly shadow: Conv2d[];

  constructor(
    private readonly model: Model,
    setup: EvalSetup,
    private readonly split: ImageSplit,
    private readonly maxShift: (conv: Conv2d) => number,
  ) {
    // A fixed DOM is a deployable network: its BatchNorm runs in inference mode with statistics
    // re-estimated for it, whatever bn.eval the run evaluated with.
    this.setup = { ...setup, bn: { ...setup.bn, eval: 'recalibrate' } };
    this.current = identityPlan(model);
    this.shadow = model.store.convs.filter((c) => c.shadowed);
  }

  /** Recalibrate and evaluate a fixed DOM (null: AOM). */
  measure(plan: DomPlan | null): Promise<Score> {
    this.evaluations++;
    const mode = plan === null ? 'aom' : 'dom';
    const s: EvalSetup = { ...this.setup, domTransforms: plan === null ? this.setup.domTransforms : domTransforms(plan) };
    recalibrate(mode, s);
    return evaluate(mode, this.split, s);
  }

  start(score: Score, flops: number): void {
    this.score = score;
    this.flops = flops;
  }

  /** The next move: the most accurate that reaches the budget, else the cheapest per FLOP saved. */
  async choose(budget: number, algorithm: DomSearchAlgorithm): Promise<Chosen> {
    const moves = this.moves();
    const finishing = moves.filter((move) => move.flops <= budget);
    let chosen: Chosen | null = null;
    if (finishing.length > 0) {
      for (const move of finishing) {
        const m = await this.fresh(move);
        if (chosen === null || better(move, m, chosen.move, chosen.m)) chosen = { move, m };
      }
    } else if (algorithm === 'greedy' || this.version === 0) {
      for (const move of moves) {
        const m = await this.fresh(move);
        if (chosen === null || compare(this.cost(move, m), this.cost(chosen.move, chosen.m)) < 0) chosen = { move, m };
      }
    } else {
      chosen = await this.chooseLazily(moves);
    }
    if (chosen === null) throw new Error('DOM search: no move left above the budget (cannot happen: the minimum was checked)');
    return chosen;
  }

  take(chosen: Chosen): Chosen {
    this.current.set(chosen.move.conv.name, chosen.move.shift);
    this.score = chosen.m.score;
    this.flops = chosen.move.flops;
    this.version++;
    return chosen;
  }

  /** Rank by the last measurements; re-measure the cheapest-looking until it stays cheapest. */
  private async chooseLazily(moves: Move[]): Promise<Chosen> {
    for (;;) {
      const estimates: Chosen[] = [];
      for (const move of moves) estimates.push({ move, m: this.measured.get(move.key) ?? (await this.measureMove(move)) });
      const ranked = estimates.sort((a, b) => compare(this.cost(a.move, a.m), this.cost(b.move, b.m)));
      const top = ranked[0];
      if (top.m.version === this.version) return top;
      const m = await this.measureMove(top.move);
      if (ranked.length === 1 || compare(this.cost(top.move, m), this.cost(ranked[1].move, ranked[1].m)) <= 0) return { move: top.move, m };
    }
  }

  /** Every way to shrink one transformed layer further from the current plan. */
  private moves(): Move[] {
    return this.shadow.flatMap((conv) => {
      const now = area(conv.k, this.current.get(conv.name) ?? NO_SHIFT);
      return candidateShifts(this.maxShift(conv))
        .filter((shift) => area(conv.k, shift) < now)
        .map((shift) => {
          const plan = new Map(this.current).set(conv.name, shift);
          return { conv, shift, plan, key: `${conv.name}:${shift.dy},${shift.dx}`, flops: flopsOf(this.model, plan).total };
        });
    });
  }

  private async measureMove(move: Move): Promise<Measurement> {
    const m = { score: await this.measure(move.plan), version: this.version };
    this.measured.set(move.key, m);
    return m;
  }

  /** The move's measurement at the current step, made now if it has none. */
  private fresh(move: Move): Promise<Measurement> {
    const m = this.measured.get(move.key);
    return m && m.version === this.version ? Promise.resolve(m) : this.measureMove(move);
  }

  /** Accuracy (then loss) given up per FLOP saved, from the move's latest measurement. */
  private cost(move: Move, m: Measurement): [number, number] {
    const saved = this.flops - move.flops;
    return [(this.score.accuracy - m.score.accuracy) / saved, (m.score.loss - this.score.loss) / saved];
  }
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

interface Chosen {
  move: Move;
  m: Measurement;
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
