// The model zoo: name -> definition, and building a model with its WAS layer selection.

import type { ModelName, TransformFamily, WasConfig } from '../../shared/config';
import type { Rng } from '../rng';
import type { Conv2d } from '../nn/conv';
import type { Model, ModelDefinition, ModelSpec } from '../nn/model';
import { ParamStore } from '../nn/params';
import { efficientnetLite0 } from './efficientnet-lite0';
import { googlenet } from './googlenet';
import { lenet } from './lenet';
import { mobilenetv2 } from './mobilenetv2';
import { resnet18, resnet34 } from './resnet';
import { smallCnn } from './small-cnn';
import { vgg16 } from './vgg';

export const MODELS: Record<ModelName, ModelDefinition> = {
  lenet,
  'small-cnn': smallCnn,
  vgg16,
  resnet18,
  resnet34,
  mobilenetv2,
  'efficientnet-lite0': efficientnetLite0,
  googlenet,
};

export function buildModel(name: ModelName, spec: ModelSpec, options: { rng: Rng; bnEpsilon: number }): Model {
  const definition = MODELS[name];
  if (!definition) throw new Error(`unknown model '${name}'; available: ${Object.keys(MODELS).join(', ')}`);
  const store = new ParamStore(options.rng, options.bnEpsilon);
  const forward = definition.build(store, spec);
  return { name, spec, store, forward };
}

/**
 * Give shadow weights to the convs the WAS config selects; returns their names.
 * 'preset': the reference's choice for this model (WAS.md); 'all': every conv with k > 1;
 * a list: exactly those layers (each must exist and have k > 1).
 */
export function selectShadowLayers(convs: readonly Conv2d[], transform: TransformFamily, layers: WasConfig['layers']): string[] {
  if (transform === 'none') return [];
  let chosen: Conv2d[];
  if (layers === 'preset') chosen = convs.filter((c) => c.wasPreset);
  else if (layers === 'all') chosen = convs.filter((c) => c.k > 1);
  else {
    const byName = new Map(convs.map((c) => [c.name, c]));
    chosen = layers.map((name) => {
      const conv = byName.get(name);
      if (!conv) {
        const options = convs.filter((c) => c.k > 1).map((c) => c.name);
        throw new Error(`unknown layer '${name}' in was.layers; layers with k > 1: ${options.join(', ')}`);
      }
      if (conv.k < 2) throw new Error(`layer '${name}' is ${conv.k}x${conv.k}: WAS needs a kernel with k > 1`);
      return conv;
    });
  }
  for (const conv of chosen) conv.enableShadow();
  return chosen.map((c) => c.name);
}
