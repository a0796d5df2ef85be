// A small WAS run on generated data (seconds on wasm): the run the checkpoint tests train, kill
// and resume, each patching what it needs.

import { resolveConfig, type TrainConfig } from '../../src/shared/config';

export const SMALL_RUN = {
  model: 'small-cnn',
  data: { name: 'synthetic', validationSize: 64, synthetic: { trainCount: 320, testCount: 64, size: 16, channels: 1, classes: 4 } },
  was: { transform: 'mixed' },
  optimizer: { name: 'adam' },
  epochs: 3,
  batchSize: 32,
  evalBatchSize: 64,
  seed: 9,
  backend: 'wasm',
  logEverySteps: 2,
  bn: { recalibrationBatches: 2 },
};

/** SMALL_RUN writing into `runsDir`, with `patches` applied in order. */
export function smallRunConfig(runsDir: string, ...patches: Record<string, unknown>[]): TrainConfig {
  return resolveConfig([{ patch: { ...SMALL_RUN, runsDir }, where: 'test' }, ...patches.map((patch) => ({ patch, where: 'test case' }))]);
}
