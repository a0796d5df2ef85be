// The study page in a real headless Chromium: the built page (dist/study.js from `npm run build`,
// media/study.css, HTML from renderPanelHtml under its real CSP), fed a study.json written the way
// `was-train study` writes it (test/support/study-fixture.ts), driven by clicks and typing. The test
// plays the extension host as harness.ts does for the metrics page: it answers `ready` with the
// study, posts new study.json contents, and runs every message the page posts through the host's
// parser. Every test fails on a console error, a CSP violation or a refused message.

import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { parseStudyResults } from '../../src/shared/study';
import { launchChromium } from '../support/chromium';
import { studyJson, type FixtureOptions } from '../support/study-fixture';
import { ARTIFACTS, ROOT } from './harness';
import { StudyPage, studyMessage } from './study-harness';

const GRID: FixtureOptions = {
  cells: [
    { settings: { model: 'lenet', 'was.transform': 'shift' }, gain: 0.6, plain: 0.962 },
    { settings: { model: 'lenet', 'was.transform': 'crop' }, gain: -0.3, plain: 0.962 },
    { settings: { model: 'small-cnn', 'was.transform': 'shift' }, gain: 1.4, plain: 0.951 },
    { settings: { model: 'small-cnn', 'was.transform': 'crop' }, gain: 0.2, plain: 0.951 },
  ],
  seeds: [1, 2, 3],
};

let browser: Browser;

before(async () => {
  assert.ok(fs.existsSync(path.join(ROOT, 'dist/study.js')), 'dist/study.js is missing: run npm run build');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

async function openStudy(t: TestContext, json: Record<string, unknown>): Promise<StudyPage> {
  const page = await StudyPage.open(browser, t, () => studyMessage(json));
  t.after(() => assert.deepEqual(page.problems, [], 'no console errors, CSP violations or refused messages'));
  return page;
}

test('the table fills from study.json: one row per cell, its settings, n, accuracies, gains with their t intervals, p', async (t) => {
  const json = studyJson(GRID);
  const results = parseStudyResults(json);
  const page = await openStudy(t, json);
  assert.deepEqual(await page.rows(), ['c1', 'c2', 'c3', 'c4']);
  const row = (id: string, column: string) => page.page.locator(`tr[data-cell="${id}"] td[data-column="${column}"]`).textContent();
  assert.equal(await row('c3', 'settings'), 'model=small-cnn, was.transform=shift');
  assert.equal(await row('c3', 'n'), '3');
  const c3 = results.cells[2];
  assert.equal(await row('c3', 'aom'), `${(100 * c3.aom!.mean).toFixed(2)}% ± ${(100 * c3.aom!.std).toFixed(2)}`);
  assert.equal(await row('c3', 'baseline'), `${(100 * c3.baseline!.mean).toFixed(2)}% ± ${(100 * c3.baseline!.std).toFixed(2)}`);
  const [low, high] = c3.gain.dom!.tInterval;
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
  assert.equal(await row('c3', 'gainDom'), `${signed(c3.gain.dom!.mean)} points [${signed(low)}, ${signed(high)}]`);
  assert.equal(await row('c3', 'pAom'), c3.gain.aom!.pValue < 0.001 ? '<0.001' : c3.gain.aom!.pValue.toFixed(3));
  assert.match(await page.page.locator('.study-summary').textContent() ?? '', /completed · 12\/12 runs ended · 4 cells/);
  // The page keeps the study's name in its state: the host's serializer reopens it after a reload.
  assert.equal(((await page.page.evaluate("JSON.parse(sessionStorage.getItem('was-lab-stand-in-state'))")) as { study: string }).study, 'tiny-grid');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.page.screenshot({ path: path.join(ARTIFACTS, 'study-page.png'), fullPage: true });
});

test('a header click sorts the rows by that column (a number: largest first, then smallest); the filter keeps the matching cells; the chart follows the table', async (t) => {
  const json = studyJson(GRID);
  const results = parseStudyResults(json);
  const page = await openStudy(t, json);
  const byGain = [...results.cells].sort((a, b) => a.gain.aom!.mean - b.gain.aom!.mean).map((c) => c.id);
  await page.page.click('th button[data-column="gainAom"]');
  assert.deepEqual(await page.rows(), [...byGain].reverse());
  assert.equal(await page.page.locator('th[aria-sort="descending"] button').getAttribute('data-column'), 'gainAom');
  await page.page.click('th button[data-column="gainAom"]');
  assert.deepEqual(await page.rows(), byGain);
  assert.equal(await page.page.locator('th[aria-sort="ascending"] button').getAttribute('data-column'), 'gainAom');
  // The DOM rows follow the model's order.
  assert.deepEqual(await page.page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-cell'))), byGain);
  // Text sorts A to Z first.
  await page.page.click('th button[data-column="settings"]');
  assert.deepEqual(await page.rows(), ['c2', 'c1', 'c4', 'c3']);

  await page.page.fill('input.study-filter', 'crop');
  assert.deepEqual(new Set(await page.rows()), new Set(['c2', 'c4']));
  assert.equal(await page.page.locator('tbody tr').count(), 2);
  // The chart shows the cells the table shows, in its order.
  assert.deepEqual((await page.chart()).ciBars.map((b) => b.cell), await page.rows());
  await page.page.fill('input.study-filter', 'small-cnn');
  assert.deepEqual(new Set(await page.rows()), new Set(['c3', 'c4']));
  await page.page.fill('input.study-filter', '');
  assert.equal((await page.rows()).length, 4);
});

test('the chart draws one 95% t interval bar per cell and one point per seed, at the file numbers; DOM on request', async (t) => {
  const json = studyJson(GRID);
  const results = parseStudyResults(json);
  const page = await openStudy(t, json);
  let chart = await page.chart();
  assert.equal(chart.metric, 'aom');
  assert.deepEqual(chart.ciBars.map((b) => b.cell), ['c1', 'c2', 'c3', 'c4']);
  for (const [i, bar] of chart.ciBars.entries()) {
    const gain = results.cells[i].gain.aom!;
    assert.ok(Math.abs(bar.mean - gain.mean) < 1e-9 && Math.abs(bar.low - gain.tInterval[0]) < 1e-9 && Math.abs(bar.high - gain.tInterval[1]) < 1e-9, `bar of ${bar.cell}`);
  }
  assert.equal(chart.seedPoints.length, 4 * 3);
  const c2seeds = chart.seedPoints.filter((p) => p.cell === 'c2').map((p) => p.gain);
  assert.deepEqual(c2seeds, results.cells[1].gain.aom!.perSeed.map((s) => s.gain));

  await page.page.selectOption('select.study-metric', 'dom');
  chart = await page.chart();
  assert.equal(chart.metric, 'dom');
  assert.equal(chart.ciBars.length, 4);
  assert.ok(Math.abs(chart.ciBars[2].mean - results.cells[2].gain.dom!.mean) < 1e-9);
});

test('a new study.json from the host updates the table and the chart live (runs completing one by one)', async (t) => {
  const first = studyJson({ ...GRID, done: 1 });
  const page = await openStudy(t, first);
  // One run per cell done: a mean but no interval yet (NaN in the contract, null on the wire).
  assert.equal(await page.page.locator('tr[data-cell="c1"] td[data-column="n"]').textContent(), '1/3');
  let chart = await page.chart();
  assert.equal(chart.ciBars.length, 0, 'no interval with one seed');
  assert.equal(chart.seedPoints.length, 4);
  assert.match(await page.page.locator('.study-summary').textContent() ?? '', /running · 4\/12 runs ended, 4 running/);

  await page.send(studyMessage(studyJson({ ...GRID, done: 2 }), true));
  chart = await page.chart();
  assert.equal(chart.ciBars.length, 4);
  assert.equal(chart.seedPoints.length, 8);
  assert.equal(await page.page.locator('tr[data-cell="c1"] td[data-column="n"]').textContent(), '2/3');

  await page.send(studyMessage(studyJson(GRID)));
  assert.equal(await page.page.locator('tr[data-cell="c1"] td[data-column="n"]').textContent(), '3');
  assert.equal((await page.chart()).seedPoints.length, 12);
});

test('clicking a cell lists its runs; clicking a run posts open-run with its folder name', async (t) => {
  const json = studyJson({ ...GRID, done: 1 });
  const results = parseStudyResults(json);
  const page = await openStudy(t, json);
  await page.page.click('tr[data-cell="c3"]');
  const runs = results.runs.filter((r) => r.cell === 'c3');
  assert.deepEqual(await page.page.locator('.run-list button').evaluateAll((b) => b.map((x) => x.getAttribute('data-run'))), runs.map((r) => r.name));
  assert.equal(await page.page.locator('tr[data-cell="c3"]').getAttribute('class'), 'selected');
  await page.page.click(`.run-list button[data-run="${runs[1].name}"]`);
  const open = await page.waitForPosted('open-run');
  assert.equal(open.run, runs[1].name);
  // A pending run has no folder yet: its button is off.
  assert.equal(await page.page.locator(`.run-list button[data-run="${runs[2].name}"]`).isDisabled(), true);
});

test('a malformed host message is dropped and reported to the host; the page keeps what it showed', async (t) => {
  const json = studyJson(GRID);
  const page = await StudyPage.open(browser, t, () => studyMessage(json));
  const broken = { ...studyMessage(json), results: { ...json, cells: [{ id: 'c1' }] } };
  await page.post(broken);
  const log = await page.waitForPosted('log');
  assert.match(log.message, /results\.cells\[0\]\.settings/);
  assert.deepEqual(await page.rows(), ['c1', 'c2', 'c3', 'c4']);
  assert.deepEqual(
    page.problems.filter((p) => !p.includes('dropped a malformed host message')),
    [],
  );
});
