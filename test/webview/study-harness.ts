// The study page's harness for the Chromium tests: loads the built page (dist/study.js,
// media/study.css, HTML from renderPanelHtml under its real CSP) and plays the extension host as
// harness.ts does for the metrics page: it answers `ready` with the study, posts new study.json
// contents, and runs every message the page posts through the host's parser.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createNonce, renderPanelHtml } from '../../src/shared/panel-html';
import type { StudyResults } from '../../src/shared/study';
import { STUDY_PANEL_PROTOCOL_VERSION, parseStudyPageMessage, type StudyHostMessage, type StudyPageMessage } from '../../src/shared/study-panel-protocol';
import { STUDY_TEST_HOOK } from '../../webview/study/test-hook';
import type { GainChartInfo } from '../../webview/study/gain-chart';
import { ORIGIN, ROOT, STAND_IN, themeScript } from './harness';
import type { ThemeKind } from './themes';

export function studyMessage(json: Record<string, unknown>, live = false): StudyHostMessage {
  return { type: 'study', protocolVersion: STUDY_PANEL_PROTOCOL_VERSION, name: String(json.name), results: json as unknown as StudyResults, problem: null, live };
}

export class StudyPage {
  readonly posted: StudyPageMessage[] = [];
  readonly problems: string[] = [];

  constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    private readonly answer: () => unknown,
  ) {}

  static async open(browser: Browser, t: TestContext, answer: () => unknown, theme: ThemeKind = 'dark'): Promise<StudyPage> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const study = new StudyPage(context, page, answer);
    page.on('console', (m) => m.type() === 'error' && study.problems.push(`console error: ${m.text()}`));
    page.on('pageerror', (e) => study.problems.push(`pageerror: ${e.message}`));
    await page.exposeFunction('__standInPost', (json: string) => study.receive(json));
    await page.exposeFunction('__standInGetState', () => undefined);
    await page.exposeFunction('__standInCsp', (violation: string) => void study.problems.push(`CSP violation: ${violation}`));
    await page.addInitScript({ content: STAND_IN });
    await page.addInitScript({ content: themeScript(theme) });
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
