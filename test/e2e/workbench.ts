// Drives code-server's workbench in Chromium the way a user does: the command palette, quick
// picks, input boxes, notifications, the status bar, the Runs tree and the metrics webviews.

import type { Browser, Frame, Locator, Page } from 'playwright-core';
import { PANEL_TEST_HOOK, type TestChartInfo } from '../../webview/test-hook';
import type { GainChartInfo } from '../../webview/study/gain-chart';
import { STUDY_TEST_HOOK, type StudyTestHook } from '../../webview/study/test-hook';

export class Workbench {
  constructor(readonly page: Page) {}

  static async open(browser: Browser, url: string): Promise<Workbench> {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(url);
    const wb = new Workbench(page);
    await wb.ready();
    return wb;
  }

  /** The workbench is up and our extension's status bar item is showing (it activated). */
  async ready(): Promise<void> {
    await this.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await this.modeItem().waitFor({ timeout: 60_000 });
  }

  /** Runs a palette command by its full title (`WAS: Start Training`). */
  async command(title: string): Promise<void> {
    await this.closeQuickInput();
    await this.page.keyboard.press('F1');
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor();
    await input.fill(`>${title}`);
    await this.pick(title, { exact: true });
  }

  /** Opens a workspace file in an editor with Quick Open. */
  async openFile(name: string): Promise<void> {
    await this.closeQuickInput();
    await this.page.keyboard.press('Control+P');
    await this.page.locator('.quick-input-widget .quick-input-box input').fill(name);
    await this.pick(name);
    await this.page.locator(`.tab[aria-label^="${name}"]`).first().waitFor();
  }

  /** Chooses the quick-pick row whose label is `label` (exact), or whose text contains it. */
  async pick(label: string, options: { exact?: boolean } = {}): Promise<void> {
    const rows = this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
    const row = options.exact ? rows.filter({ has: this.page.locator('.label-name', { hasText: exactText(label) }) }) : rows.filter({ hasText: label });
    await row.first().waitFor({ timeout: 20_000 });
    // Keys, not a click: a quick pick that is still settling moves under the mouse. The list can
    // still change between reading it and the keys landing, so the focused row is checked before
    // Enter, and the moves start again (at most 3 times) when it is not the one wanted.
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    for (let attempt = 1; ; attempt++) {
      const index = Number(await row.first().getAttribute('data-index'));
      const focused = await rows.evaluateAll((els) => Number(els.find((e) => e.classList.contains('focused'))?.getAttribute('data-index') ?? 0));
      for (let i = focused; i < index; i++) await input.press('ArrowDown');
      for (let i = focused; i > index; i--) await input.press('ArrowUp');
      const now = await row.first().evaluate((e) => e.classList.contains('focused')).catch(() => false);
      if (now || attempt === 3) {
        if (!now) console.log(`e2e: choosing "${label}" without seeing its row focused`);
        break;
      }
      console.log(`e2e: the pick moved while choosing "${label}"; choosing again (attempt ${attempt + 1})`);
    }
    await input.press('Enter');
  }

  /**
   * Answers the input box titled `title` with Enter. Under load a key can land before the box
   * takes it: Enter is pressed again (at most 3 times) while the same box is still showing.
   */
  async answerInput(title: string, value?: string): Promise<void> {
    const box = this.page.locator('.quick-input-widget', { has: this.page.locator('.quick-input-title', { hasText: title }) });
    await box.waitFor({ timeout: 20_000 });
    const input = box.locator('.quick-input-box input');
    if (value !== undefined) await input.fill(value);
    for (let attempt = 1; ; attempt++) {
      await input.press('Enter');
      const closed = await box.waitFor({ state: 'hidden', timeout: 10_000 }).then(() => true, () => false);
      if (closed || attempt === 3) return;
      console.log(`e2e: the input box "${title}" is still open after Enter; pressing it again (attempt ${attempt + 1})`);
    }
  }

  /** What the workbench shows that a failure report needs: toasts, the quick input, the status bar. */
  async describe(): Promise<string> {
    const texts = async (selector: string): Promise<string[]> => (await this.page.locator(selector).allInnerTexts().catch(() => [])).map((t) => t.replace(/\s+/g, ' ').trim()).filter(Boolean);
    return [
      `notifications: ${JSON.stringify(await texts('.notifications-toasts .notification-toast'))}`,
      `quick input: ${JSON.stringify(await texts('.quick-input-widget:visible .quick-input-title, .quick-input-widget:visible .quick-input-box input'))}`,
      `status bar: ${JSON.stringify(await texts('.statusbar-item[id^="was-lab"]'))}`,
    ].join('\n');
  }

  async closeQuickInput(): Promise<void> {
    if (await this.page.locator('.quick-input-widget').isVisible()) await this.page.keyboard.press('Escape');
  }

  /** A notification toast whose message matches. */
  notification(text: string | RegExp): Locator {
    return this.page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
  }

  modeItem(): Locator {
    return this.page.locator('.statusbar-item[id$="was.mode"]');
  }

  async modeText(): Promise<string> {
    return ((await this.modeItem().innerText()) ?? '').trim();
  }

  /** Opens the WAS Lab view container and returns the Runs tree's rows. */
  async runsTree(): Promise<Locator> {
    const view = this.page.locator('.pane-body[aria-label*="Runs"], .pane:has(.pane-header[aria-label*="Runs"]) .pane-body').first();
    if (!(await view.isVisible())) {
      await this.page.locator('.activitybar .action-item a[aria-label^="WAS Lab"], .activitybar .action-item [aria-label^="WAS Lab"]').first().click();
      await view.waitFor();
    }
    return view.locator('.monaco-list-row');
  }

  /**
   * The metrics webview with this layout ('full': the editor panel, 'compact': the bottom view).
   * Webviews are nested frames; the page's test hook tells ours apart.
   */
  async panel(layout: 'full' | 'compact' = 'full', timeoutMs = 30_000): Promise<Panel> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const frame of this.page.frames()) {
        const found = await frame
          .evaluate(([hook, want]) => hook in globalThis && (globalThis as unknown as PageGlobals).document?.body?.dataset.layout === want, [PANEL_TEST_HOOK, layout] as const)
          .catch(() => false);
        if (found) return new Panel(frame);
      }
      await this.page.waitForTimeout(250);
    }
    throw new Error(`no ${layout} WAS Lab metrics webview within ${timeoutMs} ms`);
  }

  /** The Study panel's webview (its page's test hook tells it apart). */
  async studyPage(timeoutMs = 30_000): Promise<StudyPage> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const frame of this.page.frames()) {
        const found = await frame.evaluate((hook) => hook in globalThis, STUDY_TEST_HOOK).catch(() => false);
        if (found) return new StudyPage(frame);
      }
      await this.page.waitForTimeout(250);
    }
    throw new Error(`no WAS Lab study webview within ${timeoutMs} ms`);
  }

  async screenshot(file: string): Promise<void> {
    await this.page.screenshot({ path: file });
  }
}

export class StudyPage {
  constructor(readonly frame: Frame) {}

  /** The cell ids the table shows, in order. */
  rows(): Promise<string[]> {
    return this.frame.evaluate((hook) => (globalThis as unknown as Record<string, StudyTestHook>)[hook]!.rows(), STUDY_TEST_HOOK);
  }

  chart(): Promise<GainChartInfo> {
    return this.frame.evaluate((hook) => (globalThis as unknown as Record<string, StudyTestHook>)[hook]!.chart(), STUDY_TEST_HOOK);
  }

  /** The text of a cell's column ("n", "gainAom", ...). */
  async cell(cellId: string, column: string): Promise<string> {
    return ((await this.frame.locator(`tr[data-cell="${cellId}"] td[data-column="${column}"]`).textContent()) ?? '').trim();
  }
}

export class Panel {
  constructor(readonly frame: Frame) {}

  charts(): Promise<TestChartInfo[]> {
    return this.frame.evaluate((hook) => (globalThis as unknown as Record<string, { charts(): TestChartInfo[] }>)[hook]!.charts(), PANEL_TEST_HOOK);
  }

  /** Points in the named chart's series whose label matches. */
  async points(chartId: string, label: RegExp): Promise<number> {
    const chart = (await this.charts()).find((c) => c.id === chartId);
    return chart?.series.filter((s) => label.test(s.label)).reduce((n, s) => n + s.rawCount, 0) ?? 0;
  }

  text(id: string): Promise<string> {
    return this.frame.locator(`#${id}`).innerText();
  }

  button(id: 'stop' | 'switch-mode' | 'export-weights'): Locator {
    return this.frame.locator(`#${id}`);
  }

  /** The run status the page shows (data-status of #run-status). */
  async status(): Promise<string | undefined> {
    return (await this.frame.locator('#run-status').getAttribute('data-status')) ?? undefined;
  }

  async mode(): Promise<string | undefined> {
    return this.frame.evaluate(() => (globalThis as unknown as PageGlobals).document?.body?.dataset.mode);
  }
}

/** The page globals these callbacks read, typed without the DOM library (this file runs in Node;
 *  the callbacks run in the page, so they cannot call helpers from here). */
type PageGlobals = { document?: { body?: { dataset: Record<string, string | undefined> } } };

function exactText(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}

/** Polls `probe` until it returns a truthy value; the error names what was awaited. */
export async function until<T>(what: string, probe: () => Promise<T> | T, timeoutMs = 60_000, everyMs = 250): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
