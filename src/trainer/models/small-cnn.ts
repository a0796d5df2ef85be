// A small CNN with BatchNorm: quick on a CPU, and enough to show the BatchNorm pitfall.
// Its classifier takes all h/4 x w/4 x 64 features, so it wants a lower learning rate than the
// pooled-head models (RECOMMENDED_LR in shared/config.ts): at 0.05 the first steps diverge.

import { BatchNorm } from '../nn/batch-norm';
import { Conv2d } from '../nn/conv';
import { Dense } from '../nn/dense';
import { forwardFrom, type ModelDefinition } from '../nn/model';

export const smallCnn: ModelDefinition = {
  name: 'small-cnn',
  description: 'conv32-bn-pool-conv64-bn-pool-fc; any input size of at least 4x4',
  build(store, spec) {
    const conv1 = new Conv2d(store, 'conv1', { inChannels: spec.channels, outChannels: 32, kernel: 3, padding: 1 });
    const bn1 = new BatchNorm(store, 'bn1', 32);
    const conv2 = new Conv2d(store, 'conv2', { inChannels: 32, outChannels: 64, kernel: 3, padding: 1, wasPreset: true });
    const bn2 = new BatchNorm(store, 'bn2', 64);
    const fc = new Dense(store, 'fc', Math.floor(spec.height / 4) * Math.floor(spec.width / 4) * 64, spec.numClasses);
    return forwardFrom((x, nn) => {
      let y = nn.maxPool(nn.relu(nn.batchNorm(bn1, nn.conv(conv1, x))), 2, 2, 'valid');
      y = nn.maxPool(nn.relu(nn.batchNorm(bn2, nn.conv(conv2, y))), 2, 2, 'valid');
      return nn.dense(fc, nn.flatten(y));
    });
  },
};
