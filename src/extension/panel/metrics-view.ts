// The compact metrics view docked in the bottom panel: the same page in its 'compact' layout,
// following the active run. VS Code tears its webview down when hidden; shown again, the page
// loads, says `ready`, and gets a fresh snapshot.

import * as vscode from 'vscode';
import { MutableDisposable, type Disposable } from '../base/lifecycle';
import { showPage, type PageDeps } from './webview-page';

export const METRICS_VIEW_ID = 'wasLab.metricsView';

export class MetricsViewProvider implements vscode.WebviewViewProvider, Disposable {
  private readonly page = new MutableDisposable<Disposable>();

  constructor(private readonly deps: PageDeps) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    // Opened before any run was followed: follow the newest, so the view is not empty.
    if (this.deps.state.activeRunId === null) this.deps.state.setActiveRun(this.deps.runs.defaultRunId());
    this.page.value = showPage(view.webview, 'compact', this.deps);
    const closed = view.onDidDispose(() => {
      closed.dispose();
      this.page.clear();
    });
  }

  dispose(): void {
    this.page.dispose();
  }
}
