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
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createNonce, renderPanelHtml } from '../../src/shared/panel-html';
import { parseStudyResults, type StudyResults } from '../../src/shared/study';
import { STUDY_PANEL_PROTOCOL_VERSION, parseStudyPageMessage, type StudyHostMessage, type StudyPageMessage } from '../../src/shared/study-panel-protocol';
import { STUDY_TEST_HOOK } from '../../webview/study/test-hook';
import type { GainChartInfo } from '../../webview/study/gain-chart';
import { launchChromium } from '../support/chromium';
import { studyJson, type FixtureOptions } from '../support/study-fixture';
import { ARTIFACTS, ORIGIN, ROOT, STAND_IN, themeScript } from './harness';

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

function studyMessage(json: Record<string, unknown>, live = false): StudyHostMessage {
  return { type: 'study', protocolVersion: STUDY_PANEL_PROTOCOL_VERSION, name: String(json.name), results: json as unknown as StudyResults, problem: null, live };
}

class StudyPage {
  readonly posted: StudyPageMessage[] = [];
  readonly problems: string[] = [];

  constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    private readonly answer: () => unknown,
  ) {}

  static async open(t: TestContext, answer: () => unknown): Promise<StudyPage> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const study = new StudyPage(context, page, answer);
    page.on('console', (m) => m.type() === 'error' && study.problems.push(`console error: ${m.text()}`));
    page.on('pageerror', (e) => study.problems.push(`pageerror: ${e.message}`));
    await page.exposeFunction('__standInPost', (json: string) => study.receive(json));
    await page.exposeFunction('__standInGetState', () => undefined);
    await page.exposeFunction('__standInCsp', (violation: string) => void study.problems.push(`CSP violation: ${violation}`));
    await page.addInitScript({ content: STAND_IN });
    await page.addInitScript({ content: themeScript('dark') });
    await context.route(`${ORIGIN}/**`, async (route) => {
      const url = new URL(route.request().url());
      const file = (rel: string, contentType: string) => route.fulfill({ status: 200, contentType, body: fs.readFileSync(path.join(ROOT, rel)) });
      if (url.pathname === '/index.html')
        return route.fulfill({
          status: 200,
          contentType: 'text/html; charset=utf-8',
          body: renderPanelHtml({ scriptUri: `${ORIGIN}/dist/study.js`, styleUri: `${ORIGIN}/media/study.css`, cspSource: ORIGIN, nonce: createNonce(), title: 'WAS Lab study' }),
        });
      if (url.pathname === '/dist/study.js') return file('dist/study.js', 'text/javascript');
      if (url.pathname === '/media/study.css') return file('media/study.css', 'text/css');
      return route.fulfill({ status: 404, body: '' });
    });
    t.after(async () => {
      await context.close();
    });
    await page.goto(`${ORIGIN}/index.html`);
    await study.waitUntil(`globalThis.${STUDY_TEST_HOOK}?.messages() >= 1`);
    return study;
  }

  /** Post a host message (JSON round trip) and wait until the page applied it. */
  async send(message: unknown): Promise<void> {
    const before = (await this.page.evaluate(`globalThis.${STUDY_TEST_HOOK}.messages()`)) as number;
    await this.post(message);
    await this.waitUntil(`globalThis.${STUDY_TEST_HOOK}.messages() > ${before}`);
  }

  async post(message: unknown): Promise<void> {
    await this.page.evaluate((json) => (globalThis as unknown as { postMessage(message: unknown, target: string): void }).postMessage(JSON.parse(json), '*'), JSON.stringify(message));
  }

  async rows(): Promise<string[]> {
    return (await this.page.evaluate(`globalThis.${STUDY_TEST_HOOK}.rows()`)) as string[];
  }

  async chart(): Promise<GainChartInfo> {
    // The chart draws on the next frame: wait for it.
    await this.page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
    return (await this.page.evaluate(`globalThis.${STUDY_TEST_HOOK}.chart()`)) as GainChartInfo;
  }

  async waitUntil(expression: string, timeoutMs = 10_000): Promise<void> {
    const ok = await this.page.evaluate(`new Promise((resolve) => {
      const deadline = performance.now() + ${timeoutMs};
      const poll = () => {
        let done = false;
        try { done = Boolean(${expression}); } catch { done = false; }
        if (done) resolve(true);
        else if (performance.now() > deadline) resolve(false);
        else setTimeout(poll, 5);
      };
      poll();
    })`);
    if (ok !== true) throw new Error(`timed out waiting for ${expression}`);
  }

  async waitForPosted<T extends StudyPageMessage['type']>(type: T, count = 1): Promise<Extract<StudyPageMessage, { type: T }>> {
    const deadline = Date.now() + 5000;
    const of = () => this.posted.filter((m): m is Extract<StudyPageMessage, { type: T }> => m.type === type);
    while (of().length < count) {
      if (Date.now() > deadline) throw new Error(`the page did not post "${type}"; posted: ${this.posted.map((m) => m.type).join(', ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return of()[count - 1];
  }

  private receive(json: string): void {
    let message: StudyPageMessage;
    try {
      message = parseStudyPageMessage(JSON.parse(json));
    } catch (error) {
      this.problems.push(`refused message: ${(error as Error).message}`);
      return;
    }
    this.posted.push(message);
    if (message.type === 'ready') void this.post(this.answer());
  }
}

async function openStudy(t: TestContext, json: Record<string, unknown>): Promise<StudyPage> {
  const page = await StudyPage.open(t, () => studyMessage(json));
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
  const page = await StudyPage.open(t, () => studyMessage(json));
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
