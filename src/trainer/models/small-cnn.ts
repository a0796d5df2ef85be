// A small CNN with BatchNorm: quick on a CPU, and enough to show the BatchNorm pitfall.
// The head averages over space (like the CIFAR models) rather than flattening 7x7x64 features
// into the classifier: with BN'd ReLU features, a 3136-input dense layer diverges at lr 0.05.

import * as tf from '@tensorflow/tfjs';
import { BatchNorm } from '../nn/batch-norm';
import { Conv2d } from '../nn/conv';
import { Dense } from '../nn/dense';
import { globalAvgPool, type ModelDefinition } from '../nn/model';

export const smallCnn: ModelDefinition = {
  name: 'small-cnn',
  description: 'conv32-bn-pool-conv64-bn-pool-avgpool-fc; any input size of at least 4x4',
  build(store, spec) {
    const conv1 = new Conv2d(store, 'conv1', { inChannels: spec.channels, outChannels: 32, kernel: 3, padding: 1 });
    const bn1 = new BatchNorm(store, 'bn1', 32);
    const conv2 = new Conv2d(store, 'conv2', { inChannels: 32, outChannels: 64, kernel: 3, padding: 1, wasPreset: true });
    const bn2 = new BatchNorm(store, 'bn2', 64);
    const fc = new Dense(store, 'fc', 64, spec.numClasses);
    return (x, ctx) => {
      let y = tf.maxPool(tf.relu(bn1.apply(conv1.apply(x, ctx), ctx)), 2, 2, 'valid');
      y = tf.maxPool(tf.relu(bn2.apply(conv2.apply(y, ctx), ctx)), 2, 2, 'valid');
      return fc.apply(globalAvgPool(y));
    };
  },
};
