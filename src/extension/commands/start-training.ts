// WAS: Start Training. Either a short quick-pick flow (model, dataset, transform, preset, epochs)
// that starts from the last choices and says what a choice costs (time per epoch, missing data:
// runs/choice-estimates.ts), asking before a run of hours or one whose data is not there, or an experiment file (*.was.json, from the CodeLens, the
// explorer or the picker). The run is queued with the supervisor, followed by the panel, and a
// progress notification (with cancel) stays up until the trainer is really training.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DATASET_NAMES, DEFAULTS, MODEL_NAMES, PRESET_NAMES, PRESETS, TRANSFORM_FAMILIES, type BackendName, type DatasetName, type ModelName, type PresetName } from '../../shared/config';
import { errorMessage } from '../../shared/errors';
import { duration } from '../../shared/format';
import { installedBackends } from '../runs/backend-install';
import { choiceWarnings, dataProblem, defaultDataCacheDir, effectiveBackend, estimateEpoch, type DataPlaces } from '../runs/choice-estimates';
import { filePathOf } from '../lab/command-args';
import { trainingJob } from '../runs/job-specs';
import { showError, type Lab } from '../workbench/lab';
import type { Job, JobSpec } from '../runs/supervisor';
import { launchJob } from '../workbench/launch-job';
import { allowedInWorkspace } from '../workbench/trust';
import { parseExperiment, parseQuickChoices, type ExperimentFile, type QuickChoices } from '../runs/trainer-args';

const LAST_CHOICES_KEY = 'was.lastChoices';

const MODEL_HINTS: Record<(typeof MODEL_NAMES)[number], string> = {
  lenet: 'LeNet-5, 62k parameters on MNIST',
  'small-cnn': 'two convs and a dense layer, 50k parameters on MNIST',
  vgg16: 'VGG-16 with BatchNorm, 14.7M parameters',
  resnet18: 'ResNet-18 (CIFAR variant), 11.2M parameters',
  resnet34: 'ResNet-34 (CIFAR variant), 21.3M parameters',
  mobilenetv2: 'MobileNetV2, 2.3M parameters',
  'efficientnet-lite0': 'EfficientNet-Lite0, 3.4M parameters',
  googlenet: 'GoogLeNet, 6.2M parameters',
};
const DATASET_HINTS: Record<(typeof DATASET_NAMES)[number], string> = {
  mnist: 'bundled, works offline',
  'fashion-mnist': 'IDX files (Debian dataset-fashion-mnist, or was.data.folders)',
  cifar10: 'the official binary archive (was.data.folders, or was.data.download)',
  cifar100: 'the official binary archive (was.data.folders, or was.data.download)',
  synthetic: 'generated, learnable: a smoke test in seconds',
};
const TRANSFORM_HINTS: Record<(typeof TRANSFORM_FAMILIES)[number], string> = {
  shift: 'shadow weights: random kernel shifts',
  crop: 'shadow weights: random kernel crops, stretched back',
  mixed: 'shift or crop, drawn per layer per pass',
  none: 'plain training: the baseline',
};
const PRESET_HINTS: Record<(typeof PRESET_NAMES)[number], string> = {
  sound: 'held-out selection, inference-mode BN, weight decay, cosine LR',
  reference: `the published setting: selection on the test set, ${PRESETS.reference.epochs} epochs`,
};

export async function startTraining(lab: Lab, arg: unknown): Promise<Job | undefined> {
  const file = filePathOf(arg) ?? (typeof arg === 'string' && arg.endsWith('.was.json') ? arg : undefined);
  const source = file !== undefined ? await readExperiment(lab, file) : await pickSource(lab);
  if (!source) return undefined;
  if (!('file' in source)) await remember(lab, source);
  let spec: JobSpec;
  try {
    spec = trainingJob(source, lab.launchContext());
  } catch (error) {
    await showError(lab, `WAS: cannot start training: ${errorMessage(error)}`);
    return undefined;
  }
  return launchJob(lab, spec);
}

async function pickSource(lab: Lab): Promise<QuickChoices | ExperimentFile | undefined> {
  const last = lastChoices(lab);
  const files = await vscode.workspace.findFiles('**/*.was.json', '**/node_modules/**', 50);
  type Item = vscode.QuickPickItem & { choices?: QuickChoices; file?: string; fresh?: true };
  const items: Item[] = [
    ...(last ? [{ label: '$(history) Repeat last', description: describe(last), choices: last }] : []),
    { label: '$(list-selection) Choose model, dataset, transform, preset, epochs', fresh: true },
    ...(files.length > 0 ? [{ label: 'Experiment files', kind: vscode.QuickPickItemKind.Separator }] : []),
    ...files.map((uri) => ({ label: `$(json) ${path.basename(uri.fsPath)}`, description: vscode.workspace.asRelativePath(uri), file: uri.fsPath })),
  ];
  const picked = await vscode.window.showQuickPick(items, { title: 'WAS: Start Training', placeHolder: 'What to train' });
  if (!picked) return undefined;
  if (picked.choices) return (await confirmChoice(guideFor(lab), picked.choices)) ? picked.choices : undefined;
  if (picked.file) return readExperiment(lab, picked.file);
  return chooseStepByStep(last, guideFor(lab));
}

/** What the step-by-step picks say about each choice (estimates for the backend new runs get here). */
interface Guide {
  backend: BackendName;
  places: DataPlaces;
}

function guideFor(lab: Lab): Guide {
  const settings = lab.settings();
  return {
    backend: effectiveBackend(settings.backend, installedBackends(lab.backendsFolder()).some((pkg) => pkg !== 'webgpu')),
    places: { folders: settings.dataFolders, download: settings.download, cacheDir: defaultDataCacheDir(), exists: (f) => fs.existsSync(f) },
  };
}

/** "≈ 21s per epoch (wasm, 2 cores)" for a choice, or what the backend lacks a number for. */
function epochText(guide: Guide, model: ModelName, dataset: DatasetName, preset: PresetName): string {
  return estimateEpoch(model, dataset, preset, guide.backend)?.text ?? `time per epoch not measured on ${guide.backend}`;
}

function datasetDetail(guide: Guide, model: ModelName, dataset: DatasetName, preset: PresetName): string {
  const problem = dataProblem(dataset, guide.places);
  const epoch = `${epochText(guide, model, dataset, preset)} with ${model}`;
  return problem === null ? epoch : `${problem.kind === 'missing' ? '$(warning) ' : ''}${problem.text} · ${epoch}`;
}

/** Before a run of hours or without its data: a modal that says so; true to start. */
async function confirmChoice(guide: Guide, choice: QuickChoices): Promise<boolean> {
  const warnings = choiceWarnings(choice, guide.backend, guide.places);
  if (warnings.length === 0) return true;
  const start = 'Start Anyway';
  const answer = await vscode.window.showWarningMessage(`WAS: ${describe(choice)}`, { modal: true, detail: warnings.join('\n\n') }, start);
  return answer === start;
}

async function chooseStepByStep(last: QuickChoices | null, guide: Guide): Promise<QuickChoices | undefined> {
  const pick = async <T extends string>(step: number, title: string, values: readonly T[], hints: Record<T, string>, current: T | undefined, detail?: (value: T) => string): Promise<T | undefined> => {
    const items = values.map((value) => ({ label: value, description: hints[value], detail: detail?.(value), picked: value === current }));
    // The last choice first, so Enter repeats it.
    items.sort((a, b) => Number(b.picked) - Number(a.picked));
    const picked = await vscode.window.showQuickPick(items, { title: `WAS: Start Training (${step}/5): ${title}` });
    return picked?.label as T | undefined;
  };
  const lastPreset = last?.preset ?? DEFAULTS.preset;
  const model = await pick(1, 'model', MODEL_NAMES, MODEL_HINTS, last?.model, (m) => `${epochText(guide, m, last?.dataset ?? DEFAULTS.data.name, lastPreset)} on ${last?.dataset ?? DEFAULTS.data.name}`);
  if (!model) return undefined;
  const dataset = await pick(2, 'dataset', DATASET_NAMES, DATASET_HINTS, last?.dataset, (d) => datasetDetail(guide, model, d, lastPreset));
  if (!dataset) return undefined;
  const transform = await pick(3, 'WAS transform', TRANSFORM_FAMILIES, TRANSFORM_HINTS, last?.transform ?? DEFAULTS.was.transform);
  if (!transform) return undefined;
  const preset = await pick(4, 'preset', PRESET_NAMES, PRESET_HINTS, lastPreset, (p) => `${PRESETS[p].epochs ?? DEFAULTS.epochs} epochs by default · ${epochText(guide, model, dataset, p)}`);
  if (!preset) return undefined;
  const epochs = await chooseEpochs(guide, { model, dataset, preset }, last);
  if (epochs === undefined) return undefined;
  const choice = { model, dataset, transform, preset, epochs };
  return (await confirmChoice(guide, choice)) ? choice : undefined;
}

/** The epochs, starting from the preset's (said, with what they cost) or the last choice's. */
async function chooseEpochs(guide: Guide, choice: { model: ModelName; dataset: DatasetName; preset: PresetName }, last: QuickChoices | null): Promise<number | undefined> {
  const presetEpochs = PRESETS[choice.preset].epochs ?? DEFAULTS.epochs;
  const epoch = estimateEpoch(choice.model, choice.dataset, choice.preset, guide.backend);
  const cost = (n: number): string => (epoch === null ? `time not measured on ${guide.backend}` : `${epoch.text}: about ${duration(epoch.seconds * n)} for ${n}`);
  const epochsText = await vscode.window.showInputBox({
    title: 'WAS: Start Training (5/5): epochs',
    value: String(last?.preset === choice.preset ? last.epochs : presetEpochs),
    prompt: `Number of epochs: the ${choice.preset} preset uses ${presetEpochs}. ${cost(presetEpochs)}`,
    validateInput: (text) => (/^\s*[1-9]\d*\s*$/.test(text) ? { message: cost(Number(text)), severity: vscode.InputBoxValidationSeverity.Info } : 'a whole number of epochs, 1 or more'),
  });
  return epochsText === undefined ? undefined : Number(epochsText);
}

async function readExperiment(lab: Lab, file: string): Promise<ExperimentFile | undefined> {
  // The file chooses options and paths (data folders, downloads): a workspace's to write, not to start.
  if (!allowedInWorkspace(lab, `training from an experiment file (${path.basename(file)})`)) return undefined;
  // The trainer reads the file from disk: unsaved edits would silently not count.
  const open = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === file);
  if (open?.isDirty) await open.save();
  try {
    return parseExperiment(file, await fs.promises.readFile(file, 'utf8'));
  } catch (error) {
    await showError(lab, `WAS: no run started: ${errorMessage(error)}`);
    return undefined;
  }
}

function lastChoices(lab: Lab): QuickChoices | null {
  return parseQuickChoices(lab.context.workspaceState.get(LAST_CHOICES_KEY)) ?? parseQuickChoices(lab.context.globalState.get(LAST_CHOICES_KEY));
}

async function remember(lab: Lab, choices: QuickChoices): Promise<void> {
  await lab.context.workspaceState.update(LAST_CHOICES_KEY, choices);
  await lab.context.globalState.update(LAST_CHOICES_KEY, choices);
}

function describe(c: QuickChoices): string {
  return `${c.model} · ${c.dataset} · ${c.transform} · ${c.preset} · ${c.epochs} epoch${c.epochs === 1 ? '' : 's'}`;
}
