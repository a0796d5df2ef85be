// LeNet-5 with ReLU and max pooling, for MNIST-sized inputs. No BatchNorm, so it shows the
// WAS alpha scale directly: AOM must use alpha * W, not W (see nn/conv.ts).

import { Conv2d } from '../nn/conv';
import { Dense } from '../nn/dense';
import { forwardFrom, type ModelDefinition } from '../nn/model';

export const lenet: ModelDefinition = {
  name: 'lenet',
  description: 'LeNet-5 (conv6-pool-conv16-pool-fc120-fc84), no BatchNorm; MNIST-sized inputs',
  build(store, spec) {
    const conv1 = new Conv2d(store, 'conv1', { inChannels: spec.channels, outChannels: 6, kernel: 5, padding: 2, bias: true, init: 'torch-default' });
    // conv1 is the stem and never transformed (WAS.md).
    const conv2 = new Conv2d(store, 'conv2', { inChannels: 6, outChannels: 16, kernel: 5, padding: 'valid', bias: true, init: 'torch-default', wasPreset: true });
    const h = Math.floor((Math.floor(spec.height / 2) - 4) / 2);
    const w = Math.floor((Math.floor(spec.width / 2) - 4) / 2);
    if (h < 1 || w < 1) throw new Error(`lenet needs inputs of at least 12x12, got ${spec.height}x${spec.width}`);
    const fc1 = new Dense(store, 'fc1', h * w * 16, 120);
    const fc2 = new Dense(store, 'fc2', 120, 84);
    const fc3 = new Dense(store, 'fc3', 84, spec.numClasses);
    return forwardFrom((x, nn) => {
      let y = nn.maxPool(nn.relu(nn.conv(conv1, x)), 2, 2, 'valid');
      y = nn.maxPool(nn.relu(nn.conv(conv2, y)), 2, 2, 'valid');
      const z = nn.relu(nn.dense(fc2, nn.relu(nn.dense(fc1, nn.flatten(y)))));
      return nn.dense(fc3, z);
    });
  },
};
