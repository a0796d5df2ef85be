// The Study panel: one live instance showing one study (show(name) reveals it, switching study if
// another is asked for), revived after a window reload by a WebviewPanelSerializer from the page's
// saved state (which names the study). The page is dist/study.js in the same HTML and CSP as the metrics page
// (src/shared/panel-html.ts); a StudyPanelConnection parses what it says and posts the study
// whenever study.json changes (the StudyWatcher) or this window's study process moves.

import * as vscode from 'vscode';
import { errorMessage } from '../../shared/errors';
import { runNameProblem } from '../../shared/run-naming';
import { isObject } from '../../shared/validate';
import { createNonce, renderPanelHtml } from '../../shared/panel-html';
import type { Event } from '../base/emitter';
import { DisposableStore, MutableDisposable, type Disposable } from '../base/lifecycle';
import { StudyPanelConnection } from '../lab/study-panel-connection';
import type { StudyEntry } from '../runs/study-store';
import { webviewOptions } from './webview-page';

export const STUDY_PANEL_VIEW_TYPE = 'wasLab.study';

export interface StudyPanelDeps {
  extensionUri: vscode.Uri;
  read(name: string): StudyEntry | undefined;
  live(name: string): boolean;
  /** Fires when a study.json or a study process changed. */
  onDidChange: Event<void>;
  openRun(study: string, run: string): void;
  log(line: string): void;
}

class StudyPanel implements Disposable {
  private readonly store = new DisposableStore();
  private connection: StudyPanelConnection;

  constructor(
    readonly panel: vscode.WebviewPanel,
    name: string,
    private readonly deps: StudyPanelDeps,
    onClosed: () => void,
  ) {
    this.connection = this.connect(name);
    this.render();
    this.store.add(panel.webview.onDidReceiveMessage((message: unknown) => this.connection.receive(message)));
    this.store.add(deps.onDidChange(() => this.connection.refresh()));
    this.store.add(
      panel.onDidDispose(() => {
        this.connection.dispose();
        this.store.dispose();
        onClosed();
      }),
    );
  }

  get name(): string {
    return this.connection.name;
  }

  /** Show another study: the page reloads and asks for it. */
  switchTo(name: string): void {
    this.connection.dispose();
    this.connection = this.connect(name);
    this.render();
  }

  dispose(): void {
    this.panel.dispose();
  }

  private connect(name: string): StudyPanelConnection {
    this.panel.title = `Study: ${name}`;
    const deps = this.deps;
    return new StudyPanelConnection({
      name,
      read: () => deps.read(name),
      live: () => deps.live(name),
      post: (message) => void this.panel.webview.postMessage(message),
      openRun: (run) => deps.openRun(name, run),
      log: deps.log,
    });
  }

  private render(): void {
    const webview = this.panel.webview;
    webview.options = webviewOptions(this.deps.extensionUri);
    const asset = (...parts: string[]): string => webview.asWebviewUri(vscode.Uri.joinPath(this.deps.extensionUri, ...parts)).toString();
    try {
      webview.html = renderPanelHtml({ scriptUri: asset('dist', 'study.js'), styleUri: asset('media', 'study.css'), cspSource: webview.cspSource, nonce: createNonce(), title: `WAS Lab study ${this.name}` });
    } catch (error) {
      const message = `The study page could not be rendered: ${errorMessage(error)}`;
      this.deps.log(message);
      webview.html = `<!DOCTYPE html><html lang="en"><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'"></head><body><p>${message.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)}</p></body></html>`;
    }
  }
}

export class StudyPanelHost implements vscode.WebviewPanelSerializer, Disposable {
  private readonly current = new MutableDisposable<StudyPanel>();

  constructor(private readonly deps: StudyPanelDeps) {}

  /** The study shown, if the panel is open. */
  get shownStudy(): string | undefined {
    return this.current.value?.name;
  }

  show(name: string): void {
    const open = this.current.value;
    if (open) {
      if (open.name !== name) open.switchTo(name);
      open.panel.reveal(undefined, false);
      return;
    }
    this.adopt(vscode.window.createWebviewPanel(STUDY_PANEL_VIEW_TYPE, `Study: ${name}`, vscode.ViewColumn.Active, webviewOptions(this.deps.extensionUri)), name);
  }

  /** After a reload: the page's saved state names its study (a folder name, checked); without one the panel closes. */
  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const name = isObject(state) && typeof state.study === 'string' && runNameProblem(state.study) === null ? state.study : null;
    if (name === null) {
      panel.dispose();
      return;
    }
    this.adopt(panel, name);
  }

  private adopt(panel: vscode.WebviewPanel, name: string): void {
    panel.iconPath = vscode.Uri.joinPath(this.deps.extensionUri, 'media', 'was-lab.svg');
    const instance: StudyPanel = new StudyPanel(panel, name, this.deps, () => {
      if (this.current.value === instance) this.current.clearAndLeak();
    });
    this.current.value = instance;
  }

  dispose(): void {
    this.current.dispose();
  }
}
