// Loads the built metrics panel (dist/webview.js, media/panel.css, HTML from renderPanelHtml
// with a real CSP and a fresh nonce) in headless Chromium, playing the extension host's part:
// it answers `ready` with a snapshot, posts host messages, and records what the page posts,
// each parsed with parseWebviewMessage as the real host does. VS Code's webview API cannot run
// here, so an `acquireVsCodeApi` stand-in is injected before the page's scripts: it forwards
// posted messages (JSON round trip, as VS Code does) and keeps get/setState in sessionStorage,
// which survives a reload as VS Code's state does. The theme is applied the way VS Code does
// it: --vscode-* variables on <html> and a vscode-dark / vscode-light class on <body>.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createNonce, renderPanelHtml } from '../../src/shared/panel-html';
import {
  DEFAULT_PANEL_SETTINGS,
  PANEL_PROTOCOL_VERSION,
  parseWebviewMessage,
  type HostMessage,
  type PanelLayout,
  type PanelRun,
  type WebviewMessage,
} from '../../src/shared/panel-protocol';
import { parseEventLines, type InferenceMode, type TrainerEvent } from '../../src/shared/protocol';
import { PANEL_TEST_HOOK, type TestChartInfo } from '../../webview/test-hook';
import { THEMES, type ThemeKind } from './themes';

export const ROOT = path.resolve(__dirname, '../..');
export const ARTIFACTS = path.join(ROOT, 'test-artifacts/webview');
/** The page's origin; stands in for VS Code's webview resource origin (webview.cspSource). */
export const ORIGIN = 'https://was-lab-webview.test';
const FIXTURES = path.join(ROOT, 'test/fixtures/webview');

export function fixtureEvents(name: string): TrainerEvent[] {
  const { events, tornLastLine } = parseEventLines(fs.readFileSync(path.join(FIXTURES, `${name}.metrics.jsonl`), 'utf8'));
  if (tornLastLine) throw new Error(`fixture ${name} has a torn last line`);
  return events;
}

export function run(runId: string, events: TrainerEvent[], status: PanelRun['status'] = 'completed', label = runId): PanelRun {
  return { runId, label, status, reason: null, events };
}

export function snapshot(runs: PanelRun[], options: { activeRunId?: string | null; compare?: string[]; mode?: InferenceMode; layout?: PanelLayout; smoothing?: number } = {}): HostMessage {
  return {
    type: 'snapshot',
    protocolVersion: PANEL_PROTOCOL_VERSION,
    layout: options.layout ?? 'full',
    runs,
    activeRunId: options.activeRunId === undefined ? (runs[0]?.runId ?? null) : options.activeRunId,
    compare: options.compare ?? [],
    mode: options.mode ?? 'aom',
    settings: { ...DEFAULT_PANEL_SETTINGS, smoothing: options.smoothing ?? 0 },
  };
}

/** Test-only stand-in for the API VS Code injects into webviews (which cannot run here). */
export const STAND_IN = `(() => {
  const STATE_KEY = 'was-lab-stand-in-state';
  let acquired = false;
  window.acquireVsCodeApi = () => {
    if (acquired) throw new Error('acquireVsCodeApi may be called once per page');
    acquired = true;
    return Object.freeze({
      postMessage: (message) => window.__standInPost(JSON.stringify(message)),
      getState: () => {
        window.__standInGetState();
        const s = sessionStorage.getItem(STATE_KEY);
        return s === null ? undefined : JSON.parse(s);
      },
      setState: (state) => {
        sessionStorage.setItem(STATE_KEY, JSON.stringify(state));
        return state;
      },
    });
  };
  document.addEventListener('securitypolicyviolation', (e) =>
    window.__standInCsp(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber));
})();`;

export function themeScript(kind: ThemeKind): string {
  return `(() => {
  const vars = ${JSON.stringify(THEMES[kind])};
  const kind = ${JSON.stringify(kind)};
  const apply = () => {
    for (const [name, value] of Object.entries(vars)) document.documentElement.style.setProperty(name, value);
    document.body.classList.remove('vscode-light', 'vscode-dark');
    document.body.classList.add('vscode-' + kind);
  };
  if (document.body) apply();
  else new MutationObserver((_records, observer) => {
    if (document.body) { observer.disconnect(); apply(); }
  }).observe(document, { childList: true, subtree: true });
})();`;
}

export interface OpenOptions {
  /** What the host answers to `ready` (called at each `ready`, so a test can change it). */
  snapshot: () => HostMessage | null;
  theme?: ThemeKind;
  layout?: PanelLayout;
  viewport?: { width: number; height: number };
}

export class PanelPage {
  readonly posted: WebviewMessage[] = [];
  /** Messages the page posted that the host's parser refused. */
  readonly refused: string[] = [];
  readonly consoleErrors: string[] = [];
  readonly consoleWarnings: string[] = [];
  readonly cspViolations: string[] = [];
  getStateCalls = 0;
  /** The host's answer to the latest `ready` (the snapshot post), once one was sent. */
  private answered: Promise<boolean> | null = null;
  private readonly snapshotFor: () => HostMessage | null;

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    options: OpenOptions,
  ) {
    this.snapshotFor = options.snapshot;
  }

  static async open(browser: Browser, options: OpenOptions): Promise<PanelPage> {
    const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const panel = new PanelPage(context, page, options);
    page.on('console', (m) => {
      if (m.type() === 'error') panel.consoleErrors.push(m.text());
      if (m.type() === 'warning') panel.consoleWarnings.push(m.text());
    });
    page.on('pageerror', (e) => panel.consoleErrors.push(`pageerror: ${e.message}`));
    await page.exposeFunction('__standInPost', (json: string) => panel.receive(json));
    await page.exposeFunction('__standInGetState', () => void panel.getStateCalls++);
    await page.exposeFunction('__standInCsp', (violation: string) => void panel.cspViolations.push(violation));
    await page.addInitScript({ content: STAND_IN });
    await page.addInitScript({ content: themeScript(options.theme ?? 'dark') });
    const layout = options.layout ?? 'full';
    await context.route(`${ORIGIN}/**`, async (route) => {
      const url = new URL(route.request().url());
      const file = (rel: string, contentType: string) => route.fulfill({ status: 200, contentType, body: fs.readFileSync(path.join(ROOT, rel)) });
      if (url.pathname === '/index.html')
        return route.fulfill({
          status: 200,
          contentType: 'text/html; charset=utf-8',
          body: renderPanelHtml({ scriptUri: `${ORIGIN}/dist/webview.js`, styleUri: `${ORIGIN}/media/panel.css`, cspSource: ORIGIN, nonce: createNonce(), layout }),
        });
      if (url.pathname === '/dist/webview.js') return file('dist/webview.js', 'text/javascript');
      if (url.pathname === '/media/panel.css') return file('media/panel.css', 'text/css');
      return route.fulfill({ status: 404, body: '' });
    });
    await panel.load(() => page.goto(`${ORIGIN}/index.html`));
    return panel;
  }

  /** Reload the page (as VS Code does when a hidden webview is shown again, or after a window reload). */
  async reload(): Promise<void> {
    await this.load(() => this.page.reload());
  }

  /** Post a host message (JSON round trip, as VS Code serializes it) and wait for the render it causes. */
  async send(message: unknown): Promise<void> {
    const before = (await this.page.evaluate(`globalThis.${PANEL_TEST_HOOK}.messages()`)) as number;
    await this.post(message);
    await this.waitUntil(`globalThis.${PANEL_TEST_HOOK}.renderedMessages() > ${before}`);
  }

  /** Post a message that may cause no render (a malformed one), and let the page handle it. */
  async sendAndSettle(message: unknown): Promise<void> {
    await this.post(message);
    await this.settle();
  }

  async settle(): Promise<void> {
    await this.page.evaluate('new Promise((resolve) => setTimeout(() => requestAnimationFrame(() => requestAnimationFrame(resolve)), 0))');
  }

  /**
   * Wait until a JavaScript expression is true in the page. (page.waitForFunction evaluates its
   * predicate with eval, which the page's CSP rightly refuses; this polls from a CDP evaluation.)
   */
  async waitUntil(expression: string, timeoutMs = 10_000): Promise<void> {
    const ok = await this.page.evaluate(`new Promise((resolve) => {
      const deadline = performance.now() + ${timeoutMs};
      const poll = () => {
        if (${expression}) resolve(true);
        else if (performance.now() > deadline) resolve(false);
        else setTimeout(poll, 5);
      };
      poll();
    })`);
    if (ok !== true) throw new Error(`timed out waiting for ${expression}`);
  }

  /** A vscode-elements control's `disabled` property (it is not a native form control). */
  async disabled(selector: string): Promise<boolean> {
    return (await this.page.evaluate(`document.querySelector(${JSON.stringify(selector)}).disabled === true`)) as boolean;
  }

  async renders(): Promise<number> {
    return (await this.page.evaluate(`globalThis.${PANEL_TEST_HOOK}.renders()`)) as number;
  }

  async charts(): Promise<TestChartInfo[]> {
    return (await this.page.evaluate(`globalThis.${PANEL_TEST_HOOK}.charts()`)) as TestChartInfo[];
  }

  async chart(id: string): Promise<TestChartInfo> {
    const chart = (await this.charts()).find((c) => c.id === id);
    if (!chart) throw new Error(`no chart ${id}`);
    return chart;
  }

  async text(selector: string): Promise<string> {
    return ((await this.page.locator(selector).textContent()) ?? '').trim();
  }

  /** The messages of one type posted so far. */
  postedOf<T extends WebviewMessage['type']>(type: T): Extract<WebviewMessage, { type: T }>[] {
    return this.posted.filter((m): m is Extract<WebviewMessage, { type: T }> => m.type === type);
  }

  async waitForPosted<T extends WebviewMessage['type']>(type: T, count = 1, timeoutMs = 5000): Promise<Extract<WebviewMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    while (this.postedOf(type).length < count) {
      if (Date.now() > deadline) throw new Error(`the page did not post ${count} "${type}" message(s); posted: ${this.posted.map((m) => m.type).join(', ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.postedOf(type)[count - 1];
  }

  /** Switch the theme in place, as VS Code does when the user picks another one. */
  async setTheme(kind: ThemeKind): Promise<void> {
    const before = await this.renders();
    await this.page.evaluate(themeScript(kind));
    await this.waitUntil(`globalThis.${PANEL_TEST_HOOK}.renders() > ${before}`);
  }

  async screenshot(name: string): Promise<string> {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, name);
    await this.page.screenshot({ path: file, fullPage: true });
    return path.relative(ROOT, file);
  }

  /** Console errors, CSP violations, and messages the host would refuse: none are allowed. */
  problems(): string[] {
    return [
      ...this.consoleErrors.map((e) => `console error: ${e}`),
      ...this.cspViolations.map((v) => `CSP violation: ${v}`),
      ...this.refused.map((r) => `refused message: ${r}`),
    ];
  }

  async close(): Promise<void> {
    await this.context.close();
  }

  private async post(message: unknown): Promise<void> {
    await this.page.evaluate(
      (json) => (globalThis as unknown as { postMessage(message: unknown, target: string): void }).postMessage(JSON.parse(json), '*'),
      JSON.stringify(message),
    );
  }

  /** Navigate, then wait for the page's `ready` and the render of the snapshot sent in answer. */
  private async load(navigate: () => Promise<unknown>): Promise<void> {
    const readies = this.postedOf('ready').length;
    this.answered = null;
    await navigate();
    await this.waitForPosted('ready', readies + 1);
    const answered = await this.waitForAnswer();
    if (answered) await this.waitUntil(`globalThis.${PANEL_TEST_HOOK}.renderedMessages() >= 1`);
    else await this.settle();
  }

  private async waitForAnswer(): Promise<boolean> {
    for (let i = 0; i < 100 && this.answered === null; i++) await new Promise((r) => setTimeout(r, 5));
    if (this.answered === null) return false;
    return this.answered;
  }

  private receive(json: string): void {
    let message: WebviewMessage;
    try {
      message = parseWebviewMessage(JSON.parse(json));
    } catch (error) {
      this.refused.push(`${(error as Error).message}: ${json.slice(0, 200)}`);
      return;
    }
    this.posted.push(message);
    if (message.type === 'ready') {
      const answer = this.snapshotFor();
      this.answered = answer
        ? this.post(answer).then(
            () => true,
            () => false,
          )
        : Promise.resolve(false);
    }
  }
}
