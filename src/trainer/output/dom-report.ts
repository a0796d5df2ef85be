// Readable forms of a DOM search: one line for logs, rows for summary tables.

import type { DomLayerChoice, DomSearchEvent, FlopsSummary } from '../../shared/protocol';

export function flopsText(flops: number, aom: number): string {
  return `${flops.toLocaleString('en-US')} (${((100 * flops) / aom).toFixed(1)}% of AOM)`;
}

function accuracy(x: number | null | undefined): string {
  return x === null || x === undefined ? '-' : `${(100 * x).toFixed(2)}%`;
}

/** "conv2 (1,0) 2x3, layer2.0.conv1 identity 3x3" */
export function layersText(layers: readonly DomLayerChoice[]): string {
  return layers
    .map((l) => `${l.layer} ${l.dy === 0 && l.dx === 0 ? 'identity' : `shift (${l.dy},${l.dx})`} ${l.kernel[0]}x${l.kernel[1]}`)
    .join(', ');
}

export function domSearchLine(e: DomSearchEvent): string {
  return (
    `DOM for ${(100 * e.flopsTarget).toFixed(1)}% FLOPs (${e.checkpoint} epoch ${e.epoch}): ${flopsText(e.flops.dom, e.flops.aom)} FLOPs, ` +
    `${e.split} ${accuracy(e.accuracy.dom)} (AOM ${accuracy(e.accuracy.aom)}), test ${accuracy(e.test?.dom)}; ` +
    `${e.algorithm} search, ${e.evaluations} evaluations in ${e.durationSec.toFixed(1)}s; ${layersText(e.layers)}`
  );
}

export function domSearchRows(e: DomSearchEvent): [string, string][] {
  return [
    ['weights', `${e.checkpoint} checkpoint, epoch ${e.epoch}`],
    ['FLOPs target', `${(100 * e.flopsTarget).toFixed(1)}% of AOM (budget ${e.flops.budget.toLocaleString('en-US')})`],
    ['FLOPs AOM', e.flops.aom.toLocaleString('en-US')],
    ['FLOPs DOM', flopsText(e.flops.dom, e.flops.aom)],
    [`${e.split} accuracy AOM / DOM`, `${accuracy(e.accuracy.aom)} / ${accuracy(e.accuracy.dom)}`],
    [`${e.split} stochastic DOM`, accuracy(e.accuracy.stochasticDom)],
    ['test accuracy AOM / DOM', e.test ? `${accuracy(e.test.aom)} / ${accuracy(e.test.dom)}` : '-'],
    ['search', `${e.algorithm}, ${e.evaluations} evaluations, ${e.durationSec.toFixed(1)}s`],
    ['transforms', layersText(e.layers)],
  ];
}

/** Rows for a run's summary table. */
export function flopsRows(flops: FlopsSummary | undefined): [string, string][] {
  if (!flops) return [];
  const rows: [string, string][] = [['FLOPs AOM', flops.aom.toLocaleString('en-US')]];
  if (flops.dom)
    rows.push(
      [`FLOPs DOM (target ${(100 * flops.dom.target).toFixed(1)}%)`, flopsText(flops.dom.flops, flops.aom)],
      ['test accuracy DOM (fixed)', accuracy(flops.dom.test)],
      ['DOM transforms', layersText(flops.dom.layers)],
    );
  return rows;
}

export function table(rows: readonly [string, string][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}
