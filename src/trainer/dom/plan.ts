// A deterministic DOM: one fixed shift per transformed conv, instead of the reference's fresh
// random transform per call. A shift by (dy, dx) zeroes |dy| kernel rows and |dx| columns of every
// kernel of the layer (WAS.md), so the layer is really a (k-|dy|) x (k-|dx|) conv.

import type { Conv2d } from '../nn/conv';
import type { KernelWindow } from '../nn/conv-geometry';
import { fullWindow } from '../nn/conv-geometry';
import type { WindowFor } from '../nn/flops';
import { identityTransform, shiftTransform, type KernelTransform } from '../was/transforms';

export interface Shift {
  readonly dy: number;
  readonly dx: number;
}

export const NO_SHIFT: Shift = { dy: 0, dx: 0 };

/** Shift per transformed layer, by name; a transformed layer not listed keeps its whole kernel. */
export type DomPlan = ReadonlyMap<string, Shift>;

/** The taps a shift leaves non-zero: output row i reads kernel row i - dy (was/transforms.ts shiftMatrix). */
export function shiftWindow(k: number, shift: Shift): KernelWindow {
  if (Math.abs(shift.dy) >= k || Math.abs(shift.dx) >= k) throw new Error(`a shift of (${shift.dy}, ${shift.dx}) empties a ${k}x${k} kernel`);
  return { top: Math.max(0, shift.dy), left: Math.max(0, shift.dx), height: k - Math.abs(shift.dy), width: k - Math.abs(shift.dx) };
}

/** The windows DOM applies: shadow convs as the plan says, every other conv whole. */
export function domWindows(plan: DomPlan): WindowFor {
  return (conv) => (conv.shadowed ? shiftWindow(conv.k, plan.get(conv.name) ?? NO_SHIFT) : fullWindow(conv.k));
}

/** A ForwardContext.transformFor that gives every shadow conv its fixed shift. */
export function domTransforms(plan: DomPlan): (conv: Conv2d) => KernelTransform {
  const cache = new Map<string, KernelTransform>();
  return (conv) => {
    let t = cache.get(conv.name);
    if (!t) {
      const s = plan.get(conv.name) ?? NO_SHIFT;
      t = s.dy === 0 && s.dx === 0 ? identityTransform(conv.k) : shiftTransform(conv.k, s.dy, s.dx);
      cache.set(conv.name, t);
    }
    return t;
  };
}

/**
 * The largest shift per axis that training drew for a k x k kernel: round(U(-t*k, t*k)) reaches n
 * when n - 0.5 < t*k (k = 3, t = 0.3: 1). At least 1, so a model trained with crops (or no WAS)
 * can still be searched, and at most k - 1.
 */
export function maxShiftFor(k: number, translate: number): number {
  return Math.min(k - 1, Math.max(1, Math.ceil(translate * k + 0.5) - 1));
}

/** Every shift with |dy|, |dx| <= maxShift, except the identity. */
export function candidateShifts(maxShift: number): Shift[] {
  const out: Shift[] = [];
  for (let dy = -maxShift; dy <= maxShift; dy++)
    for (let dx = -maxShift; dx <= maxShift; dx++) if (dy !== 0 || dx !== 0) out.push({ dy, dx });
  return out;
}

export function planToRecord(plan: DomPlan): Record<string, Shift> {
  return Object.fromEntries([...plan].map(([name, s]) => [name, { dy: s.dy, dx: s.dx }]));
}
