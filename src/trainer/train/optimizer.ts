// SGD with momentum and Adam, written out so that the learning rate can change every step and
// the optimizer state is plain named variables (checkpoints can save and restore it).
// Semantics follow PyTorch: SGD buf = m * buf + g, w -= lr * buf; Adam with bias correction;
// weight decay is L2 added to the gradient (coupled), applied to kernels only.

import * as tf from '@tensorflow/tfjs';
import type { OptimizerConfig } from '../../shared/config';
import { readFloats } from '../nn/read';

/** One optimizer slot (SGD momentum buffer; Adam first or second moment) of one variable. */
export interface OptimizerSlot {
  /** The variable's key in the optimizer's `variables` (checkpoints store its ParamStore name). */
  variable: string;
  /** 0: SGD momentum / Adam first moment; 1: Adam second moment. */
  index: number;
  shape: number[];
  values: Float32Array;
}

/** Everything an optimizer carries from one step to the next (checkpoints save it). */
export interface OptimizerState {
  name: OptimizerConfig['name'];
  /** Updates applied so far (Adam's bias correction depends on it). */
  steps: number;
  slots: OptimizerSlot[];
}

export class Optimizer {
  private readonly slots = new Map<string, tf.Variable[]>();
  private steps = 0;

  constructor(
    private readonly config: OptimizerConfig,
    /** Trainable variables by name; names ending in `.kernel` get weight decay. */
    private readonly variables: ReadonlyMap<string, tf.Variable>,
  ) {
    const slotCount = config.name === 'sgd' ? (config.momentum > 0 ? 1 : 0) : 2;
    for (const [name, v] of variables) {
      const slots: tf.Variable[] = [];
      for (let i = 0; i < slotCount; i++) slots.push(tf.variable(tf.zerosLike(v), false));
      this.slots.set(name, slots);
    }
  }

  /** Apply one update. `grads` maps variable names to gradients; the caller disposes them. */
  apply(grads: Record<string, tf.Tensor>, lr: number): void {
    this.steps++;
    const { momentum, weightDecay, beta1, beta2, epsilon } = this.config;
    const t = this.steps;
    tf.tidy(() => {
      for (const [name, v] of this.variables) {
        const raw = grads[name];
        if (!raw) continue;
        const g = weightDecay > 0 && name.endsWith('.kernel') ? raw.add(v.mul(weightDecay)) : raw;
        const slots = this.slots.get(name)!;
        if (this.config.name === 'sgd') {
          if (slots.length === 0) {
            v.assign(v.sub(g.mul(lr)));
            continue;
          }
          const buf = slots[0];
          buf.assign(buf.mul(momentum).add(g));
          v.assign(v.sub(buf.mul(lr)));
        } else {
          const [m, s] = slots;
          m.assign(m.mul(beta1).add(g.mul(1 - beta1)));
          s.assign(s.mul(beta2).add(g.square().mul(1 - beta2)));
          const stepSize = lr / (1 - Math.pow(beta1, t));
          const denom = s.div(1 - Math.pow(beta2, t)).sqrt().add(epsilon);
          v.assign(v.sub(m.div(denom).mul(stepSize)));
        }
      }
    });
  }

  /** A copy of the state, for a checkpoint. */
  async exportState(): Promise<OptimizerState> {
    const slots: OptimizerSlot[] = [];
    for (const [variable, list] of this.slots)
      for (const [index, slot] of list.entries()) slots.push({ variable, index, shape: [...slot.shape], values: await readFloats(slot) });
    return { name: this.config.name, steps: this.steps, slots };
  }

  /** Continue from a saved state; it must match this optimizer slot for slot, shape for shape. */
  importState(state: OptimizerState): void {
    if (state.name !== this.config.name) throw new Error(`the saved optimizer state is for ${state.name}, this run uses ${this.config.name}`);
    const given = new Map(state.slots.map((s) => [`${s.variable}#${s.index}`, s]));
    const expected = [...this.slots].reduce((n, [, list]) => n + list.length, 0);
    if (given.size !== state.slots.length) throw new Error('the saved optimizer state holds a slot twice');
    if (given.size !== expected) throw new Error(`the saved optimizer state has ${given.size} slots, this run needs ${expected}`);
    // Check everything before assigning anything: a mismatch leaves the optimizer as it was.
    const pairs: [tf.Variable, OptimizerSlot][] = [];
    for (const [variable, list] of this.slots) {
      list.forEach((slot, index) => {
        const saved = given.get(`${variable}#${index}`);
        if (!saved) throw new Error(`the saved optimizer state has no slot ${index} for ${variable}`);
        if (saved.shape.join(',') !== slot.shape.join(','))
          throw new Error(`optimizer slot ${index} of ${variable}: saved shape [${saved.shape}], this run needs [${slot.shape}]`);
        pairs.push([slot, saved]);
      });
    }
    tf.tidy(() => {
      for (const [slot, saved] of pairs) slot.assign(tf.tensor(saved.values, slot.shape));
    });
    this.steps = state.steps;
  }

  dispose(): void {
    for (const slots of this.slots.values()) for (const s of slots) s.dispose();
    this.slots.clear();
  }
}
