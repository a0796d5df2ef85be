// The metrics panel in a real headless Chromium: the built page (dist/webview.js from
// `npm run build`, media/panel.css, HTML from renderPanelHtml under its real CSP), fed real event
// streams from real trainer runs (test/fixtures/webview), driven by clicks and keys. The test
// plays the extension host (harness.ts); every message the page posts goes through the host's
// parser. Every test fails on a console error or a CSP violation.

import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { wilsonInterval } from '../../src/shared/accuracy';
import { panelCsp } from '../../src/shared/panel-html';
import type { HostMessage, PanelRun } from '../../src/shared/panel-protocol';
import type { EpochEvent, RunEndEvent, RunStartEvent, StepEvent, TrainerEvent } from '../../src/shared/protocol';
import { CSV_HEADER } from '../../webview/csv';
import { PANEL_TEST_HOOK } from '../../webview/test-hook';
import { launchChromium } from '../support/chromium';
import { ARTIFACTS, PanelPage, ROOT, fixtureEvents, run, snapshot } from './harness';

const WAS = fixtureEvents('was-shift');
const WAS_WITH_BASELINE = fixtureEvents('was-shift-baseline');
const CROP = fixtureEvents('was-crop');
const PLAIN = fixtureEvents('baseline');

const steps = (events: TrainerEvent[]) => events.filter((e): e is StepEvent => e.type === 'step');
const epochs = (events: TrainerEvent[]) => events.filter((e): e is EpochEvent => e.type === 'epoch');
const runEnd = (events: TrainerEvent[]) => events.find((e): e is RunEndEvent => e.type === 'run-end')!;
const runStart = (events: TrainerEvent[]) => events.find((e): e is RunStartEvent => e.type === 'run-start')!;
/** The plain model's events inside a --baseline run's `baseline` envelopes. */
const baselineInner = (events: TrainerEvent[]) => events.flatMap((e) => (e.type === 'baseline' ? [e.event] : []));

let browser: Browser;
const pages: PanelPage[] = [];
const screenshots: string[] = [];
const timings: Record<string, number> = {};

before(async () => {
  assert.ok(fs.existsSync(path.join(ROOT, 'dist/webview.js')), 'dist/webview.js is missing: run npm run build');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.writeFileSync(path.join(ARTIFACTS, 'timings.json'), JSON.stringify({ timings, screenshots }, null, 2) + '\n');
});

async function open(t: TestContext, host: () => HostMessage | null, options: Omit<Parameters<typeof PanelPage.open>[1], 'snapshot'> = {}): Promise<PanelPage> {
  const panel = await PanelPage.open(browser, { snapshot: host, ...options });
  pages.push(panel);
  t.after(async () => {
    const problems = panel.problems();
    await panel.close();
    assert.deepEqual(problems, [], 'no console errors, CSP violations or refused messages');
  });
  return panel;
}

const close = (a: number, b: number) => Math.abs(a - b) < 1e-9;

test('a real run: the charts hold its events, the page shows progress, mode, backend and test numbers', async (t) => {
  const panel = await open(t, () => snapshot([run('was-shift-baseline', WAS_WITH_BASELINE)]));
  assert.deepEqual(panel.postedOf('ready'), [{ type: 'ready', protocolVersion: 1 }]);

  const loss = await panel.chart('loss');
  const trainLoss = loss.series.find((s) => s.label === 'train loss')!;
  const stepEvents = steps(WAS_WITH_BASELINE);
  assert.equal(trainLoss.rawCount, stepEvents.length);
  assert.deepEqual(trainLoss.drawnY, stepEvents.map((e) => e.loss), 'unsmoothed: exactly the step losses');
  assert.deepEqual(trainLoss.last, { x: 3, y: stepEvents.at(-1)!.loss });
  assert.equal(loss.series.find((s) => s.label === 'train loss (epoch mean)')!.rawCount, 3);
  const base = baselineInner(WAS_WITH_BASELINE);
  assert.deepEqual(loss.series.find((s) => s.label === 'baseline train loss')!.drawnY, steps(base).map((e) => e.loss));

  const accuracy = await panel.chart('accuracy');
  const labels = accuracy.series.map((s) => s.label);
  assert.deepEqual(labels, ['train', 'AOM val', 'DOM val', 'baseline val'], 'the current mode (AOM) leads');
  const byLabel = (l: string) => accuracy.series.find((s) => s.label === l)!;
  assert.deepEqual(byLabel('AOM val').drawnY, epochs(WAS_WITH_BASELINE).map((e) => e.aomAccuracy));
  assert.deepEqual(byLabel('DOM val').drawnY, epochs(WAS_WITH_BASELINE).map((e) => e.domAccuracy));
  assert.deepEqual(byLabel('baseline val').drawnY, epochs(base).map((e) => e.aomAccuracy), 'the plain model beside it is its own series');
  assert.notDeepEqual(byLabel('baseline val').dash, [], 'the baseline is dashed');
  assert.equal(byLabel('AOM val').color, '#89d185', 'colours come from --vscode-charts-*');
  assert.equal(byLabel('DOM val').color, '#b180d7');

  assert.deepEqual((await panel.chart('lr')).series[0].drawnY, stepEvents.map((e) => e.lr));
  assert.deepEqual((await panel.chart('throughput')).series[0].drawnY, stepEvents.map((e) => e.samplesPerSec));
  const alpha = await panel.chart('alpha');
  assert.deepEqual(alpha.series.map((s) => s.label), ['alpha conv2']);
  assert.deepEqual(alpha.series[0].drawnY, epochs(WAS_WITH_BASELINE).map((e) => e.alphas.conv2));

  const end = runEnd(WAS_WITH_BASELINE);
  assert.equal(await panel.text('#progress-text'), `Epoch 3 / 3 · step 18 / 18 (100%)`);
  assert.equal(await panel.text('#run-status'), 'completed');
  assert.equal(await panel.text('#mode-badge'), 'AOM');
  assert.equal(await panel.text('#switch-mode'), 'Switch to DOM');
  const testText = await panel.text('#fact-test');
  assert.ok(testText.startsWith(`AOM ${(end.test!.aom * 100).toFixed(2)}% · DOM ${(end.test!.dom * 100).toFixed(2)}% (epoch 3)`), testText);
  assert.match(testText, new RegExp(`gain over baseline ${end.baseline!.gain!.aom.toFixed(2)} pts`));
  assert.equal(await panel.text('#fact-backend'), runStart(WAS_WITH_BASELINE).backend.name);
  assert.equal(await panel.text('#fact-model'), 'small-cnn on synthetic, WAS shift');
  assert.ok(await panel.disabled('#stop'), 'a finished run cannot be stopped');
  assert.match(await panel.text('#log-summary'), /^Log \([1-9]\d*\)$/);
});

test('live: events appended as they arrive move the charts, progress and ETA; Stop posts stop', async (t) => {
  const tenth = WAS.indexOf(steps(WAS)[9]);
  const panel = await open(t, () => snapshot([run('live', WAS.slice(0, tenth + 1), 'running')]));
  assert.equal((await panel.chart('loss')).series[0].rawCount, 10);
  const progress = await panel.text('#progress-text');
  assert.match(progress, /^Epoch 2 \/ 3 · step 10 \/ 18 \(55%\) · training · ETA \d/);
  assert.ok(!(await panel.disabled('#stop')), 'a running run can be stopped');

  await panel.page.click('#stop');
  assert.deepEqual(await panel.waitForPosted('stop'), { type: 'stop', runId: 'live' });
  await panel.send({ type: 'run-status', runId: 'live', status: 'stopping', reason: null });
  assert.equal(await panel.text('#stop'), 'Stopping…');
  assert.ok(await panel.disabled('#stop'));

  // The rest of the stream, a few events at a time.
  const rest = WAS.slice(tenth + 1);
  for (let i = 0; i < rest.length; i += 4) await panel.send({ type: 'events', runId: 'live', events: rest.slice(i, i + 4) });
  await panel.send({ type: 'run-status', runId: 'live', status: 'completed', reason: null });
  const loss = await panel.chart('loss');
  assert.equal(loss.series[0].rawCount, 18);
  assert.deepEqual(loss.series[0].drawnY, steps(WAS).map((e) => e.loss));
  assert.equal(await panel.text('#run-status'), 'completed');
  assert.equal(await panel.text('#progress-text'), 'Epoch 3 / 3 · step 18 / 18 (100%)');
  // The test numbers come with their 95% intervals and n (issue 15).
  assert.match(await panel.text('#fact-test'), /^AOM \d+\.\d\d% · DOM \d+\.\d\d% \(epoch 3\) · 95% intervals: AOM [\d.]+–[\d.]+%, DOM [\d.]+–[\d.]+% \(n = 128\)$/);

  // A run that fails shows why.
  await panel.send({ type: 'run-added', run: run('crashed', WAS.slice(0, 8), 'running') });
  await panel.send({ type: 'active-run', runId: 'crashed' });
  await panel.send({ type: 'run-status', runId: 'crashed', status: 'failed', reason: 'trainer exited with code 134 (SIGABRT)' });
  assert.equal(await panel.text('#run-status'), 'failed');
  assert.equal(await panel.text('#run-reason'), 'trainer exited with code 134 (SIGABRT)');
});

test('Switch Mode, Export Weights and the keyboard: messages posted, the mode visible at a glance', async (t) => {
  const tenth = WAS.indexOf(steps(WAS)[9]);
  const panel = await open(t, () => snapshot([run('live', WAS.slice(0, tenth + 1), 'running'), run('was-crop', CROP)]));

  await panel.page.click('#switch-mode');
  assert.deepEqual(await panel.waitForPosted('switch-mode'), { type: 'switch-mode', mode: 'dom', runId: 'live' });
  assert.equal(await panel.text('#mode-badge'), 'AOM', 'the host owns the mode: nothing changes until it answers');
  await panel.send({ type: 'mode', mode: 'dom' });
  assert.equal(await panel.text('#mode-badge'), 'DOM');
  assert.equal(await panel.text('#switch-mode'), 'Switch to AOM');
  assert.equal(await panel.page.locator('body').getAttribute('data-mode'), 'dom');
  const accuracy = await panel.chart('accuracy');
  assert.deepEqual(accuracy.series.map((s) => s.label).slice(1, 3), ['DOM val', 'AOM val'], 'DOM leads now');
  assert.match(await panel.text('#fact-best'), /^epoch 1: DOM [\d.]+% · AOM/);

  await panel.page.click('#export-weights');
  assert.deepEqual(await panel.waitForPosted('export-weights'), { type: 'export-weights', runId: 'live', mode: 'dom' });

  // Keyboard: everything is reachable with Tab, in reading order, with a visible focus ring.
  // A click on the page's top-left margin moves the start of sequential focus to the top.
  await panel.page.evaluate('document.activeElement.blur()');
  await panel.page.mouse.click(2, 2);
  const order: string[] = [];
  for (let i = 0; i < 33; i++) {
    await panel.page.keyboard.press('Tab');
    order.push(
      (await panel.page.evaluate(`(() => {
        const e = document.activeElement;
        return e.id || (e.dataset.zoom ? e.textContent.trim() + ':' + e.dataset.zoom : e.dataset.chart ? 'png:' + e.dataset.chart : e.dataset.key ? 'legend:' + e.dataset.key : e.dataset.runId ? 'compare:' + e.dataset.runId : e.tagName.toLowerCase());
      })()`)) as string,
    );
  }
  // Every control in reading order (issue 15 added the zoom buttons, the HTML legends, the folded
  // throughput chart and the WAS view's channel picker).
  const chartKeys = (chart: string, legend: string[]) => [`+:${chart}`, `−:${chart}`, `png:${chart}`, ...legend.map((l) => `legend:live|${l}`)];
  assert.deepEqual(order, [
    'run-select',
    'switch-mode',
    'stop',
    'export-weights',
    'smoothing',
    'loss-log',
    'export-csv',
    ...chartKeys('loss', ['train loss', 'train loss (epoch mean)', 'AOM val loss', 'DOM val loss']),
    ...chartKeys('accuracy', ['train', 'DOM val', 'AOM val']),
    ...chartKeys('lr', ['learning rate']),
    ...chartKeys('alpha', ['alpha conv2']),
    'summary', // the throughput chart, folded
    'kernel-channel-conv2',
    // the active run's own checkbox is disabled, so the other run's comes next
    'compare:was-crop',
    'log-summary',
    'body', // past the last control
  ]);
  await panel.page.focus('#switch-mode');
  const ring = await panel.page.evaluate(`getComputedStyle(document.querySelector('#switch-mode').shadowRoot.querySelector('.base')).outlineStyle`);
  assert.equal(ring, 'solid', 'a focused button shows the focus border');
  await panel.page.keyboard.press('Enter');
  assert.deepEqual(await panel.waitForPosted('switch-mode', 2), { type: 'switch-mode', mode: 'aom', runId: 'live' });
  await panel.page.focus('#loss-log');
  await panel.page.keyboard.press('Space');
  await panel.settle();
  assert.equal((await panel.chart('loss')).yScale, 'logarithmic', 'Space toggles the log scale');
});

test('CSV and PNG exports are posted to the host as save-file', async (t) => {
  const panel = await open(t, () => snapshot([run('was-shift-baseline', WAS_WITH_BASELINE, 'completed', 'shift run')]));

  await panel.page.click('#export-csv');
  const csv = await panel.waitForPosted('save-file');
  assert.equal(csv.kind, 'csv');
  assert.equal(csv.suggestedName, 'shift run-metrics.csv');
  const lines = csv.content.trimEnd().split('\n');
  assert.equal(lines[0], CSV_HEADER.join(','));
  const stepEvents = steps(WAS_WITH_BASELINE);
  const lossRows = lines.filter((l) => l.startsWith('shift run,step train loss,'));
  assert.equal(lossRows.length, stepEvents.length);
  const [, , x, step, value] = lossRows[0].split(',');
  assert.ok(close(Number(x), 1 / stepEvents[0].stepsPerEpoch) && Number(step) === 1 && close(Number(value), stepEvents[0].loss), lossRows[0]);
  assert.equal(lines.filter((l) => l.startsWith('shift run baseline,AOM selection accuracy,')).length, 3, 'the baseline is exported too');

  await panel.page.click('.save-png[data-chart="accuracy"]');
  const png = await panel.waitForPosted('save-file', 2);
  assert.equal(png.kind, 'png');
  assert.equal(png.suggestedName, 'shift run-accuracy.png');
  const bytes = Buffer.from(png.content.slice('data:image/png;base64,'.length), 'base64');
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  assert.ok(width > 200 && height > 200, `${width}x${height}`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.writeFileSync(path.join(ARTIFACTS, 'exported-accuracy.png'), bytes);
});

test('compare: runs overlaid with a legend, configs and best numbers side by side, differences highlighted', async (t) => {
  const runs: PanelRun[] = [run('was-shift-baseline', WAS_WITH_BASELINE), run('was-crop', CROP), run('baseline', PLAIN)];
  const panel = await open(t, () => snapshot(runs, { compare: ['was-crop'] }));

  // Overlay through the page's own control: tick the third run.
  await panel.page.click('vscode-checkbox[data-run-id="baseline"]');
  assert.deepEqual(await panel.waitForPosted('set-compare'), { type: 'set-compare', runIds: ['was-crop', 'baseline'] });
  await panel.settle();

  const accuracy = await panel.chart('accuracy');
  const labels = accuracy.series.map((s) => s.label);
  for (const l of ['was-shift-baseline · AOM val', 'was-shift-baseline · baseline val', 'was-crop · AOM val', 'was-crop · DOM val', 'baseline · val (plain model)'])
    assert.ok(labels.includes(l), `${l} in ${labels.join(', ')}`);
  const colorOf = (runId: string) => new Set(accuracy.series.filter((s) => s.runId === runId).map((s) => s.color));
  assert.deepEqual([...colorOf('was-shift-baseline')], ['#3794ff']);
  assert.deepEqual([...colorOf('was-crop')], ['#d18616']);
  assert.deepEqual([...colorOf('baseline')], ['#89d185']);
  const aom = accuracy.series.find((s) => s.label === 'was-crop · AOM val')!;
  const dom = accuracy.series.find((s) => s.label === 'was-crop · DOM val')!;
  assert.notDeepEqual(aom.dash, dom.dash, 'with several runs, the dash tells the metrics apart');
  assert.equal((await panel.chart('loss')).series.filter((s) => s.part === 'train loss').length, 3);

  const table = panel.page.locator('#compare-table');
  assert.deepEqual(await table.locator('thead th').allTextContents(), ['Setting', 'was-shift-baseline', 'was-crop', 'baseline']);
  const row = (key: string) => table.locator(`tr[data-key="${key}"]`);
  assert.equal(await row('transform').getAttribute('class'), 'differs');
  assert.deepEqual(await row('transform').locator('td').allTextContents(), ['shift', 'crop', 'none']);
  assert.deepEqual(await row('transform').locator('td').evaluateAll((cells) => cells.map((c) => c.className)), ['', 'diff', 'diff']);
  assert.deepEqual(await row('lr').locator('td').allTextContents(), ['0.01', '0.02', '0.01']);
  assert.deepEqual(await row('lr').locator('td').evaluateAll((cells) => cells.map((c) => c.className)), ['', 'diff', '']);
  assert.equal(await row('seed').getAttribute('class'), null, 'same seed: not highlighted');
  assert.equal(await row('model').getAttribute('class'), null);
  const testAom = await row('test-aom').locator('td').allTextContents();
  // Each accuracy on a split with its 95% Wilson interval and n (issue 15).
  const withInterval = (accuracy: number, n: number) => {
    const ci = wilsonInterval(Math.round(accuracy * n), n);
    return `${(accuracy * 100).toFixed(2)}% [${(100 * ci.low).toFixed(1)}–${(100 * ci.high).toFixed(1)}%, n = ${n}]`;
  };
  const expected = [WAS_WITH_BASELINE, CROP, PLAIN].map((e) => withInterval(runEnd(e).test!.aom, runStart(e).dataset.test));
  assert.deepEqual(testAom, expected);
  const bestIndex = [WAS_WITH_BASELINE, CROP, PLAIN].map((e) => runEnd(e).test!.aom).reduce((b, v, i, all) => (v > all[b] ? i : b), 0);
  assert.deepEqual(await row('test-aom').locator('td.best').allTextContents(), [expected[bestIndex]], 'the best test accuracy is marked');
  assert.deepEqual(await row('baseline').locator('td').allTextContents(), [withInterval(runEnd(WAS_WITH_BASELINE).baseline!.test!.accuracy, 128), '—', '—']);

  // The host changes the picture: a run removed, another picked.
  await panel.send({ type: 'run-removed', runId: 'baseline' });
  assert.deepEqual(await table.locator('thead th').allTextContents(), ['Setting', 'was-shift-baseline', 'was-crop']);
  await panel.page.click('#run-select');
  await panel.page.locator('#run-select').getByRole('option', { name: 'was-crop', exact: true }).click();
  assert.deepEqual(await panel.waitForPosted('select-run'), { type: 'select-run', runId: 'was-crop' });
  await panel.settle();
  assert.equal(await table.locator('thead th').nth(1).textContent(), 'was-crop', 'the active run leads the table');
  screenshots.push(await panel.screenshot('panel-compare-dark.png'));
});

test('malformed host messages are logged and dropped; the page keeps working', async (t) => {
  const panel = await open(t, () => snapshot([run('was-shift', WAS)]));
  const before = await panel.charts();
  const bad: unknown[] = [
    null,
    'snapshot',
    42,
    [],
    {},
    { type: 'bogus' },
    { type: 'events', runId: 'was-shift', events: [{ type: 'step', time: 1 }] },
    { type: 'events', runId: 'was-shift', events: [...WAS.slice(0, 3), { type: 'epoch', time: 1, epoch: 'one' }] },
    { type: 'events', runId: '', events: [] },
    { type: 'mode', mode: 'both' },
    { type: 'run-status', runId: 'was-shift', status: 'exploded', reason: null },
    { type: 'compare', runIds: [1, 2] },
    { ...snapshot([run('x', [])]), protocolVersion: 99 },
    snapshot([run('x', []), run('x', [])]),
    { ...snapshot([]), settings: { smoothing: 5, lossLogScale: false } },
  ];
  for (const message of bad) await panel.sendAndSettle(message);
  const logs = panel.postedOf('log');
  assert.equal(logs.length, bad.length, 'each dropped message is reported to the host');
  assert.ok(logs.every((l) => l.level === 'warn' && l.message.startsWith('metrics panel dropped a malformed message: ')));
  assert.match(logs[6].message, /events\.events\[0\]: step\.time: expected a finite number|step\.epoch/);
  assert.equal(panel.consoleWarnings.filter((w) => w.includes('dropped a malformed message')).length, bad.length);
  assert.deepEqual(await panel.charts(), before, 'nothing changed');
  assert.equal(await panel.text('#mode-badge'), 'AOM');
  await panel.send({ type: 'mode', mode: 'dom' });
  assert.equal(await panel.text('#mode-badge'), 'DOM', 'a valid message after them still works');
});

test('the CSP is in force: inline scripts and styles are refused, the page itself needs neither', async (t) => {
  const panel = await open(t, () => snapshot([run('was-shift', WAS)]));
  const csp = await panel.page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
  assert.ok(csp?.startsWith("default-src 'none'; script-src 'nonce-"), csp ?? '');
  const nonce = /'nonce-([^']+)'/.exec(csp!)![1];
  assert.equal(csp, panelCsp('https://was-lab-webview.test', nonce));
  assert.equal(panel.cspViolations.length, 0);
  await panel.page.evaluate(`(() => {
    const style = document.createElement('style');
    style.textContent = 'body { color: red }';
    document.head.append(style);
    const script = document.createElement('script');
    script.textContent = 'window.inlineRan = true';
    document.body.append(script);
    document.body.setAttribute('style', 'color: red');
  })()`);
  await panel.settle();
  assert.equal(await panel.page.evaluate('window.inlineRan === true'), false, 'the inline script did not run');
  assert.ok(panel.cspViolations.some((v) => v.startsWith('script-src-elem')), panel.cspViolations.join('\n'));
  assert.ok(panel.cspViolations.some((v) => v.startsWith('style-src-elem')), panel.cspViolations.join('\n'));
  assert.ok(panel.cspViolations.some((v) => v.startsWith('style-src-attr')), panel.cspViolations.join('\n'));
  // Those were this test's own; the page must have caused none.
  panel.cspViolations.length = 0;
  panel.consoleErrors.splice(0, panel.consoleErrors.length, ...panel.consoleErrors.filter((e) => !e.includes('Content Security Policy')));
});

test('state survives a reload: smoothing and log scale come back, the host re-sends its snapshot', async (t) => {
  const panel = await open(t, () => snapshot([run('was-shift', WAS)]));
  assert.equal(panel.getStateCalls, 1, 'state read once at load');
  await panel.page.click('#smoothing');
  await panel.page.locator('#smoothing').getByRole('option', { name: '0.9', exact: true }).click();
  await panel.page.click('#loss-log');
  await panel.settle();
  let loss = await panel.chart('loss');
  assert.equal(loss.yScale, 'logarithmic');
  const raw = loss.series.find((s) => s.label === 'train loss (raw)')!;
  const smooth = loss.series.find((s) => s.label === 'train loss')!;
  assert.ok(raw.faint && !smooth.faint, 'smoothing draws the raw line faint under the EMA');
  const ys = steps(WAS).map((e) => e.loss);
  let ema = 0;
  let weight = 0;
  const expected = ys.map((y) => ((ema = ema * 0.9 + 0.1 * y), (weight = weight * 0.9 + 0.1), ema / weight));
  assert.ok(smooth.drawnY!.every((y, i) => close(y, expected[i])), 'debiased EMA at 0.9');

  await panel.reload();
  assert.equal(panel.getStateCalls, 2);
  assert.equal(panel.postedOf('ready').length, 2, 'ready again after the reload');
  assert.equal(await panel.page.evaluate(`document.querySelector('#smoothing').value`), '0.9');
  assert.equal(await panel.page.evaluate(`document.querySelector('#loss-log').checked`), true);
  loss = await panel.chart('loss');
  assert.equal(loss.yScale, 'logarithmic');
  assert.ok(loss.series.find((s) => s.label === 'train loss')!.drawnY!.every((y, i) => close(y, expected[i])));
});

test('long runs: 120,000 steps per series stay responsive (min/max downsampling)', async (t) => {
  const N = 120_000;
  const start = { ...runStart(WAS), stepsPerEpoch: 1000, epochs: 150 };
  const panel = await open(t, () => snapshot([]));
  // Generated in the page (a 25 MB message would mostly measure the test's own transfer).
  const script = `(() => {
    const N = ${N}, start = ${JSON.stringify(start)}, per = start.stepsPerEpoch;
    const events = [start];
    let seed = 1;
    const noise = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296 - 0.5);
    for (let i = 1; i <= N; i++) {
      const epoch = Math.floor((i - 1) / per) + 1, inEpoch = i - (epoch - 1) * per, t = start.time + i * 50;
      events.push({ type: 'step', time: t, epoch, step: i, stepInEpoch: inEpoch, stepsPerEpoch: per,
        loss: 2.3 * Math.exp(-i / 20000) + 0.05 + 0.1 * noise(), accuracy: Math.min(1, 0.1 + 0.85 * (1 - Math.exp(-i / 15000)) + 0.05 * noise()),
        lr: 0.05 * 0.5 * (1 + Math.cos(Math.PI * i / (per * start.epochs))), samplesPerSec: 1800 + 200 * noise() });
      if (inEpoch === per) events.push({ type: 'epoch', time: t + 10, epoch, trainLoss: 2.3 * Math.exp(-i / 20000), trainAccuracy: 0.9, aomAccuracy: 0.9 + 0.05 * (1 - Math.exp(-epoch / 30)),
        domAccuracy: 0.88 + 0.05 * (1 - Math.exp(-epoch / 30)), selectionSplit: 'validation', lr: 0.01, samplesPerSec: 1800, durationSec: 50, alphas: { conv2: 0.5 + 0.001 * epoch }, best: true, numTensors: 80 });
    }
    const hook = globalThis.${PANEL_TEST_HOOK};
    const before = hook.messages();
    const t0 = performance.now();
    postMessage({ type: 'snapshot', protocolVersion: 1, layout: 'full', runs: [{ runId: 'long', label: 'long run', status: 'running', reason: null, events }],
      activeRunId: 'long', compare: [], mode: 'aom', settings: { smoothing: 0, lossLogScale: false } }, '*');
    return new Promise((resolve) => {
      const poll = () => hook.renderedMessages() > before ? resolve({ ingestMs: performance.now() - t0, renderMs: hook.lastRenderMs(), events: events.length }) : setTimeout(poll, 5);
      poll();
    });
  })()`;
  const ingest = (await panel.page.evaluate(script)) as { ingestMs: number; renderMs: number; events: number };
  const loss = await panel.chart('loss');
  const series = loss.series.find((s) => s.label === 'train loss')!;
  assert.equal(series.rawCount, N);
  assert.ok(series.drawnCount < 5000, `drawn ${series.drawnCount} of ${N}`);
  assert.equal(series.last!.x, 120);
  for (const id of ['accuracy', 'lr', 'throughput']) {
    const s = (await panel.chart(id)).series[0];
    assert.equal(s.rawCount, N, id);
    assert.ok(s.drawnCount < 5000, `${id}: drawn ${s.drawnCount}`);
  }

  const full = (await panel.page.evaluate(`globalThis.${PANEL_TEST_HOOK}.fullRender()`)) as number;
  await panel.page.click('#smoothing');
  await panel.page.locator('#smoothing').getByRole('option', { name: '0.95', exact: true }).click();
  await panel.settle();
  const fullSmoothed = (await panel.page.evaluate(`globalThis.${PANEL_TEST_HOOK}.fullRender()`)) as number;
  // A live update on top: 100 more steps.
  const more = Array.from({ length: 100 }, (_, k) => {
    const i = N + k + 1;
    return { type: 'step', time: start.time + i * 50, epoch: 121, step: i, stepInEpoch: k + 1, stepsPerEpoch: 1000, loss: 0.1, accuracy: 0.95, lr: 0.001, samplesPerSec: 1800 };
  });
  await panel.send({ type: 'events', runId: 'long', events: more });
  const append = (await panel.page.evaluate(`globalThis.${PANEL_TEST_HOOK}.lastRenderMs()`)) as number;
  assert.equal((await panel.chart('loss')).series.find((s) => s.label === 'train loss')!.rawCount, N + 100);

  Object.assign(timings, {
    'long-run events': ingest.events,
    'long-run snapshot: parse + fold + first render (ms)': Math.round(ingest.ingestMs),
    'long-run first render alone (ms)': Math.round(ingest.renderMs),
    'long-run full re-render, 5 charts, caches dropped (ms)': Math.round(full),
    'long-run full re-render with EMA 0.95 recomputed (ms)': Math.round(fullSmoothed),
    'long-run render after appending 100 steps (ms)': Math.round(append),
  });
  for (const [k, v] of Object.entries(timings)) t.diagnostic(`${k}: ${v}`);
  screenshots.push(await panel.screenshot('long-run-120k-dark.png'));
});

test('follows the theme, light and dark (screenshots), and the compact layout of the bottom view', async (t) => {
  const runs: PanelRun[] = [run('was-shift-baseline', WAS_WITH_BASELINE), run('was-crop', CROP), run('baseline', PLAIN)];
  const panel = await open(t, () => snapshot(runs, { compare: ['was-crop'], smoothing: 0.6 }));
  let loss = await panel.chart('loss');
  assert.equal(loss.tickColor, '#cccccc');
  assert.equal(loss.gridColor, 'rgba(204, 204, 204, 0.5)');
  screenshots.push(await panel.screenshot('panel-dark.png'));

  await panel.setTheme('light');
  loss = await panel.chart('loss');
  assert.equal(loss.tickColor, '#616161', 'chart text follows --vscode-charts-foreground');
  assert.equal(loss.gridColor, 'rgba(97, 97, 97, 0.5)');
  assert.equal(loss.series.find((s) => !s.faint)!.color, '#1a85ff', 'series colours follow --vscode-charts-*');
  assert.equal(await panel.page.evaluate(`getComputedStyle(document.body).backgroundColor`), 'rgb(255, 255, 255)');
  screenshots.push(await panel.screenshot('panel-light.png'));

  const compact = await open(t, () => snapshot([run('live', WAS.slice(0, 40), 'running')], { layout: 'compact' }), {
    layout: 'compact',
    viewport: { width: 900, height: 330 },
  });
  // Issue 15: a summary, not a copy of the panel: the loss chart (it was loss and accuracy), the
  // numbers of both modes and the model; not samples/s, time or backend.
  assert.deepEqual((await compact.charts()).map((c) => c.id), ['loss']);
  assert.ok((await compact.chart('loss')).series.some((s) => s.drawnCount > 0), 'the compact view charts the loss');
  assert.ok(await compact.page.locator('#switch-mode').isVisible());
  assert.ok(!(await compact.page.locator('#compare-table').isVisible()));
  for (const id of ['fact-test', 'fact-best', 'fact-model']) assert.ok(await compact.page.locator(`#${id}`).isVisible(), `${id} in the compact view`);
  for (const id of ['fact-throughput', 'fact-time', 'fact-backend']) assert.ok(!(await compact.page.locator(`#${id}`).isVisible()), `${id} not in the compact view`);
  assert.match((await compact.page.locator('#fact-model').innerText()), /on /);
  screenshots.push(await compact.screenshot('compact-dark.png'));
});
