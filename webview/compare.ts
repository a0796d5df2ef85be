// The compare table: the runs' configs and best numbers side by side. Config rows whose values
// differ are flagged, and each cell that differs from the first run (the active one); in result
// rows the best value is flagged. Pure: the view turns rows into a table.

import type { InferenceMode } from '../src/shared/protocol';
import { learningRateFor, type TrainConfig } from '../src/shared/config';
import { duration } from '../src/shared/format';
import { accuracyWithInterval, metric, rate } from './format';
import type { RunModel } from './run-model';

export interface CompareCell {
  text: string;
  /** Differs from the first run's value (config rows). */
  diff: boolean;
  /** The best value of its row (result rows). */
  best: boolean;
}

export interface CompareRow {
  key: string;
  label: string;
  group: 'config' | 'result';
  cells: CompareCell[];
  /** Not all runs share this value. */
  differs: boolean;
}

interface ConfigField {
  key: string;
  label: string;
  value: (run: RunModel, config: TrainConfig) => string;
}

const CONFIG_FIELDS: ConfigField[] = [
  { key: 'model', label: 'Model', value: (_r, c) => c.model },
  { key: 'dataset', label: 'Dataset', value: (r, c) => (c.data.name === 'cifar100' ? `${c.data.name} (${c.data.cifar100Labels})` : r.start?.dataset.name ?? c.data.name) },
  { key: 'split', label: 'Train / val / test', value: (r) => (r.start ? `${r.start.dataset.train} / ${r.start.dataset.validation} / ${r.start.dataset.test}` : '—') },
  { key: 'preset', label: 'Preset', value: (_r, c) => c.preset },
  { key: 'transform', label: 'WAS transform', value: (_r, c) => c.was.transform },
  { key: 'layers', label: 'Transformed layers', value: (r) => layers(r.start?.model.shadowLayers ?? []) },
  { key: 'translate', label: 'Translate', value: (_r, c) => (c.was.transform === 'shift' || c.was.transform === 'mixed' ? String(c.was.translate) : '—') },
  {
    key: 'crop',
    label: 'Crop scale / ratio',
    value: (_r, c) =>
      c.was.transform === 'crop' || c.was.transform === 'mixed'
        ? `${c.was.cropScale ? c.was.cropScale.join('–') : 'model default'} / ${c.was.cropRatio.map((v) => metric(v)).join('–')}`
        : '—',
  },
  { key: 'optimizer', label: 'Optimizer', value: (_r, c) => (c.optimizer.name === 'sgd' ? `sgd, momentum ${c.optimizer.momentum}` : 'adam') },
  { key: 'lr', label: 'Learning rate', value: (_r, c) => metric(learningRateFor(c)) },
  { key: 'weightDecay', label: 'Weight decay', value: (_r, c) => metric(c.optimizer.weightDecay) },
  { key: 'schedule', label: 'Schedule', value: (_r, c) => c.schedule.name },
  { key: 'epochs', label: 'Epochs', value: (_r, c) => String(c.epochs) },
  { key: 'batchSize', label: 'Batch size', value: (_r, c) => String(c.batchSize) },
  { key: 'bnEval', label: 'BatchNorm at eval', value: (_r, c) => c.bn.eval },
  { key: 'selectOn', label: 'Selection split', value: (_r, c) => c.selectOn },
  { key: 'seed', label: 'Seed', value: (r) => (r.start ? String(r.start.seed) : '—') },
  { key: 'backend', label: 'Backend', value: (r) => r.start?.backend.name ?? '—' },
  { key: 'parameters', label: 'Parameters', value: (r) => (r.start ? r.start.model.parameters.toLocaleString('en-US') : '—') },
];

interface ResultField {
  key: string;
  label: string;
  value: (run: RunModel) => number | null;
  text: (value: number | null, run: RunModel) => string;
  better: 'higher' | 'lower' | null;
}

function resultFields(mode: InferenceMode): ResultField[] {
  const val = (m: InferenceMode): ResultField => ({
    key: `best-${m}`,
    label: `Best ${m.toUpperCase()} val`,
    value: (r) => {
      const b = r.best(m);
      return b ? (m === 'aom' ? b.aomAccuracy : b.domAccuracy) : null;
    },
    text: (v, r) => (v === null ? '—' : `${accuracyWithInterval(v, r.splitSize(r.selectionSplit()))} (epoch ${r.best(m)?.epoch})`),
    better: 'higher',
  });
  const test = (m: InferenceMode): ResultField => ({
    key: `test-${m}`,
    label: `Test ${m.toUpperCase()}`,
    value: (r) => (r.end?.test ? r.end.test[m] : null),
    text: (v, r) => accuracyWithInterval(v, r.splitSize('test')),
    better: 'higher',
  });
  const other: InferenceMode = mode === 'aom' ? 'dom' : 'aom';
  return [
    { key: 'status', label: 'Status', value: () => null, text: (_v, r) => r.effectiveStatus(), better: null },
    { key: 'epochsDone', label: 'Epochs done', value: (r) => r.epochs.length, text: (v) => String(v ?? 0), better: null },
    test(mode),
    test(other),
    val(mode),
    val(other),
    { key: 'selected', label: 'Selected epoch', value: (r) => r.selectedEpoch()?.epoch ?? null, text: (v) => (v === null ? '—' : String(v)), better: null },
    { key: 'baseline', label: 'Baseline test', value: (r) => baselineTest(r), text: (v, r) => accuracyWithInterval(v, r.splitSize('test')), better: 'higher' },
    { key: 'gain', label: `WAS gain (${mode.toUpperCase()}, points)`, value: (r) => r.end?.baseline?.gain?.[mode] ?? null, text: (v) => (v === null ? '—' : `${v >= 0 ? '+' : ''}${v.toFixed(2)}`), better: 'higher' },
    { key: 'throughput', label: 'Samples/s', value: (r) => r.samplesPerSec(), text: (v) => rate(v), better: 'higher' },
    { key: 'duration', label: 'Duration', value: (r) => r.durationSec(), text: (v) => duration(v, '—'), better: null },
  ];
}

function baselineTest(run: RunModel): number | null {
  const fromEnd = run.end?.baseline?.test?.accuracy;
  if (fromEnd !== undefined) return fromEnd;
  return run.baseline?.end?.test?.aom ?? null;
}

function layers(names: string[]): string {
  if (names.length === 0) return 'none';
  const shown = names.slice(0, 4).join(', ');
  return names.length > 4 ? `${names.length}: ${shown}, …` : shown;
}

export function compareRows(runs: readonly RunModel[], mode: InferenceMode): CompareRow[] {
  const rows: CompareRow[] = [];
  for (const field of CONFIG_FIELDS) {
    const texts = runs.map((r) => (r.start ? field.value(r, r.start.config) : '—'));
    const differs = new Set(texts).size > 1;
    rows.push({
      key: field.key,
      label: field.label,
      group: 'config',
      differs,
      cells: texts.map((text) => ({ text, diff: differs && text !== texts[0], best: false })),
    });
  }
  for (const field of resultFields(mode)) {
    // Rows with no value for any run (no baseline anywhere, say) are left out.
    const values = runs.map((r) => field.value(r));
    const texts = runs.map((r, i) => field.text(values[i], r));
    if (field.better !== null && values.every((v) => v === null)) continue;
    const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
    const target = finite.length < 2 || field.better === null ? null : field.better === 'higher' ? Math.max(...finite) : Math.min(...finite);
    const differs = new Set(texts).size > 1;
    rows.push({
      key: field.key,
      label: field.label,
      group: 'result',
      differs,
      cells: texts.map((text, i) => ({ text, diff: false, best: target !== null && values[i] === target && differs })),
    });
  }
  return rows;
}
