// The full metrics panel: one live instance (createOrShow reveals it), revived after a window
// reload by a WebviewPanelSerializer (no retainContextWhenHidden: the page asks for a snapshot
// whenever it loads, and keeps its own small UI state with setState).

import * as vscode from 'vscode';
import { MutableDisposable, type Disposable } from '../base/lifecycle';
import { showPage, webviewOptions, type PageDeps } from './webview-page';

export const METRICS_PANEL_VIEW_TYPE = 'wasLab.metrics';

class MetricsPanel implements Disposable {
  private readonly page: Disposable;
  private readonly closed: Disposable;
  private readonly viewState: Disposable;

  constructor(
    readonly panel: vscode.WebviewPanel,
    deps: PageDeps,
    onClosed: () => void,
  ) {
    this.page = showPage(panel.webview, 'full', deps);
    // The `was.panelOpen` context key (Open Metrics Panel is not offered while it is on screen).
    deps.state.setPanelVisible(panel.visible);
    this.viewState = panel.onDidChangeViewState((e) => deps.state.setPanelVisible(e.webviewPanel.visible));
    this.closed = panel.onDidDispose(() => {
      this.page.dispose();
      this.viewState.dispose();
      this.closed.dispose();
      deps.state.setPanelVisible(false);
      onClosed();
    });
  }

  dispose(): void {
    // Disposing the panel fires onDidDispose, which releases the rest.
    this.panel.dispose();
  }
}

/** Owns the one metrics panel (a mutable slot: a new one replaces and disposes the old). */
export class MetricsPanelHost implements vscode.WebviewPanelSerializer, Disposable {
  private readonly current = new MutableDisposable<MetricsPanel>();

  constructor(private readonly deps: PageDeps) {}

  get isOpen(): boolean {
    return this.current.value !== undefined;
  }

  createOrShow(): void {
    const open = this.current.value;
    if (open) {
      open.panel.reveal(undefined, false);
      return;
    }
    const panel = vscode.window.createWebviewPanel(METRICS_PANEL_VIEW_TYPE, 'WAS Lab', vscode.ViewColumn.Beside, webviewOptions(this.deps.extensionUri));
    this.adopt(panel);
  }

  /** After a reload VS Code hands back the panel it had; the page asks for its snapshot again. */
  async deserializeWebviewPanel(panel: vscode.WebviewPanel): Promise<void> {
    this.adopt(panel);
  }

  dispose(): void {
    this.current.dispose();
  }

  private adopt(panel: vscode.WebviewPanel): void {
    panel.iconPath = vscode.Uri.joinPath(this.deps.extensionUri, 'media', 'was-lab.svg');
    const instance: MetricsPanel = new MetricsPanel(panel, this.deps, () => {
      // Closed by the user: empty the slot without disposing twice.
      if (this.current.value === instance) this.current.clearAndLeak();
    });
    this.current.value = instance;
  }
}
