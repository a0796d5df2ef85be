// ResNet-18 and ResNet-34 with basic blocks, the CIFAR variant (kuangliu/pytorch-cifar, on which
// the WAS reference code builds): a 3x3 stride-1 stem conv (64, no bias) + BN + ReLU and no max
// pool; four stages of 64/128/256/512 channels, the first block of stages 2-4 with stride 2;
// a 1x1 conv + BN shortcut where the shape changes; global average pool; Linear(512, classes).
// 11,173,962 (ResNet-18) and 21,282,122 (ResNet-34) parameters for 32x32x3 and 10 classes.
//
// WAS preset (WAS.md): both 3x3 convs of every block (layerS.B.conv1, layerS.B.conv2); never the
// stem conv or the 1x1 shortcut convs.
//
// kuangliu pools with a fixed avg_pool2d(4), exact for 32x32 only; a global average pool is the
// same there and lets any input size through (28x28 ends at 4x4 as well).

import { BatchNorm } from '../nn/batch-norm';
import { Conv2d } from '../nn/conv';
import { Dense } from '../nn/dense';
import { forwardFrom, type ModelDefinition } from '../nn/model';
import type { Ops } from '../nn/ops';
import type { ParamStore } from '../nn/params';
import type { ModelName } from '../../shared/config';

class BasicBlock {
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm;
  private readonly shortcut: { conv: Conv2d; bn: BatchNorm } | null = null;

  constructor(store: ParamStore, name: string, inChannels: number, channels: number, stride: number) {
    this.conv1 = new Conv2d(store, `${name}.conv1`, { inChannels, outChannels: channels, kernel: 3, stride, padding: 1, wasPreset: true });
    this.bn1 = new BatchNorm(store, `${name}.bn1`, channels);
    this.conv2 = new Conv2d(store, `${name}.conv2`, { inChannels: channels, outChannels: channels, kernel: 3, padding: 1, wasPreset: true });
    this.bn2 = new BatchNorm(store, `${name}.bn2`, channels);
    if (stride !== 1 || inChannels !== channels) {
      this.shortcut = {
        conv: new Conv2d(store, `${name}.shortcut.conv`, { inChannels, outChannels: channels, kernel: 1, stride, padding: 0 }),
        bn: new BatchNorm(store, `${name}.shortcut.bn`, channels),
      };
    }
  }

  apply<T>(x: T, nn: Ops<T>): T {
    let y = nn.relu(nn.batchNorm(this.bn1, nn.conv(this.conv1, x)));
    y = nn.batchNorm(this.bn2, nn.conv(this.conv2, y));
    const skip = this.shortcut ? nn.batchNorm(this.shortcut.bn, nn.conv(this.shortcut.conv, x)) : x;
    return nn.relu(nn.add(y, skip));
  }
}

function resnet(name: ModelName, blocksPerStage: readonly [number, number, number, number], description: string): ModelDefinition {
  return {
    name,
    description,
    build(store, spec) {
      const conv1 = new Conv2d(store, 'conv1', { inChannels: spec.channels, outChannels: 64, kernel: 3, padding: 1 });
      const bn1 = new BatchNorm(store, 'bn1', 64);
      const blocks: BasicBlock[] = [];
      let inChannels = 64;
      blocksPerStage.forEach((count, s) => {
        const channels = 64 << s;
        for (let b = 0; b < count; b++) {
          const stride = s > 0 && b === 0 ? 2 : 1;
          blocks.push(new BasicBlock(store, `layer${s + 1}.${b}`, inChannels, channels, stride));
          inChannels = channels;
        }
      });
      const linear = new Dense(store, 'linear', inChannels, spec.numClasses);
      return forwardFrom((x, nn) => {
        let y = nn.relu(nn.batchNorm(bn1, nn.conv(conv1, x)));
        for (const block of blocks) y = block.apply(y, nn);
        return nn.dense(linear, nn.globalAvgPool(y));
      });
    },
  };
}

export const resnet18 = resnet('resnet18', [2, 2, 2, 2], 'ResNet-18 (CIFAR variant: 3x3 stem, no max pool, basic blocks [2,2,2,2]); any input size');
export const resnet34 = resnet('resnet34', [3, 4, 6, 3], 'ResNet-34 (CIFAR variant: 3x3 stem, no max pool, basic blocks [3,4,6,3]); any input size');
