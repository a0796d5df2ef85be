// Learning-rate schedules as pure functions of training progress.

import type { ScheduleConfig } from '../../shared/config';

/**
 * The learning rate for a step. `epoch` is 0-based; `progress` is the fraction of the whole
 * run done before this step (0 at the first step), used by the per-step cosine decay.
 */
export function learningRate(base: number, schedule: ScheduleConfig, epoch: number, progress: number): number {
  switch (schedule.name) {
    case 'constant':
      return base;
    case 'step':
      return base * Math.pow(schedule.gamma, Math.floor(epoch / schedule.stepEpochs));
    case 'cosine':
      return base * 0.5 * (1 + Math.cos(Math.PI * Math.min(Math.max(progress, 0), 1)));
  }
}
