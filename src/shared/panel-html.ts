// The HTML page of the metrics webview (panel and bottom view), as a plain string: host-neutral,
// no `vscode` import, so the extension host and the webview tests build the very same page.
//
// The Content-Security-Policy it sets (panelCsp), and why each part is enough:
//   default-src 'none'                  nothing loads unless listed below (no fetch, no frames)
//   script-src 'nonce-<nonce>'           only our bundle (dist/webview.js) runs: no inline
//                                        scripts, no eval (chart.js and Lit need none)
//   style-src <cspSource> 'nonce-<nonce>' media/panel.css from the extension; no inline styles.
//                                        vscode-elements (Lit) styles its components with
//                                        constructable stylesheets (adoptedStyleSheets), which
//                                        CSP does not govern; where a browser lacks them Lit
//                                        falls back to <style nonce> using the page nonce
//                                        (webview/csp-nonce.ts). Style *properties* set from
//                                        script (chart.js sizing its canvas) are allowed;
//                                        style *attributes* are not, and the page sets none.
//   img-src <cspSource>, font-src <cspSource>  local files only (none are used today)
//   base-uri 'none'; form-action 'none'
// <cspSource> is `webview.cspSource`; the nonce must be fresh for every render (createNonce).
// The host must also limit `localResourceRoots` to dist/ and media/ and enable scripts.

import type { PanelLayout } from './panel-protocol';

export interface PanelHtmlOptions {
  /** `webview.asWebviewUri(<extension>/dist/webview.js)`, as a string. */
  scriptUri: string;
  /** `webview.asWebviewUri(<extension>/media/panel.css)`, as a string. */
  styleUri: string;
  /** `webview.cspSource`. */
  cspSource: string;
  /** A fresh nonce for this render (createNonce()). */
  nonce: string;
  /** The document title (screen readers); the tab title is the panel's own. */
  title?: string;
  /** 'compact' for the view docked in the bottom panel; the snapshot may change it later. */
  layout?: PanelLayout;
}

const NONCE = /^[A-Za-z0-9+/_=-]{16,128}$/;

/** A random nonce: 32 URL-safe base64 characters from the platform's CSPRNG. */
export function createNonce(): string {
  const bytes = new Uint8Array(24);
  globalThis.crypto.getRandomValues(bytes);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += alphabet[(n >> 18) & 63] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + alphabet[n & 63];
  }
  return out;
}

export function panelCsp(cspSource: string, nonce: string): string {
  checkCspParts(cspSource, nonce);
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `img-src ${cspSource}`,
    `font-src ${cspSource}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

export function renderPanelHtml(options: PanelHtmlOptions): string {
  const { scriptUri, styleUri, cspSource, nonce } = options;
  const csp = panelCsp(cspSource, nonce);
  const title = options.title ?? 'WAS Lab metrics';
  const layout: PanelLayout = options.layout ?? 'full';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${attr(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${attr(styleUri)}" nonce="${attr(nonce)}">
<title>${text(title)}</title>
</head>
<body data-layout="${layout}">
<main id="app" aria-label="${attr(title)}"></main>
<script nonce="${attr(nonce)}" src="${attr(scriptUri)}"></script>
</body>
</html>
`;
}

function checkCspParts(cspSource: string, nonce: string): void {
  if (!NONCE.test(nonce)) throw new Error('renderPanelHtml: the nonce must be 16-128 base64 characters');
  // VS Code's webview.cspSource is a list, e.g. "'self' https://*.vscode-cdn.net": check each
  // token; refuse anything that would widen the policy (a bare *, 'unsafe-*', nonces, separators).
  const tokens = cspSource.trim().split(/ +/);
  const safe = (t: string) => t === "'self'" || (/^[a-z][a-z0-9+.-]*:(\/\/[^\s;,'"]+)?\/?$/i.test(t) && !/^\*$/.test(t));
  if (cspSource.trim() === '' || /[\r\n\t;,]/.test(cspSource) || !tokens.every(safe))
    throw new Error(`renderPanelHtml: cspSource "${cspSource}" is not a list of host or 'self' source expressions`);
}

function attr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function text(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
