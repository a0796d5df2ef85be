// The WAS view: what makes a WAS run WAS. Per transformed layer, the kernel AOM applies (alpha * W)
// beside shadow kernels alpha * T(W) drawn from the layer's own transform distribution, on a
// channel the reader picks (the trainer's `was-kernels` event, latest epoch); and the DOM search
// as accuracy against FLOPs, with the shift it chose per layer. The alpha per layer over epochs is
// the alpha chart of the chart grid (its axis starts at zero).

import type { DomSearchEvent, KernelLayer, WasKernelsEvent } from '../../src/shared/protocol';
import { percent } from '../../src/shared/format';
import { DomSearchChart } from '../dom-search-chart';
import { accuracyWithInterval } from '../format';
import { h, setChildren } from '../dom';
import { describeTransform, drawHeatmap, planeText, sharedScale } from '../kernel-heatmap';
import type { ChartTheme } from '../theme';
import type { Scene, View } from './view';

export interface WasView extends View {
  readonly element: HTMLElement;
  readonly domChart: DomSearchChart;
}

const NO_KERNELS = 'No kernel samples: a plain model has no shadow weights, and runs written before WAS Lab recorded them have none.';
const NO_SEARCH = 'No DOM search in this run: train with a FLOPs target (--flops-target, or dom.flopsTarget in the experiment file) to see accuracy against FLOPs.';

export function wasView(): WasView {
  const kernels = h('div', { class: 'kernel-layers', id: 'kernel-layers' });
  const kernelNote = h('p', { class: 'was-note', id: 'kernel-note' });
  const domChart = new DomSearchChart();
  const domNote = h('p', { class: 'was-note', id: 'dom-note' });
  const domTable = h('table', { class: 'dom-table', id: 'dom-table' });
  const domBox = h('div', { class: 'dom-search', id: 'dom-search' }, h('h3', { id: 'dom-chart-title' }, 'DOM search: accuracy against FLOPs'), domNote, domChart.element, h('div', { class: 'table-scroll' }, domTable));
  /** The channel picked per layer (an index into the layer's channels), kept across epochs. */
  const picked = new Map<string, number>();
  const element = h(
    'section',
    { class: 'was-view', 'aria-labelledby': 'was-title' },
    h('h2', { id: 'was-title' }, 'WAS: plain and shadow kernels, DOM search'),
    kernelNote,
    kernels,
    domBox,
  );
  let lastKernels: WasKernelsEvent | null = null;
  let lastTheme: ChartTheme | null = null;
  const renderKernels = (event: WasKernelsEvent | null, theme: ChartTheme): void => {
    lastKernels = event;
    lastTheme = theme;
    kernelNote.textContent = event
      ? `Epoch ${event.epoch}. Left: the kernel AOM applies, alpha · W. Right: shadow kernels alpha · T(W), T drawn from the layer's ${event.family} distribution as in training. Blue is negative, orange positive; the planes of a row share one colour scale.`
      : NO_KERNELS;
    setChildren(kernels, ...(event?.layers ?? []).map((layer) => layerRow(layer, picked, theme, () => lastKernels && lastTheme && renderKernels(lastKernels, lastTheme))));
  };
  return {
    element,
    domChart,
    fullOnly: true,
    deps: ({ active, theme }) => [active, active.kernels, active.domSearches.length, theme],
    render({ active, theme }: Scene): void {
      renderKernels(active.kernels, theme);
      renderSearch(active.domSearches, { domNote, domTable, domChart }, theme, (split) => active.splitSize(split));
    },
  };
}

function layerRow(layer: KernelLayer, picked: Map<string, number>, theme: ChartTheme, rerender: () => void): HTMLElement {
  const index = Math.min(picked.get(layer.layer) ?? 0, layer.channels.length - 1);
  const channel = layer.channels[index];
  const id = `kernel-channel-${layer.layer.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const select = h('select', { id, class: 'kernel-channel' });
  layer.channels.forEach((c, i) => select.append(h('option', { value: String(i), selected: i === index }, `input ${c.in} → output ${c.out}`)));
  select.addEventListener('change', () => {
    picked.set(layer.layer, Number(select.value));
    rerender();
    document.getElementById(id)?.focus();
  });
  const scale = sharedScale([channel.plain, ...channel.shadows.map((s) => s.kernel)]);
  const figure = (caption: string, plane: number[], kind: string) => {
    const canvas = h('canvas', { role: 'img', 'aria-label': `${layer.layer} ${caption}: ${planeText(plane, layer.k)}` });
    drawHeatmap(canvas, plane, layer.k, scale, theme);
    return h('figure', { class: `kernel kernel-${kind}`, 'data-values': JSON.stringify(plane), title: planeText(plane, layer.k) }, canvas, h('figcaption', {}, caption));
  };
  return h(
    'div',
    { class: 'kernel-layer', 'data-layer': layer.layer },
    h('h3', {}, `${layer.layer} `, h('span', { class: 'kernel-meta' }, `${layer.k}x${layer.k} · alpha ${Number(layer.alpha.toPrecision(6))}`)),
    h('div', { class: 'control' }, h('label', { for: id }, 'Channel'), select),
    h(
      'div',
      { class: 'kernel-row' },
      figure('AOM: alpha · W', channel.plain, 'plain'),
      ...channel.shadows.map((s) => figure(describeTransform(s.transform, layer.k), s.kernel, 'shadow')),
      h('p', { class: 'kernel-scale' }, `colour scale: ±${Number(scale.toPrecision(3))}`),
    ),
  );
}

interface SearchParts {
  domNote: HTMLElement;
  domTable: HTMLTableElement;
  domChart: DomSearchChart;
}

function renderSearch(searches: readonly DomSearchEvent[], parts: SearchParts, theme: ChartTheme, sizes: (split: 'validation' | 'test') => number | null): void {
  const last = searches.at(-1);
  parts.domChart.element.hidden = !last;
  parts.domTable.hidden = !last;
  if (!last) {
    parts.domNote.textContent = NO_SEARCH;
    return;
  }
  const split = last.split === 'test' ? 'test split' : 'validation';
  const n = sizes(last.split);
  const testN = sizes('test');
  const test = last.test ? `; on the test set AOM ${accuracyWithInterval(last.test.aom, testN)}, DOM ${accuracyWithInterval(last.test.dom, testN)}` : '';
  parts.domNote.textContent =
    `Target ${percent(last.flopsTarget)} of AOM's FLOPs, ${last.algorithm} search on ${split} (${last.checkpoint} epoch ${last.epoch}, ${last.evaluations} evaluations): ` +
    `DOM ${accuracyWithInterval(last.accuracy.dom, n)} at ${percent(last.flops.dom / last.flops.aom)} of the FLOPs, AOM ${accuracyWithInterval(last.accuracy.aom, n)}${test}. ` +
    'Brackets: 95% Wilson interval and n.';
  parts.domChart.update(searches, theme);
  const head = h('tr', {}, ...['Layer', 'Shift (dy, dx)', 'Kernel taps', 'FLOPs in AOM', 'FLOPs in this DOM'].map((t) => h('th', { scope: 'col' }, t)));
  const rows = last.layers.map((l) =>
    h(
      'tr',
      { 'data-layer': l.layer },
      h('th', { scope: 'row' }, l.layer),
      h('td', {}, `(${l.dy}, ${l.dx})`),
      h('td', {}, `${l.kernel[0]}x${l.kernel[1]}`),
      h('td', {}, l.flops.aom.toLocaleString('en-US')),
      h('td', {}, l.flops.dom.toLocaleString('en-US')),
    ),
  );
  parts.domTable.replaceChildren(h('caption', {}, 'The shift chosen per transformed layer'), h('thead', {}, head), h('tbody', {}, ...rows));
}
