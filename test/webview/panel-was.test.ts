// The metrics panel tells the WAS story and its charts can be trusted (issue 15, points 1 and 2),
// in a real headless Chromium under the page's CSP, fed the event streams of real trainer runs
// (test/fixtures/webview, regenerated with a DOM search): the WAS view draws the run's kernel
// samples and DOM search, every chart has axis titles, validation loss is charted, the HTML legend
// toggles a series from the keyboard, zoom and pan work and say so, and the test set is shown per
// class with its confusion matrices. Every test fails on a console error or a CSP violation.

import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import type { HostMessage } from '../../src/shared/panel-protocol';
import type { DomSearchEvent, EpochEvent, TestConfusionEvent, TrainerEvent, WasKernelsEvent } from '../../src/shared/protocol';
import { PANEL_TEST_HOOK, type TestDomChartInfo } from '../../webview/test-hook';
import { launchChromium } from '../support/chromium';
import { PanelPage, ROOT, fixtureEvents, run, snapshot } from './harness';

const WAS = fixtureEvents('was-shift-baseline');
const CROP = fixtureEvents('was-crop');
const PLAIN = fixtureEvents('baseline');

const ofType = <T extends TrainerEvent['type']>(events: TrainerEvent[], type: T) => events.filter((e): e is Extract<TrainerEvent, { type: T }> => e.type === type);
const lastKernels = (events: TrainerEvent[]): WasKernelsEvent => ofType(events, 'was-kernels').at(-1)!;

let browser: Browser;
const screenshots: string[] = [];

before(async () => {
  assert.ok(fs.existsSync(path.join(ROOT, 'dist/webview.js')), 'dist/webview.js is missing: run npm run build');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

async function open(t: TestContext, host: () => HostMessage | null): Promise<PanelPage> {
  const panel = await PanelPage.open(browser, { snapshot: host });
  t.after(async () => {
    const problems = panel.problems();
    await panel.close();
    assert.deepEqual(problems, [], 'no console errors, CSP violations or refused messages');
  });
  return panel;
}

/** The values each figure of a layer's row draws (its data-values), plain first. */
const figureValues = async (panel: PanelPage, layer: string): Promise<number[][]> =>
  (await panel.page.locator(`.kernel-layer[data-layer="${layer}"] figure`).evaluateAll((figures) => figures.map((f) => f.getAttribute('data-values') ?? 'null'))).map((v) => JSON.parse(v) as number[]);

test('the WAS view draws a real run: its layers, the kernel beside its shadow kernels, a channel picked, the DOM search', async (t) => {
  const panel = await open(t, () => snapshot([run('was-shift-baseline', WAS)]));
  const kernels = lastKernels(WAS);
  assert.equal(kernels.epoch, 3, 'the latest epoch is shown');
  assert.deepEqual(await panel.page.locator('.kernel-layer').evaluateAll((l) => l.map((e) => e.getAttribute('data-layer'))), kernels.layers.map((l) => l.layer));
  const layer = kernels.layers[0];
  const first = layer.channels[0];
  assert.deepEqual(await figureValues(panel, layer.layer), [first.plain, ...first.shadows.map((s) => s.kernel)], 'alpha * W, then alpha * T(W) for each drawn T');
  const captions = await panel.page.locator(`.kernel-layer[data-layer="${layer.layer}"] figcaption`).allTextContents();
  assert.equal(captions[0], 'AOM: alpha · W');
  first.shadows.forEach((s, i) => {
    assert.equal(s.transform.kind, 'shift');
    if (s.transform.kind === 'shift') assert.ok(captions[i + 1].startsWith(`shift (${s.transform.dy}, ${s.transform.dx})`), captions[i + 1]);
  });
  assert.match(await panel.text(`.kernel-layer[data-layer="${layer.layer}"] h3`), new RegExp(`alpha ${Number(layer.alpha.toPrecision(6))}`));

  // The heatmap is drawn: the most negative tap is blue-ish, the most positive orange-ish.
  const pixel = async (index: number): Promise<number[]> =>
    (await panel.page.evaluate(`(() => {
      const canvas = document.querySelector('.kernel-layer[data-layer="${layer.layer}"] .kernel-plain canvas');
      const k = ${layer.k};
      const tap = canvas.width / k;
      return Array.from(canvas.getContext('2d').getImageData(Math.floor((${index} % k) * tap + tap / 2), Math.floor(Math.floor(${index} / k) * tap + tap / 2), 1, 1).data);
    })()`)) as number[];
  const lowest = first.plain.indexOf(Math.min(...first.plain));
  const highest = first.plain.indexOf(Math.max(...first.plain));
  const [blue, orange] = [await pixel(lowest), await pixel(highest)];
  assert.ok(blue[2] > blue[0], `negative tap is blue: ${blue}`);
  assert.ok(orange[0] > orange[2], `positive tap is orange: ${orange}`);

  // Another channel, picked from the keyboard.
  await panel.page.focus(`#kernel-channel-${layer.layer}`);
  await panel.page.keyboard.press('ArrowDown');
  await panel.settle();
  const second = layer.channels[1];
  assert.deepEqual(await figureValues(panel, layer.layer), [second.plain, ...second.shadows.map((s) => s.kernel)]);

  // The DOM search: accuracy against FLOPs, the path from AOM, the chosen shift per layer.
  const search = ofType(WAS, 'dom-search').at(-1)! as DomSearchEvent;
  const dom = (await panel.page.evaluate(`globalThis.${PANEL_TEST_HOOK}.domChart()`)) as TestDomChartInfo;
  const pathSeries = dom.series.find((s) => s.kind === 'path')!;
  assert.deepEqual(pathSeries.points, [{ x: 100, y: search.accuracy.aom }, ...search.path!.map((p) => ({ x: (100 * p.flops) / search.flops.aom, y: p.accuracy }))]);
  assert.deepEqual(dom.series.find((s) => s.kind === 'chosen')!.points, [{ x: (100 * search.flops.dom) / search.flops.aom, y: search.accuracy.dom }]);
  assert.match(dom.xTitle, /^FLOPs per image \(% of AOM's [\d,]+ multiply-adds\)$/);
  assert.match(dom.yTitle, /accuracy on validation \(%\)/);
  const rows = await panel.page.locator('#dom-table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
  assert.deepEqual(rows, search.layers.map((l) => [l.layer, `(${l.dy}, ${l.dx})`, `${l.kernel[0]}x${l.kernel[1]}`, l.flops.aom.toLocaleString('en-US'), l.flops.dom.toLocaleString('en-US')]));

  // The alpha per layer over epochs: an honest axis from zero.
  const alpha = await panel.chart('alpha');
  assert.equal(alpha.yRange![0], 0, 'the alpha axis starts at zero');
  assert.deepEqual(alpha.series[0].drawnY, ofType(WAS, 'epoch').map((e) => e.alphas.conv2));
  screenshots.push(await panel.screenshot('was-view-dark.png'));
  await panel.setTheme('light');
  screenshots.push(await panel.screenshot('was-view-light.png'));
});

test('every chart has axis titles with units; validation loss is charted beside the train loss', async (t) => {
  const panel = await open(t, () => snapshot([run('was-shift-baseline', WAS)]));
  const charts = await panel.charts();
  assert.deepEqual(charts.map((c) => c.id), ['loss', 'accuracy', 'lr', 'throughput', 'alpha']);
  for (const chart of charts) {
    assert.equal(chart.xTitle, 'epoch', `${chart.id}: x title`);
    assert.ok(chart.yTitle.length > 5, `${chart.id}: y title "${chart.yTitle}"`);
  }
  assert.equal(charts.find((c) => c.id === 'loss')!.yTitle, 'cross-entropy (nats)');
  assert.equal(charts.find((c) => c.id === 'accuracy')!.yTitle, 'top-1 accuracy (%)');
  const loss = charts.find((c) => c.id === 'loss')!;
  const epochs = ofType(WAS, 'epoch') as EpochEvent[];
  assert.deepEqual(loss.series.find((s) => s.label === 'AOM val loss')!.drawnY, epochs.map((e) => e.aomLoss));
  assert.deepEqual(loss.series.find((s) => s.label === 'DOM val loss')!.drawnY, epochs.map((e) => e.domLoss));
  // Throughput is not in the chart grid's main slots: folded below it.
  assert.ok(!(await panel.page.locator('.chart-throughput').isVisible()));
  await panel.page.click('.more-charts > summary');
  assert.ok(await panel.page.locator('.chart-throughput').isVisible());
});

test('the HTML legend groups by run and toggles a series from the keyboard', async (t) => {
  const panel = await open(t, () => snapshot([run('was-shift-baseline', WAS), run('was-crop', CROP)], { compare: ['was-crop'] }));
  const legend = panel.page.locator('.chart-accuracy .chart-legend');
  assert.deepEqual(await legend.locator('.legend-run').allTextContents(), ['was-shift-baseline', 'was-crop'], 'one row per run: the colour is the run');
  assert.deepEqual(await legend.locator('.legend-row').nth(1).locator('.legend-item').allTextContents(), ['train', 'AOM val', 'DOM val'], 'the dash is the metric');
  const button = legend.locator('[data-key="was-crop|AOM val"]');
  await button.focus();
  await panel.page.keyboard.press('Space');
  await panel.settle();
  const series = async () => (await panel.chart('accuracy')).series.find((s) => s.key === 'was-crop|AOM val')!;
  assert.equal((await series()).hidden, true, 'Space hides it');
  assert.equal(await button.getAttribute('aria-pressed'), 'false');
  assert.equal(await panel.page.evaluate('document.activeElement.dataset.key'), 'was-crop|AOM val', 'focus stays on the toggle');
  await panel.page.keyboard.press('Enter');
  await panel.settle();
  assert.equal((await series()).hidden, false, 'Enter shows it again');
  assert.equal(await button.getAttribute('aria-pressed'), 'true');
});

test('zoom and pan: buttons and Ctrl+wheel zoom, the note names the ranges, Reset zoom comes back; live data keeps the zoom', async (t) => {
  const half = WAS.indexOf(ofType(WAS, 'epoch')[1]);
  const panel = await open(t, () => snapshot([run('live', WAS.slice(0, half + 1), 'running')]));
  const card = panel.page.locator('.chart-accuracy');
  assert.equal((await panel.chart('accuracy')).zoomed, false);
  await card.locator('[data-zoom="accuracy"]').first().click();
  await panel.settle();
  let accuracy = await panel.chart('accuracy');
  assert.equal(accuracy.zoomed, true);
  assert.match(accuracy.axisNote, /^Zoomed: x [\d.]+–[\d.]+, y [\d.]+%–[\d.]+%$/);
  assert.ok(await card.locator('.reset-zoom').isVisible());
  await panel.send({ type: 'events', runId: 'live', events: WAS.slice(half + 1, half + 4) });
  assert.equal((await panel.chart('accuracy')).zoomed, true, 'new events do not undo the zoom');
  await card.locator('.reset-zoom').click();
  await panel.settle();
  accuracy = await panel.chart('accuracy');
  assert.equal(accuracy.zoomed, false);
  assert.ok(!(await card.locator('.reset-zoom').isVisible()));

  const box = (await card.locator('canvas').boundingBox())!;
  await panel.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await panel.page.keyboard.down('Control');
  await panel.page.mouse.wheel(0, -300);
  await panel.page.keyboard.up('Control');
  await panel.settle();
  assert.equal((await panel.chart('accuracy')).zoomed, true, 'Ctrl+wheel zooms');
});

test('after test: per-class accuracy and the AOM and DOM confusion matrices; a plain run has one', async (t) => {
  const panel = await open(t, () => snapshot([run('was-shift-baseline', WAS)]));
  const confusion = ofType(WAS, 'test-confusion')[0] as TestConfusionEvent;
  const end = ofType(WAS, 'run-end').at(-1)!;
  // The matrices are of the very pass that measured the run's test accuracy.
  const diagonal = (m: number[][]) => m.reduce((sum, row, i) => sum + row[i], 0);
  assert.equal(diagonal(confusion.aom) / 128, end.test!.aom);
  assert.equal(diagonal(confusion.dom!) / 128, end.test!.dom);

  const rows = await panel.page.locator('#per-class tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
  assert.equal(rows.length, confusion.classes);
  rows.forEach((row, c) => {
    const n = confusion.aom[c].reduce((a, b) => a + b, 0);
    assert.equal(row[1], String(n));
    assert.equal(row[2], `${((100 * confusion.aom[c][c]) / n).toFixed(2)}%`);
    assert.equal(row[3], `${((100 * confusion.dom![c][c]) / n).toFixed(2)}%`);
  });
  const cells = await panel.page.locator('table.confusion[data-mode="DOM"] tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((c) => Number(c.textContent))));
  assert.deepEqual(cells, confusion.dom);
  assert.match(await panel.text('#test-evaluation .was-note'), /AOM [\d.]+% \(\d+ of 128; 95% interval [\d.]+%–[\d.]+%\) · DOM/);

  await panel.send(snapshot([run('baseline', PLAIN)]));
  assert.equal(await panel.page.locator('table.confusion').count(), 1, 'a plain model has one matrix');
  assert.match(await panel.text('#kernel-note'), /^No kernel samples/);
  assert.match(await panel.text('#dom-note'), /^No DOM search/);
});

test('a run written before these events still reads: no kernels, no search, no validation loss, no confusion', async (t) => {
  const old = WAS.flatMap((e): TrainerEvent[] => {
    if (e.type === 'was-kernels' || e.type === 'test-confusion') return [];
    if (e.type === 'dom-search') return [{ ...e, path: undefined }];
    if (e.type === 'epoch') {
      const { aomLoss: _a, domLoss: _d, ...rest } = e;
      return [rest];
    }
    return [e];
  });
  const panel = await open(t, () => snapshot([run('old', old)]));
  assert.match(await panel.text('#kernel-note'), /^No kernel samples/);
  assert.equal((await panel.chart('loss')).series.filter((s) => s.label.includes('val loss')).length, 0);
  assert.ok(!(await panel.page.locator('#test-evaluation').isVisible()));
  const dom = (await panel.page.evaluate(`globalThis.${PANEL_TEST_HOOK}.domChart()`)) as TestDomChartInfo;
  assert.equal(dom.series.find((s) => s.kind === 'path')!.points.length, 2, 'a search without its path: AOM and the chosen DOM');
  t.diagnostic(`screenshots: ${screenshots.join(', ')}`);
});
