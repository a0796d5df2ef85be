// What Start Training's quick pick says about a choice before it starts: the expected time per
// epoch, and a warning before a run that will take hours or whose data is not on this machine.
//
// Where the numbers come from:
// - WASM_STEP: the median wasm train step (batch 64, 2 threads on 2 cores, SGD with momentum) of
//   `npm run bench`, docs/benchmarks.md, 2026-12-02. ResNet-34, EfficientNet-Lite0 and GoogLeNet
//   were not benched: their step is a benched sibling's scaled by the ratio of their MACs.
// - MACS: multiply-accumulates per image of each model, counted by countFlops
//   (src/trainer/nn/flops.ts) on the models as built for a 28x28x1 input (MNIST, Fashion-MNIST)
//   and a 32x32x3 one (CIFAR), 2026-12-06. A step on the other input is scaled by their ratio.
// - An epoch: its training images at the step's per-image time, plus the evaluation of AOM and
//   DOM on the selection split (a forward pass: about a third of a train step per image).
// Only wasm was measured; other backends get no number (a GPU is much faster, the pure-JS `cpu`
// backend much slower). A machine with more cores than the bench's 2 trains faster on wasm.

import * as os from 'node:os';
import * as path from 'node:path';
import { duration } from '../../shared/format';
import { DEFAULTS, PRESETS, type BackendName, type DatasetName, type ModelName, type PresetName } from '../../shared/config';

type Input = 'gray28' | 'rgb32';

/** Multiply-accumulates per image, millions (see the header). */
export const MACS: Record<ModelName, Record<Input, number>> = {
  lenet: { gray28: 0.4, rgb32: 0.9 },
  'small-cnn': { gray28: 3.9, rgb32: 5.6 },
  vgg16: { gray28: 267.6, rgb32: 313.2 },
  resnet18: { gray28: 455.8, rgb32: 555.4 },
  resnet34: { gray28: 935.9, rgb32: 1159.4 },
  mobilenetv2: { gray28: 75.6, rgb32: 91.2 },
  'efficientnet-lite0': { gray28: 97.6, rgb32: 115.5 },
  googlenet: { gray28: 1162.4, rgb32: 1521.8 },
};

/** The wasm train step (batch 64, 2 cores) as benched, or the benched sibling it is scaled from. */
export const WASM_STEP: Record<ModelName, { ms: number; input: Input } | { like: ModelName }> = {
  lenet: { ms: 17.8, input: 'gray28' },
  'small-cnn': { ms: 45.0, input: 'rgb32' },
  vgg16: { ms: 1050, input: 'rgb32' },
  resnet18: { ms: 2100, input: 'rgb32' },
  resnet34: { like: 'resnet18' },
  mobilenetv2: { ms: 2050, input: 'rgb32' },
  'efficientnet-lite0': { like: 'mobilenetv2' },
  googlenet: { like: 'resnet18' },
};
const BENCH_BATCH = 64;
/** A forward pass (evaluation) against a train step, per image. */
const FORWARD_SHARE = 1 / 3;
/** Above this, the quick pick asks before starting. */
export const LONG_RUN_SECONDS = 3600;

const DATASETS: Record<DatasetName, { input: Input; train: number; test: number }> = {
  mnist: { input: 'gray28', train: 60_000, test: 10_000 },
  'fashion-mnist': { input: 'gray28', train: 60_000, test: 10_000 },
  cifar10: { input: 'rgb32', train: 50_000, test: 10_000 },
  cifar100: { input: 'rgb32', train: 50_000, test: 10_000 },
  synthetic: { input: 'gray28', train: DEFAULTS.data.synthetic.trainCount, test: DEFAULTS.data.synthetic.testCount },
};

export interface EpochEstimate {
  seconds: number;
  /** "≈ 21s per epoch (wasm, 2 cores; bench 2026-12-02)". */
  text: string;
  /** False when the model's step was scaled from a sibling's rather than benched. */
  measured: boolean;
}

/** The backend a new run gets: the setting, `auto` resolved as the trainer would (an installed TensorFlow backend first). */
export function effectiveBackend(setting: BackendName, tensorflowInstalled: boolean): BackendName {
  return setting === 'auto' ? (tensorflowInstalled ? 'tensorflow-cpu' : 'wasm') : setting;
}

/** Seconds per image of one wasm train step of `model` on `input`. */
function wasmImageSeconds(model: ModelName, input: Input): { seconds: number; measured: boolean } {
  const step = WASM_STEP[model];
  if ('like' in step) {
    const sibling = WASM_STEP[step.like] as { ms: number; input: Input };
    return { seconds: ((sibling.ms / 1000 / BENCH_BATCH) * MACS[model][input]) / MACS[step.like][sibling.input], measured: false };
  }
  return { seconds: ((step.ms / 1000 / BENCH_BATCH) * MACS[model][input]) / MACS[model][step.input], measured: true };
}

/** The expected time of one epoch; null where nothing was measured (backends other than wasm). */
export function estimateEpoch(model: ModelName, dataset: DatasetName, preset: PresetName, backend: BackendName): EpochEstimate | null {
  if (backend !== 'wasm') return null;
  const data = DATASETS[dataset];
  const validation = Math.min(PRESETS[preset].data?.validationSize ?? DEFAULTS.data.validationSize, Math.floor(data.train / 2));
  const train = data.train - validation;
  // Both modes are measured on the selection split every epoch: the held-out part, or the test set.
  const selection = validation > 0 ? validation : data.test;
  const image = wasmImageSeconds(model, data.input);
  const seconds = image.seconds * (train + 2 * FORWARD_SHARE * selection);
  const text = `≈ ${duration(seconds)} per epoch (wasm, 2 cores${image.measured ? '' : ', scaled by MACs'})`;
  return { seconds, text, measured: image.measured };
}

/** What the trainer will find for a dataset (src/trainer/data: the defaults are mirrored here and tested against it). */
export interface DataPlaces {
  folders: Partial<Record<DatasetName, string>>;
  download: boolean;
  /** $WAS_LAB_DATA, else ~/.cache/was-lab/datasets: where CIFAR is looked for and downloaded. */
  cacheDir: string;
  exists: (file: string) => boolean;
}

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const CIFAR_FILES: Record<'cifar10' | 'cifar100', { archive: string; folder: string; megabytes: number }> = {
  cifar10: { archive: 'cifar-10-binary.tar.gz', folder: 'cifar-10-batches-bin', megabytes: 170 },
  cifar100: { archive: 'cifar-100-binary.tar.gz', folder: 'cifar-100-binary', megabytes: 169 },
};

export function defaultDataCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.WAS_LAB_DATA || path.join(os.homedir(), '.cache', 'was-lab', 'datasets');
}

/** Why the dataset's files will not be found, or a note on what starting will fetch; null when they are there. */
export function dataProblem(dataset: DatasetName, places: DataPlaces): { kind: 'missing' | 'download'; text: string } | null {
  const folder = places.folders[dataset];
  switch (dataset) {
    case 'mnist':
    case 'synthetic':
      return null;
    case 'fashion-mnist': {
      const dir = folder ?? FASHION_MNIST_DIR;
      if (places.exists(dir)) return null;
      return { kind: 'missing', text: `Fashion-MNIST is not in ${dir}: install Debian's dataset-fashion-mnist package, or name a folder with its IDX files in was.data.folders` };
    }
    case 'cifar10':
    case 'cifar100': {
      const files = CIFAR_FILES[dataset];
      if (folder !== undefined && places.exists(folder)) return null;
      const source = folder ?? places.cacheDir;
      if (folder === undefined && [files.archive, files.folder].some((f) => places.exists(path.join(source, f)))) return null;
      if (places.download) return { kind: 'download', text: `downloads the official archive (${files.megabytes} MB) into ${source} first` };
      return { kind: 'missing', text: `${dataset} is not in ${source} (${files.archive} or ${files.folder}/): name it in was.data.folders, or turn on was.data.download` };
    }
  }
}

/** The warnings to confirm before starting: a run of hours, data that is not there. */
export function choiceWarnings(choice: { model: ModelName; dataset: DatasetName; preset: PresetName; epochs: number }, backend: BackendName, places: DataPlaces): string[] {
  const warnings: string[] = [];
  const epoch = estimateEpoch(choice.model, choice.dataset, choice.preset, backend);
  if (epoch !== null && epoch.seconds * choice.epochs >= LONG_RUN_SECONDS)
    warnings.push(`${choice.epochs} epoch${choice.epochs === 1 ? '' : 's'} of ${choice.model} on ${choice.dataset} take about ${duration(epoch.seconds * choice.epochs)} on wasm (${duration(epoch.seconds)} each, 2 cores): a GPU (Install TensorFlow Backend) or fewer epochs is faster`);
  const data = dataProblem(choice.dataset, places);
  if (data?.kind === 'missing') warnings.push(data.text);
  return warnings;
}
