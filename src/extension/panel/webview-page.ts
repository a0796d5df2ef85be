// Puts the metrics page (src/shared/panel-html.ts, dist/webview.js) into a webview, the panel's or
// the bottom view's: scripts on, local resources only from dist/ and media/, every asset through
// asWebviewUri, a fresh nonce per render, and one PanelConnection that parses what the page says.

import * as vscode from 'vscode';
import { errorMessage } from '../../shared/errors';
import { createNonce, renderPanelHtml } from '../../shared/panel-html';
import type { PanelLayout } from '../../shared/panel-protocol';
import { DisposableStore, type Disposable } from '../base/lifecycle';
import { PanelConnection, type PanelConnectionOptions } from '../lab/panel-connection';

/** What a page needs from the rest of the extension (everything but where it is shown). */
export type PageDeps = Omit<PanelConnectionOptions, 'layout' | 'post'> & { extensionUri: vscode.Uri };

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

/** Renders the page into `webview` and connects it; the returned disposable disconnects it. */
export function showPage(webview: vscode.Webview, layout: PanelLayout, deps: PageDeps): Disposable & { connection: PanelConnection } {
  const asset = (...parts: string[]): string => webview.asWebviewUri(vscode.Uri.joinPath(deps.extensionUri, ...parts)).toString();
  webview.options = webviewOptions(deps.extensionUri);
  try {
    webview.html = renderPanelHtml({
      scriptUri: asset('dist', 'webview.js'),
      styleUri: asset('media', 'panel.css'),
      cspSource: webview.cspSource,
      nonce: createNonce(),
      title: layout === 'full' ? 'WAS Lab metrics' : 'WAS Lab metrics (compact)',
      layout,
    });
  } catch (error) {
    // Say so where the charts would be, rather than leave a blank page (nothing loads: default-src 'none').
    const message = `The metrics page could not be rendered: ${errorMessage(error)}`;
    deps.log(message);
    webview.html = `<!DOCTYPE html><html lang="en"><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'"></head><body><p>${message.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)}</p></body></html>`;
  }
  const store = new DisposableStore();
  const connection = store.add(new PanelConnection({ ...deps, layout, post: (message) => webview.postMessage(message) }));
  // Typed `any` by the API: it is `unknown` here, and the connection parses it.
  store.add(webview.onDidReceiveMessage((message: unknown) => connection.receive(message)));
  return { connection, dispose: () => store.dispose() };
}
