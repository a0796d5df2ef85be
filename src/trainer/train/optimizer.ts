// SGD with momentum and Adam, written out so that the learning rate can change every step and
// the optimizer state is plain named variables (checkpoints can save and restore it).
// Semantics follow PyTorch: SGD buf = m * buf + g, w -= lr * buf; Adam with bias correction;
// weight decay is L2 added to the gradient (coupled), applied to kernels only.

import * as tf from '@tensorflow/tfjs';
import type { OptimizerConfig } from '../../shared/config';

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

  dispose(): void {
    for (const slots of this.slots.values()) for (const s of slots) s.dispose();
    this.slots.clear();
  }
}
