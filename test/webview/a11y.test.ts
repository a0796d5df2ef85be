// Accessibility of the built pages in a real headless Chromium (issue 15): axe-core (WCAG 2.1 A/AA
// and best practices) over the metrics panel's states (one real run, two runs compared, the
// compact bottom view, empty; dark and light) and the study page, and the keyboard: every control
// reached with Tab and worked with Enter, Space and the arrow keys.
//
// The pages keep their real CSP (scripts by nonce only), so axe cannot be added as a <script>:
// its source is evaluated through the DevTools protocol (page.evaluate of the source string),
// which the page's CSP does not govern, as the DevTools console is not. axe itself needs no eval.

import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { PanelRun } from '../../src/shared/panel-protocol';
import { launchChromium } from '../support/chromium';
import { studyJson } from '../support/study-fixture';
import { PanelPage, ROOT, fixtureEvents, run, snapshot } from './harness';
import { StudyPage, studyMessage } from './study-harness';
import type { ThemeKind } from './themes';

const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

const WAS_WITH_BASELINE = fixtureEvents('was-shift-baseline');
const WAS = fixtureEvents('was-shift');
const CROP = fixtureEvents('was-crop');
const PLAIN = fixtureEvents('baseline');

interface Violation {
  id: string;
  impact: string;
  nodes: number;
  targets: string[];
  help: string;
}

let browser: Browser;
const report: Record<string, { counts: Record<string, number>; violations: Violation[]; incomplete: Record<string, number> }> = {};

before(async () => {
  assert.ok(fs.existsSync(path.join(ROOT, 'dist/webview.js')), 'dist/webview.js is missing: run npm run build');
  assert.ok(fs.existsSync(path.join(ROOT, 'dist/study.js')), 'dist/study.js is missing: run npm run build');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  const dir = path.join(ROOT, 'test-artifacts/webview');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'axe.json'), JSON.stringify(report, null, 2) + '\n');
});

/** Run axe-core on the page as it is now: the violations, one per rule, and what axe could not decide. */
async function axe(page: Page): Promise<{ violations: Violation[]; incomplete: Record<string, number> }> {
  if (!(await page.evaluate('typeof globalThis.axe === "object"'))) await page.evaluate(AXE_SOURCE);
  assert.equal(await page.evaluate('typeof globalThis.axe'), 'object', 'axe-core loaded into the page');
  const json = (await page.evaluate(`globalThis.axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(TAGS)} }, resultTypes: ['violations', 'incomplete'] })
    .then((r) => JSON.stringify({
      violations: r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help,
        targets: v.nodes.slice(0, 40).map((n) => n.target.join(' ') + (n.any[0] && n.any[0].message ? ' — ' + n.any[0].message : '')) })),
      incomplete: Object.fromEntries(r.incomplete.map((v) => [v.id, v.nodes.length])),
    }))`)) as string;
  return JSON.parse(json) as { violations: Violation[]; incomplete: Record<string, number> };
}

/** Axe the page, record the counts, print every violation, and allow no serious or critical one. */
async function audit(t: TestContext, name: string, page: Page): Promise<void> {
  const { violations, incomplete } = await axe(page);
  const counts: Record<string, number> = { critical: 0, serious: 0, moderate: 0, minor: 0 };
  for (const v of violations) counts[v.impact] = (counts[v.impact] ?? 0) + v.nodes;
  report[name] = { counts, violations, incomplete };
  // "Incomplete": nodes axe could not decide (text on vscode-elements buttons, whose background is
  // in a shadow root), reported for review, not counted as violations.
  t.diagnostic(`${name}: ${JSON.stringify(counts)}; needs review: ${JSON.stringify(incomplete)}`);
  for (const v of violations) t.diagnostic(`  ${v.impact} ${v.id} ×${v.nodes}: ${v.help}; ${v.targets.slice(0, 4).join(' | ')}`);
  const blocking = violations.filter((v) => v.impact === 'critical' || v.impact === 'serious');
  assert.deepEqual(
    blocking.map((v) => `${v.impact} ${v.id}: ${v.targets.join(' | ')}`),
    [],
    `${name}: no serious or critical axe violations`,
  );
}

async function openPanel(t: TestContext, runs: PanelRun[], options: { theme: ThemeKind; compare?: string[]; compact?: boolean }): Promise<PanelPage> {
  const layout = options.compact ? 'compact' : 'full';
  const panel = await PanelPage.open(browser, {
    snapshot: () => snapshot(runs, { compare: options.compare ?? [], layout, smoothing: 0.6 }),
    theme: options.theme,
    layout,
    viewport: options.compact ? { width: 900, height: 330 } : undefined,
  });
  t.after(async () => {
    const problems = panel.problems();
    await panel.close();
    assert.deepEqual(problems, [], 'no console errors, CSP violations or refused messages');
  });
  return panel;
}

const COMPARED = (): PanelRun[] => [run('was-shift-baseline', WAS_WITH_BASELINE, 'completed', 'shift run'), run('was-crop', CROP, 'completed', 'crop run'), run('baseline', PLAIN, 'completed', 'plain run')];

for (const theme of ['dark', 'light'] as const) {
  test(`axe: the panel with a real run, ${theme}`, async (t) => {
    const panel = await openPanel(t, [run('was-shift-baseline', WAS_WITH_BASELINE, 'completed', 'shift run')], { theme });
    await audit(t, `panel ${theme}`, panel.page);
  });

  test(`axe: two runs compared, ${theme}`, async (t) => {
    const panel = await openPanel(t, COMPARED(), { theme, compare: ['was-crop'] });
    await audit(t, `compare ${theme}`, panel.page);
  });

  test(`axe: the compact bottom view of a live run, ${theme}`, async (t) => {
    const panel = await openPanel(t, [run('live', WAS.slice(0, 40), 'running')], { theme, compact: true });
    await audit(t, `compact ${theme}`, panel.page);
  });

  test(`axe: the study page, ${theme}`, async (t) => {
    const json = studyJson({
      cells: [
        { settings: { model: 'lenet', 'was.transform': 'shift' }, gain: 0.6, plain: 0.962 },
        { settings: { model: 'lenet', 'was.transform': 'crop' }, gain: -0.3, plain: 0.962 },
      ],
      seeds: [1, 2, 3],
    });
    const study = await StudyPage.open(browser, t, () => studyMessage(json), theme);
    await study.chart();
    await audit(t, `study ${theme}`, study.page);
    assert.deepEqual(study.problems, [], 'no console errors, CSP violations or refused messages');
  });
}

test('axe: the empty panel (no runs yet), light', async (t) => {
  const panel = await openPanel(t, [], { theme: 'light' });
  await audit(t, 'empty light', panel.page);
});

/** What has focus: an id, or the compare checkbox's run, or the legend entry's key. */
const FOCUSED = `(() => {
  const e = document.activeElement;
  if (!e || e === document.body) return 'body';
  return e.id || (e.dataset.zoom ? 'zoom:' + e.dataset.zoom : e.dataset.chart ? 'png:' + e.dataset.chart : e.dataset.key ? 'legend:' + e.dataset.key : e.dataset.runId ? 'compare:' + e.dataset.runId : e.tagName.toLowerCase());
})()`;

/** Every stop of the Tab order from the top of the page to its end. */
async function tabOrder(page: Page): Promise<string[]> {
  await page.evaluate('document.activeElement && document.activeElement.blur()');
  await page.mouse.click(2, 2);
  const order: string[] = [];
  for (let i = 0; i < 150; i++) {
    await page.keyboard.press('Tab');
    const at = (await page.evaluate(FOCUSED)) as string;
    if (at === 'body') return order;
    order.push(at);
  }
  throw new Error(`the Tab order did not end: ${order.join(', ')}`);
}

/** Press Tab until `stop` has focus (from the top of the page). */
async function tabTo(page: Page, stop: (at: string) => boolean): Promise<string> {
  await page.evaluate('document.activeElement && document.activeElement.blur()');
  await page.mouse.click(2, 2);
  for (let i = 0; i < 150; i++) {
    await page.keyboard.press('Tab');
    const at = (await page.evaluate(FOCUSED)) as string;
    if (stop(at)) return at;
  }
  throw new Error('not reached by Tab');
}

test('keyboard: the run picker, smoothing, legend entries and compare checkboxes work from the keyboard; every compare box stays in the Tab order after the active run changes', async (t) => {
  const panel = await openPanel(t, COMPARED(), { theme: 'dark' });
  const { page } = panel;
  const compareStops = (order: string[]) => order.filter((s) => s.startsWith('compare:'));
  // The active run's own box is disabled (always shown), the others are in the Tab order.
  assert.deepEqual(compareStops(await tabOrder(page)), ['compare:was-crop', 'compare:baseline']);

  // The run picker: Tab to it, open it with Enter, move with the arrows, pick with Enter.
  assert.equal(await tabTo(page, (at) => at === 'run-select'), 'run-select');
  await page.keyboard.press('Enter');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  assert.deepEqual(await panel.waitForPosted('select-run'), { type: 'select-run', runId: 'was-crop' });
  await panel.settle();
  assert.equal(await panel.text('#page-title'), 'WAS Lab metrics: crop run', 'the h1 names the active run');

  // Issue 15: the previous active run's box came back enabled but with tabindex -1, out of the Tab
  // order (vscode-elements restores the host's default tabIndex). Every enabled box is reachable.
  assert.equal(await page.locator('vscode-checkbox[data-run-id="was-shift-baseline"]').getAttribute('tabindex'), null);
  assert.deepEqual(compareStops(await tabOrder(page)), ['compare:was-shift-baseline', 'compare:baseline']);
  // ... and works: Space checks it.
  await tabTo(page, (at) => at === 'compare:was-shift-baseline');
  await page.keyboard.press('Space');
  assert.deepEqual(await panel.waitForPosted('set-compare'), { type: 'set-compare', runIds: ['was-shift-baseline'] });
  // And back, twice over: the box keeps its place in the Tab order whatever the active run was.
  await page.click('#run-select');
  await page.locator('#run-select').getByRole('option', { name: 'shift run', exact: true }).click();
  await panel.waitForPosted('select-run', 2);
  await panel.settle();
  assert.deepEqual(compareStops(await tabOrder(page)), ['compare:was-crop', 'compare:baseline']);

  // Smoothing: the same keys pick another value, and the charts redraw with it.
  const rawBefore = (await panel.chart('loss')).series.find((s) => !s.faint && s.label.endsWith('train loss'))!;
  assert.equal(await tabTo(page, (at) => at === 'smoothing'), 'smoothing');
  const smoothingBefore = await page.evaluate(`document.querySelector('#smoothing').value`);
  await page.keyboard.press('Enter');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await panel.settle();
  const smoothingAfter = await page.evaluate(`document.querySelector('#smoothing').value`);
  assert.notEqual(smoothingAfter, smoothingBefore, 'the arrow keys and Enter pick another smoothing');
  const rawAfter = (await panel.chart('loss')).series.find((s) => s.key === rawBefore.key)!;
  assert.notDeepEqual(rawAfter.drawnY, rawBefore.drawnY, 'the loss chart redrew with the new smoothing');

  // A legend entry: Enter hides its series, Space shows it again; focus stays on the entry.
  const entry = await tabTo(page, (at) => at.startsWith('legend:'));
  const key = entry.slice('legend:'.length);
  const series = async () => (await panel.chart('loss')).series.find((s) => s.key === key)!;
  assert.equal((await series()).hidden, false);
  await page.keyboard.press('Enter');
  await panel.settle();
  assert.equal((await series()).hidden, true, 'Enter on a legend entry hides its series');
  assert.equal(await page.evaluate(FOCUSED), entry, 'focus stays on the entry');
  assert.equal(await page.evaluate(`document.activeElement.getAttribute('aria-pressed')`), 'false');
  await page.keyboard.press('Space');
  await panel.settle();
  assert.equal((await series()).hidden, false, 'Space shows it again');

  // A zoom button: Enter zooms, and Reset zoom (shown now) undoes it.
  await tabTo(page, (at) => at === 'zoom:loss');
  await page.keyboard.press('Enter');
  await panel.settle();
  assert.equal((await panel.chart('loss')).zoomed, true, 'Enter on + zooms the loss chart');
});

test('keyboard: the compact view has no zoom buttons; its controls and legend are in the Tab order', async (t) => {
  const panel = await openPanel(t, [run('live', WAS.slice(0, 40), 'running')], { theme: 'light', compact: true });
  const order = await tabOrder(panel.page);
  assert.deepEqual(
    order.filter((s) => !s.startsWith('legend:')),
    ['run-select', 'switch-mode', 'stop'],
    'the compact view: the run, the mode, Stop; no zoom or PNG buttons',
  );
  assert.deepEqual(
    order.filter((s) => s.startsWith('legend:')),
    ['legend:live|train loss', 'legend:live|train loss (epoch mean)', 'legend:live|AOM val loss', 'legend:live|DOM val loss'],
  );
  assert.equal(await panel.page.locator('.chart-loss .zoom-button:visible').count(), 0, 'no zoom buttons on the compact card');
  const legendHeight = await panel.page.locator('.chart-loss .chart-legend').evaluate((e) => e.getBoundingClientRect().height);
  const rowHeight = await panel.page.locator('.chart-loss .legend-item').first().evaluate((e) => e.getBoundingClientRect().height);
  assert.ok(legendHeight < rowHeight * 1.5, `the compact legend is one line (${legendHeight}px, an entry ${rowHeight}px)`);
});
