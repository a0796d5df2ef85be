// VGG-16 with BatchNorm, the CIFAR variant (kuangliu/pytorch-cifar, on which the WAS reference
// code builds): 13 conv3x3(bias)-BN-ReLU layers in five blocks, each block closed by a 2x2 max
// pool, then one Linear(512, classes). 14,728,266 parameters for 32x32x3 and 10 classes.
//
// WAS preset (WAS.md): 9 of the 13 convs, every conv except the first of each of the first four
// blocks (block1.conv2, block2.conv2, block3.conv2-3, block4.conv2-3, block5.conv1-3).
//
// Other input sizes: kuangliu's pools are exact for 32x32 only. Here the pools use 'same'
// padding (identical to PyTorch's for even sizes, ceil mode for odd ones, so 28x28 gives
// 14-7-4-2-1), and the features are globally averaged (an identity at 32x32, where the map is
// 1x1), so any input of at least 1x1 builds and gives 512 features.

import { BatchNorm } from '../nn/batch-norm';
import { Conv2d } from '../nn/conv';
import { Dense } from '../nn/dense';
import { forwardFrom, type ModelDefinition } from '../nn/model';

/** Output channels of each conv, one array per block; every block ends with a max pool. */
const VGG16_BLOCKS: readonly (readonly number[])[] = [
  [64, 64],
  [128, 128],
  [256, 256, 256],
  [512, 512, 512],
  [512, 512, 512],
];

export const vgg16: ModelDefinition = {
  name: 'vgg16',
  description: 'VGG-16 with BatchNorm (CIFAR variant: 13 conv3x3, one Linear(512)); any input size',
  build(store, spec) {
    const layers: { conv: Conv2d; bn: BatchNorm }[][] = [];
    let inChannels = spec.channels;
    VGG16_BLOCKS.forEach((widths, b) => {
      const block: { conv: Conv2d; bn: BatchNorm }[] = [];
      widths.forEach((outChannels, i) => {
        const name = `block${b + 1}.conv${i + 1}`;
        // The reference leaves the first conv of blocks 1-4 plain and transforms all of block 5.
        const wasPreset = i > 0 || b === VGG16_BLOCKS.length - 1;
        const conv = new Conv2d(store, name, { inChannels, outChannels, kernel: 3, padding: 1, bias: true, wasPreset });
        const bn = new BatchNorm(store, `block${b + 1}.bn${i + 1}`, outChannels);
        block.push({ conv, bn });
        inChannels = outChannels;
      });
      layers.push(block);
    });
    const classifier = new Dense(store, 'classifier', inChannels, spec.numClasses);
    return forwardFrom((x, nn) => {
      let y = x;
      for (const block of layers) {
        for (const { conv, bn } of block) y = nn.relu(nn.batchNorm(bn, nn.conv(conv, y)));
        y = nn.maxPool(y, 2, 2, 'same');
      }
      return nn.dense(classifier, nn.globalAvgPool(y));
    });
  },
};
