// The run's facts under its progress: the test numbers (and the gain over the --baseline plain
// model), the selected epoch, samples/s, time, backend and model. The current mode leads.

import { backendText, duration, percent } from '../../src/shared/format';
import type { InferenceMode } from '../../src/shared/protocol';
import { h, setChildren } from '../dom';
import { accuracyInterval } from '../../src/shared/accuracy';
import { rate } from '../format';
import type { RunModel } from '../run-model';
import { otherMode } from './toolbar';
import type { Scene, View } from './view';

export interface FactsView extends View {
  readonly element: HTMLElement;
}

export function factsView(): FactsView {
  const dd = (id: string) => h('dd', { id });
  const fields = {
    test: dd('fact-test'),
    best: dd('fact-best'),
    throughput: dd('fact-throughput'),
    time: dd('fact-time'),
    backend: dd('fact-backend'),
    model: dd('fact-model'),
  };
  const labels: [HTMLElement, string][] = [
    [fields.test, 'Test'],
    [fields.best, 'Selected epoch'],
    [fields.throughput, 'Samples/s'],
    [fields.time, 'Time'],
    [fields.backend, 'Backend'],
    [fields.model, 'Model'],
  ];
  const element = h('dl', { class: 'facts' }, ...labels.flatMap(([field, label]) => [h('dt', {}, label), field]));
  return {
    element,
    deps: ({ state, active }) => [active, active.version, state.mode],
    render({ state, active: run }: Scene): void {
      renderTest(fields.test, run, state.mode);
      renderSelected(fields.best, run, state.mode);
      fields.throughput.textContent = rate(run.samplesPerSec());
      const time = run.durationSec();
      fields.time.textContent = time === null ? '—' : run.isLive() ? `${duration(time, '—')} so far` : duration(time, '—');
      fields.backend.textContent = run.start ? backendText(run.start.backend) : '—';
      fields.backend.title = run.start?.backend.reason ?? '';
      fields.model.textContent = run.start
        ? `${run.start.model.name} on ${run.start.dataset.name}, ${run.start.config.was.transform === 'none' ? 'plain (no WAS)' : `WAS ${run.start.config.was.transform}`}`
        : '—';
    },
  };
}

/** "AOM 91.20%" in bold, then " · DOM 90.80%" and a suffix: the mode shown leads. */
function pair(values: Record<InferenceMode, number>, mode: InferenceMode, suffix: string): (Node | string)[] {
  const other = otherMode(mode);
  return [h('strong', { class: 'lead' }, `${mode.toUpperCase()} ${percent(values[mode], '—')}`), ` · ${other.toUpperCase()} ${percent(values[other], '—')}${suffix}`];
}

function renderTest(field: HTMLElement, run: RunModel, mode: InferenceMode): void {
  const test = run.end?.test;
  if (!test) {
    setChildren(field, run.isLive() ? 'after training' : '—');
    return;
  }
  const gain = run.end?.baseline?.gain;
  const gainText = gain ? ` · gain over baseline ${gain[mode] >= 0 ? '+' : ''}${gain[mode].toFixed(2)} pts` : '';
  setChildren(field, ...pair(test, mode, ` (epoch ${test.epoch})`), gainText, intervals(run, test, mode, 'test'));
}

/** The 95% Wilson intervals of a pair of accuracies on a split, and its n: " · 95% intervals: AOM 81.6–92.8%, DOM 83.4–94.0% (n = 128)". */
function intervals(run: RunModel, values: Record<InferenceMode, number>, mode: InferenceMode, split: 'validation' | 'test'): HTMLElement | string {
  const n = run.splitSize(split);
  if (n === null) return '';
  const modes: InferenceMode[] = run.isPlain() ? ['aom'] : [mode, otherMode(mode)];
  const pct = (x: number) => (100 * x).toFixed(1);
  const parts = modes.flatMap((m) => {
    const ci = accuracyInterval(values[m], n);
    return ci ? [`${run.isPlain() ? '' : `${m.toUpperCase()} `}${pct(ci.low)}–${pct(ci.high)}%`] : [];
  });
  if (parts.length === 0) return '';
  return h('span', { class: 'interval' }, ` · 95% interval${parts.length > 1 ? 's' : ''}: ${parts.join(', ')} (n = ${n})`);
}

function renderSelected(field: HTMLElement, run: RunModel, mode: InferenceMode): void {
  const selected = run.selectedEpoch();
  const split = run.selectionSplit() === 'test' ? 'test split' : 'validation';
  const values = { aom: selected?.aomAccuracy ?? Number.NaN, dom: selected?.domAccuracy ?? Number.NaN };
  const ci = intervals(run, values, mode, run.selectionSplit());
  if (selected && run.isPlain()) setChildren(field, `epoch ${selected.epoch}: `, h('strong', { class: 'lead' }, percent(selected.aomAccuracy, '—')), ` on ${split} (plain model)`, ci);
  else if (selected) setChildren(field, `epoch ${selected.epoch}: `, ...pair(values, mode, ` on ${split}`), ci);
  else setChildren(field, '—');
}
