// MobileNetV2 for CIFAR as in kuangliu/pytorch-cifar (models/mobilenetv2.py): stem stride 1 and
// the second stage (24 channels) at stride 1 instead of 2, so a 32x32 input ends at 4x4; ReLU
// (not ReLU6) after the stem, expand, depthwise and head convs; no conv biases; a 1x1 conv + BN
// shortcut on the stride-1 blocks that change the width. Global average pooling before the
// classifier, so any input size works. WAS preset: the 17 depthwise convs only (WAS.md).

import { BatchNorm } from '../nn/batch-norm';
import { Conv2d } from '../nn/conv';
import { Dense } from '../nn/dense';
import { forwardFrom, type ModelDefinition } from '../nn/model';
import type { Ops } from '../nn/ops';
import type { ParamStore } from '../nn/params';

/** (expansion, out_planes, num_blocks, stride), kuangliu's cfg with the CIFAR stride change. */
const CFG: readonly (readonly [number, number, number, number])[] = [
  [1, 16, 1, 1],
  [6, 24, 2, 1], // stride 2 -> 1 for CIFAR
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

type Block = <T>(x: T, nn: Ops<T>) => T;

/** Expand 1x1 + BN + ReLU, depthwise 3x3 + BN + ReLU, project 1x1 + BN, shortcut when stride 1. */
function invertedResidual(store: ParamStore, name: string, inPlanes: number, outPlanes: number, expansion: number, stride: number): Block {
  const planes = expansion * inPlanes;
  const expand = new Conv2d(store, `${name}.expand`, { inChannels: inPlanes, outChannels: planes, kernel: 1, padding: 0 });
  const bn1 = new BatchNorm(store, `${name}.bn1`, planes);
  const depthwise = new Conv2d(store, `${name}.depthwise`, {
    inChannels: planes,
    outChannels: planes,
    kernel: 3,
    stride,
    padding: 1,
    depthwise: true,
    wasPreset: true,
  });
  const bn2 = new BatchNorm(store, `${name}.bn2`, planes);
  const project = new Conv2d(store, `${name}.project`, { inChannels: planes, outChannels: outPlanes, kernel: 1, padding: 0 });
  const bn3 = new BatchNorm(store, `${name}.bn3`, outPlanes);
  // kuangliu: identity shortcut for stride 1 and equal widths, a 1x1 conv + BN for stride 1 and
  // different widths, none for stride 2.
  const shortcutConv =
    stride === 1 && inPlanes !== outPlanes
      ? new Conv2d(store, `${name}.shortcut.conv`, { inChannels: inPlanes, outChannels: outPlanes, kernel: 1, padding: 0 })
      : null;
  const shortcutBn = shortcutConv ? new BatchNorm(store, `${name}.shortcut.bn`, outPlanes) : null;
  return (x, nn) => {
    let y = nn.relu(nn.batchNorm(bn1, nn.conv(expand, x)));
    y = nn.relu(nn.batchNorm(bn2, nn.conv(depthwise, y)));
    y = nn.batchNorm(bn3, nn.conv(project, y));
    if (stride !== 1) return y;
    const shortcut = shortcutConv && shortcutBn ? nn.batchNorm(shortcutBn, nn.conv(shortcutConv, x)) : x;
    return nn.add(y, shortcut);
  };
}

export const mobilenetv2: ModelDefinition = {
  name: 'mobilenetv2',
  description: 'MobileNetV2, CIFAR variant (kuangliu: stride-1 stem and 24-channel stage, ReLU); WAS on the 17 depthwise convs',
  build(store, spec) {
    // The stem is never transformed (WAS.md).
    const conv1 = new Conv2d(store, 'conv1', { inChannels: spec.channels, outChannels: 32, kernel: 3, padding: 1 });
    const bn1 = new BatchNorm(store, 'bn1', 32);
    const blocks: Block[] = [];
    let inPlanes = 32;
    for (const [expansion, outPlanes, numBlocks, stride] of CFG) {
      for (let i = 0; i < numBlocks; i++) {
        blocks.push(invertedResidual(store, `layers.${blocks.length}`, inPlanes, outPlanes, expansion, i === 0 ? stride : 1));
        inPlanes = outPlanes;
      }
    }
    const conv2 = new Conv2d(store, 'conv2', { inChannels: inPlanes, outChannels: 1280, kernel: 1, padding: 0 });
    const bn2 = new BatchNorm(store, 'bn2', 1280);
    const linear = new Dense(store, 'linear', 1280, spec.numClasses);
    return forwardFrom((x, nn) => {
      let y = nn.relu(nn.batchNorm(bn1, nn.conv(conv1, x)));
      for (const block of blocks) y = block(y, nn);
      y = nn.relu(nn.batchNorm(bn2, nn.conv(conv2, y)));
      return nn.dense(linear, nn.globalAvgPool(y));
    });
  },
};
