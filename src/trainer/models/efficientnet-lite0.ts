// EfficientNet-Lite0: EfficientNet-B0 without squeeze-excitation, ReLU6 instead of swish, stem
// and head fixed at 32 and 1280 channels. Block structure and names follow the reference code's
// EfficientNetLite (effnetv2.py): expand 1x1 + BN + ReLU6 (absent for expand ratio 1), depthwise
// k x k + BN + ReLU6, project 1x1 + BN, identity skip when stride 1 and in == out.
// CIFAR variant: the stem and the first stride-2 stage (24 channels) run at stride 1, so a 32x32
// input ends at 4x4 (downsampling 8, as kuangliu's CIFAR MobileNetV2 and the CIFAR ResNets);
// the reference keeps the ImageNet strides (32x32 -> 1x1). No drop-connect, no dropout.
// WAS preset: the 16 depthwise convs only (WAS.md); five stages use 5x5 depthwise kernels.

import { BatchNorm } from '../nn/batch-norm';
import { Conv2d } from '../nn/conv';
import { Dense } from '../nn/dense';
import { forwardFrom, type ModelDefinition } from '../nn/model';
import type { Ops } from '../nn/ops';
import type { ParamStore } from '../nn/params';

interface StageSetting {
  readonly expand: number;
  readonly kernel: number;
  /** Stride of the stage's first block (the others use 1). */
  readonly stride: number;
  readonly input: number;
  readonly output: number;
  readonly repeats: number;
}

const STAGES: readonly StageSetting[] = [
  { expand: 1, kernel: 3, stride: 1, input: 32, output: 16, repeats: 1 },
  { expand: 6, kernel: 3, stride: 1, input: 16, output: 24, repeats: 2 }, // stride 2 -> 1 for CIFAR
  { expand: 6, kernel: 5, stride: 2, input: 24, output: 40, repeats: 2 },
  { expand: 6, kernel: 3, stride: 2, input: 40, output: 80, repeats: 3 },
  { expand: 6, kernel: 5, stride: 1, input: 80, output: 112, repeats: 3 },
  { expand: 6, kernel: 5, stride: 2, input: 112, output: 192, repeats: 4 },
  { expand: 6, kernel: 3, stride: 1, input: 192, output: 320, repeats: 1 },
];

const STEM_CHANNELS = 32;
const HEAD_CHANNELS = 1280;

type Block = <T>(x: T, nn: Ops<T>) => T;

function mbConv(store: ParamStore, name: string, input: number, output: number, kernel: number, stride: number, expandRatio: number): Block {
  const hidden = input * expandRatio;
  const expand = expandRatio !== 1 ? new Conv2d(store, `${name}.expand`, { inChannels: input, outChannels: hidden, kernel: 1, padding: 0 }) : null;
  const bn0 = expand ? new BatchNorm(store, `${name}.bn0`, hidden) : null;
  const depthwise = new Conv2d(store, `${name}.depthwise`, {
    inChannels: hidden,
    outChannels: hidden,
    kernel,
    stride,
    padding: (kernel - 1) / 2,
    depthwise: true,
    wasPreset: true,
  });
  const bn1 = new BatchNorm(store, `${name}.bn1`, hidden);
  const project = new Conv2d(store, `${name}.project`, { inChannels: hidden, outChannels: output, kernel: 1, padding: 0 });
  const bn2 = new BatchNorm(store, `${name}.bn2`, output);
  const skip = stride === 1 && input === output;
  return (x, nn) => {
    let y = expand && bn0 ? nn.relu6(nn.batchNorm(bn0, nn.conv(expand, x))) : x;
    y = nn.relu6(nn.batchNorm(bn1, nn.conv(depthwise, y)));
    y = nn.batchNorm(bn2, nn.conv(project, y));
    return skip ? nn.add(y, x) : y;
  };
}

export const efficientnetLite0: ModelDefinition = {
  name: 'efficientnet-lite0',
  description: 'EfficientNet-Lite0 (no SE, ReLU6), CIFAR variant: stride-1 stem and 24-channel stage; WAS on the 16 depthwise convs',
  build(store, spec) {
    // The stem is never transformed (WAS.md).
    const stem = new Conv2d(store, 'stem.conv', { inChannels: spec.channels, outChannels: STEM_CHANNELS, kernel: 3, stride: 1, padding: 1 });
    const stemBn = new BatchNorm(store, 'stem.bn', STEM_CHANNELS);
    const blocks: Block[] = [];
    STAGES.forEach((s, i) => {
      for (let j = 0; j < s.repeats; j++) {
        const input = j === 0 ? s.input : s.output;
        blocks.push(mbConv(store, `blocks.${i}.${j}`, input, s.output, s.kernel, j === 0 ? s.stride : 1, s.expand));
      }
    });
    const head = new Conv2d(store, 'head.conv', { inChannels: STAGES[STAGES.length - 1].output, outChannels: HEAD_CHANNELS, kernel: 1, padding: 0 });
    const headBn = new BatchNorm(store, 'head.bn', HEAD_CHANNELS);
    const fc = new Dense(store, 'fc', HEAD_CHANNELS, spec.numClasses);
    return forwardFrom((x, nn) => {
      let y = nn.relu6(nn.batchNorm(stemBn, nn.conv(stem, x)));
      for (const block of blocks) y = block(y, nn);
      y = nn.relu6(nn.batchNorm(headBn, nn.conv(head, y)));
      return nn.dense(fc, nn.globalAvgPool(y));
    });
  },
};
