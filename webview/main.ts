// The metrics panel's entry point, bundled by esbuild into dist/webview.js (chart.js and the
// vscode-elements components included): the page loads nothing else but media/panel.css.
// The HTML around it comes from renderPanelHtml (src/shared/panel-html.ts), which also states
// the Content-Security-Policy this bundle runs under.

import './csp-nonce';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import { PanelApp } from './app';
import { installTestHook } from './test-hook';
import { connectToHost } from './vscode-api';

const root = document.getElementById('app');
if (!root) throw new Error('WAS Lab panel: the page has no #app element');
const app = new PanelApp(connectToHost(), root);
installTestHook(app.testHook());
app.start();
