// The study page's entry point, bundled by esbuild into dist/study.js (@tanstack/table-core and
// chart.js included); the HTML and its CSP are renderPanelHtml's (src/shared/panel-html.ts), with
// media/study.css.

import { StudyApp } from './app';
import { connectToStudyHost } from './host';
import { installStudyTestHook } from './test-hook';

const root = document.getElementById('app');
if (!root) throw new Error('WAS Lab study page: the page has no #app element');
const app = new StudyApp(connectToStudyHost(), root);
installStudyTestHook(app.testHook());
app.start();
