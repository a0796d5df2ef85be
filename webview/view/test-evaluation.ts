// After the test phase: per-class accuracy in AOM and DOM (with each class's n and the difference)
// and the two confusion matrices (row = true class, column = predicted), from the trainer's
// `test-confusion` event. Matrices are shown up to 20 classes; beyond, the per-class table alone.

import { matrixAccuracy, perClassAccuracy, wilsonInterval } from '../../src/shared/accuracy';
import { percent } from '../../src/shared/format';
import type { TestConfusionEvent } from '../../src/shared/protocol';
import { h, setChildren } from '../dom';
import { readableText, withAlpha, type ChartTheme } from '../theme';
import type { Scene, View } from './view';

export interface TestEvaluationView extends View {
  readonly element: HTMLElement;
}

const MATRIX_LIMIT = 20;

export function testEvaluationView(): TestEvaluationView {
  const body = h('div', { class: 'test-evaluation-body' });
  const element = h('section', { class: 'test-evaluation', id: 'test-evaluation', 'aria-labelledby': 'test-evaluation-title' }, h('h2', { id: 'test-evaluation-title' }, 'Test set: per class'), body);
  return {
    element,
    fullOnly: true,
    deps: ({ active, theme }) => [active, active.confusion, theme],
    render({ active, theme }: Scene): void {
      const confusion = active.confusion;
      element.hidden = confusion === null;
      if (confusion) setChildren(body, summary(confusion), perClassTable(confusion), ...matrices(confusion, theme));
    },
  };
}

function summary(e: TestConfusionEvent): HTMLElement {
  const line = (name: string, m: number[][]) => {
    const { correct, n, accuracy } = matrixAccuracy(m);
    const ci = wilsonInterval(correct, n);
    return `${name} ${percent(accuracy)} (${correct} of ${n}; 95% interval ${percent(ci.low)}–${percent(ci.high)})`;
  };
  // The stochastic DOM's matrix is its first test draw's; the run's DOM test number is the mean over its draws.
  return h('p', { class: 'was-note' }, `Epoch ${e.epoch}: ${line('AOM', e.aom)}${e.dom ? ` · ${line('DOM (first test draw)', e.dom)}` : ''}.`);
}

function perClassTable(e: TestConfusionEvent): HTMLElement {
  const aom = perClassAccuracy(e.aom);
  const dom = e.dom ? perClassAccuracy(e.dom) : null;
  const heads = ['Class', 'n', dom ? 'AOM' : 'Accuracy', ...(dom ? ['DOM', 'DOM − AOM'] : [])];
  const rows = aom.map((a, c) => {
    const d = dom?.[c];
    const diff = d ? 100 * (d.accuracy - a.accuracy) : Number.NaN;
    return h(
      'tr',
      { 'data-class': String(c) },
      h('th', { scope: 'row' }, String(c)),
      h('td', {}, String(a.n)),
      h('td', {}, percent(a.accuracy, '—')),
      ...(d ? [h('td', {}, percent(d.accuracy, '—')), h('td', { class: diff < 0 ? 'worse' : undefined }, Number.isFinite(diff) ? `${diff >= 0 ? '+' : ''}${diff.toFixed(1)} pts` : '—')] : []),
    );
  });
  return h(
    'div',
    { class: 'table-scroll' },
    h('table', { class: 'per-class', id: 'per-class' }, h('caption', {}, 'Accuracy per true class'), h('thead', {}, h('tr', {}, ...heads.map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, ...rows)),
  );
}

function matrices(e: TestConfusionEvent, theme: ChartTheme): HTMLElement[] {
  if (e.classes > MATRIX_LIMIT) return [h('p', { class: 'was-note' }, `The confusion matrices of ${e.classes} classes are not drawn (up to ${MATRIX_LIMIT}); they are in metrics.jsonl (test-confusion).`)];
  const out = [matrixTable(e.dom ? 'AOM' : 'Plain model', e.aom, theme, 'green')];
  if (e.dom) out.push(matrixTable('DOM', e.dom, theme, 'purple'));
  return [h('div', { class: 'confusion-pair' }, ...out)];
}

function matrixTable(name: string, m: number[][], theme: ChartTheme, color: 'green' | 'purple'): HTMLElement {
  const max = Math.max(1, ...m.flat());
  const bodyText = getComputedStyle(document.body).color;
  const head = h('tr', {}, h('th', { scope: 'col' }, 'true \\ predicted'), ...m.map((_, c) => h('th', { scope: 'col' }, String(c))));
  const rows = m.map((row, r) =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, String(r)),
      ...row.map((x, c) => {
        const cell = h('td', { class: r === c ? 'diagonal' : x > 0 ? 'error' : undefined }, String(x));
        // CSSOM, not a style attribute: the CSP allows it. The text keeps 4.5:1 on its shade.
        if (x > 0) {
          const fill = r === c ? theme.colors[color] : theme.colors.red;
          const alpha = Number((0.15 + (0.6 * x) / max).toFixed(3));
          cell.style.backgroundColor = withAlpha(fill, alpha);
          const text = readableText(fill, alpha, theme.background, bodyText);
          if (text) cell.style.color = text;
        }
        return cell;
      }),
    ),
  );
  return h(
    'div',
    { class: 'table-scroll' },
    h('table', { class: 'confusion', 'data-mode': name }, h('caption', {}, `${name} confusion matrix (rows: true class, columns: predicted)`), h('thead', {}, head), h('tbody', {}, ...rows)),
  );
}
