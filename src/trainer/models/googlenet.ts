// GoogLeNet, the CIFAR variant (kuangliu/pytorch-cifar, on which the WAS reference code builds):
// a conv3x3(192) + BN + ReLU stem instead of ImageNet's stem, inception blocks a3, b3, a 3x3
// stride-2 max pool, a4..e4, the max pool again, a5, b5, global average pool, Linear(1024).
// Every conv has a bias and is followed by BN + ReLU. Each inception block concatenates four
// branches: b1 1x1; b2 1x1 -> 3x3; b3 1x1 -> "5x5"; b4 3x3 max pool (stride 1) -> 1x1.
//
// The "5x5" branch: kuangliu builds it as two stacked 3x3 convs (6,166,250 parameters for
// 32x32x3 and 10 classes), while the WAS reference's googlenet.py uses one real 5x5 conv
// (padding 2) there. `googlenet` follows kuangliu; makeGoogLeNet('5x5') gives the reference's
// branch (5,879,066 parameters for the same input).
//
// WAS preset (WAS.md): the 3x3 and 5x5 convs inside each inception block (b2.conv2, and b3.conv2
// plus b3.conv3 for the two-3x3 branch), never the stem or the 1x1 convs.
//
// kuangliu's AvgPool2d(8) is exact for 32x32 only; a global average pool is the same there and
// lets other sizes through (28x28 ends at 7x7). The max pools use PyTorch's symmetric padding 1
// (tfjs pads 'same' at the end only), padded taps ignored as in PyTorch.

import { BatchNorm } from '../nn/batch-norm';
import { Conv2d } from '../nn/conv';
import { Dense } from '../nn/dense';
import { forwardFrom, type ModelDefinition } from '../nn/model';
import type { Ops } from '../nn/ops';
import type { ParamStore } from '../nn/params';

/** How the inception "5x5" branch is built: kuangliu's two 3x3 convs, or one 5x5 (WAS reference). */
export type FiveByFiveBranch = 'two-3x3' | '5x5';

class ConvBnRelu {
  readonly conv: Conv2d;
  private readonly bn: BatchNorm;

  constructor(store: ParamStore, name: string, inChannels: number, outChannels: number, kernel: number, wasPreset: boolean, bnName: string) {
    this.conv = new Conv2d(store, name, { inChannels, outChannels, kernel, padding: (kernel - 1) / 2, bias: true, wasPreset });
    this.bn = new BatchNorm(store, bnName, outChannels);
  }

  apply<T>(x: T, nn: Ops<T>): T {
    return nn.relu(nn.batchNorm(this.bn, nn.conv(this.conv, x)));
  }
}

interface InceptionWidths {
  n1x1: number;
  n3x3red: number;
  n3x3: number;
  n5x5red: number;
  n5x5: number;
  poolPlanes: number;
}

class Inception {
  readonly outChannels: number;
  private readonly b1: ConvBnRelu[];
  private readonly b2: ConvBnRelu[];
  private readonly b3: ConvBnRelu[];
  private readonly b4: ConvBnRelu[];

  constructor(store: ParamStore, name: string, inChannels: number, w: InceptionWidths, branch5: FiveByFiveBranch) {
    const layer = (branch: string, i: number, cin: number, cout: number, k: number): ConvBnRelu =>
      new ConvBnRelu(store, `${name}.${branch}.conv${i}`, cin, cout, k, k > 1, `${name}.${branch}.bn${i}`);
    this.b1 = [layer('b1', 1, inChannels, w.n1x1, 1)];
    this.b2 = [layer('b2', 1, inChannels, w.n3x3red, 1), layer('b2', 2, w.n3x3red, w.n3x3, 3)];
    this.b3 =
      branch5 === 'two-3x3'
        ? [layer('b3', 1, inChannels, w.n5x5red, 1), layer('b3', 2, w.n5x5red, w.n5x5, 3), layer('b3', 3, w.n5x5, w.n5x5, 3)]
        : [layer('b3', 1, inChannels, w.n5x5red, 1), layer('b3', 2, w.n5x5red, w.n5x5, 5)];
    this.b4 = [layer('b4', 1, inChannels, w.poolPlanes, 1)];
    this.outChannels = w.n1x1 + w.n3x3 + w.n5x5 + w.poolPlanes;
  }

  apply<T>(x: T, nn: Ops<T>): T {
    const run = (layers: ConvBnRelu[], input: T): T => layers.reduce((y, l) => l.apply(y, nn), input);
    const pooled = nn.maxPool(x, 3, 1, 1);
    return nn.concat([run(this.b1, x), run(this.b2, x), run(this.b3, x), run(this.b4, pooled)]);
  }
}

/** [name, n1x1, n3x3red, n3x3, n5x5red, n5x5, poolPlanes], in order; 'pool' marks the max pools. */
const BLOCKS: readonly (readonly [string, number, number, number, number, number, number] | 'pool')[] = [
  ['a3', 64, 96, 128, 16, 32, 32],
  ['b3', 128, 128, 192, 32, 96, 64],
  'pool',
  ['a4', 192, 96, 208, 16, 48, 64],
  ['b4', 160, 112, 224, 24, 64, 64],
  ['c4', 128, 128, 256, 24, 64, 64],
  ['d4', 112, 144, 288, 32, 64, 64],
  ['e4', 256, 160, 320, 32, 128, 128],
  'pool',
  ['a5', 256, 160, 320, 32, 128, 128],
  ['b5', 384, 192, 384, 48, 128, 128],
];

export function makeGoogLeNet(branch5: FiveByFiveBranch): ModelDefinition {
  const fiveByFive = branch5 === 'two-3x3' ? 'two 3x3 convs' : 'one 5x5 conv';
  return {
    name: 'googlenet',
    description: `GoogLeNet (CIFAR variant: conv3x3(192) stem, 9 inception blocks, "5x5" branch as ${fiveByFive}); any input size`,
    build(store, spec) {
      const pre = new ConvBnRelu(store, 'pre.conv', spec.channels, 192, 3, false, 'pre.bn');
      const stages: (Inception | 'pool')[] = [];
      let inChannels = 192;
      for (const block of BLOCKS) {
        if (block === 'pool') {
          stages.push('pool');
          continue;
        }
        const [name, n1x1, n3x3red, n3x3, n5x5red, n5x5, poolPlanes] = block;
        const inception = new Inception(store, name, inChannels, { n1x1, n3x3red, n3x3, n5x5red, n5x5, poolPlanes }, branch5);
        stages.push(inception);
        inChannels = inception.outChannels;
      }
      const linear = new Dense(store, 'linear', inChannels, spec.numClasses);
      return forwardFrom((x, nn) => {
        let y = pre.apply(x, nn);
        for (const stage of stages) y = stage === 'pool' ? nn.maxPool(y, 3, 2, 1) : stage.apply(y, nn);
        return nn.dense(linear, nn.globalAvgPool(y));
      });
    },
  };
}

export const googlenet = makeGoogLeNet('two-3x3');
