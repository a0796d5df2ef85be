// Install TensorFlow Backend (src/extension/runs/backend-install.ts) with REAL npm runs: a real
// `npm install @tensorflow/tfjs-node@4.22.0` whose install script cannot download libtensorflow
// (the package and its dependencies come from the npm registry; the libtensorflow download is
// pointed at a closed local port with the package's own TFJS_NODE_CDN_STORAGE variable, so it
// fails the same way on every machine; here Google's storage host does not resolve at all,
// which gives the same error path with ENOTFOUND); a real `npm install webgpu@0.6.2` (Dawn, for
// the WebGPU backend), whose dawn.node for this platform is then loaded as the trainer loads it.
// Also: npm missing, a cancelled install, and the detection of a finished install and of the Dawn
// a platform-specific .vsix carries.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { dawnFolder } from '../../src/shared/node/dawn';
import { bundledDawn, explainInstallFailure, installArgs, installBackend, installedBackends, WEBGPU_VERSION } from '../../src/extension/runs/backend-install';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'was-backend-'));
// webgpu alone is ~132 MB installed.
after(() => fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 5 }));

/** A local port with nothing listening: a download from it is refused at once. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('a real npm install whose libtensorflow download fails: a clear error naming the download, the folder left usable', { timeout: 240_000 }, async () => {
  const folder = path.join(tmp, 'backends');
  const lines: string[] = [];
  const port = await closedPort();
  const result = await installBackend({
    folder,
    pkg: '@tensorflow/tfjs-node',
    env: { ...process.env, TFJS_NODE_CDN_STORAGE: `http://127.0.0.1:${port}/` },
    onLine: (l) => lines.push(l),
  });
  assert.equal(result.ok, false, lines.join('\n'));
  if (result.ok) return;
  assert.notEqual(result.exitCode, 0);
  assert.match(result.message, /^npm fetched @tensorflow\/tfjs-node, but its install script could not download libtensorflow from http:\/\/127\.0\.0\.1:\d+\/.*libtensorflow-cpu-linux-x86_64-2\.9\.1\.tar\.gz \(ECONNREFUSED\)\. This machine cannot reach that host/);
  assert.match(result.message, /Training keeps using the wasm backend/);
  assert.match(lines[0], /^\$ npm install @tensorflow\/tfjs-node@4\.22\.0 /);
  assert.ok(lines.some((l) => /Downloading libtensorflow|libtensorflow/.test(l)), 'npm\'s own output was relayed line by line');
  assert.deepEqual(installedBackends(folder), [], 'nothing counts as installed');
  assert.equal(JSON.parse(fs.readFileSync(path.join(folder, 'package.json'), 'utf8')).name, 'was-lab-backends', 'its own package.json keeps npm out of parent projects');
});

test('npm not found: says so, no exception', async () => {
  const result = await installBackend({ folder: path.join(tmp, 'no-npm'), pkg: '@tensorflow/tfjs-node-gpu', npm: path.join(tmp, 'no-such-npm') });
  assert.deepEqual(result, { ok: false, message: `npm was not found (${path.join(tmp, 'no-such-npm')}): install Node.js, which brings npm, and try again`, exitCode: null });
});

test('a cancelled install stops npm half a second in and says it was cancelled', async () => {
  const abort = new AbortController();
  const started = Date.now();
  setTimeout(() => abort.abort(), 500);
  const result = await installBackend({ folder: path.join(tmp, 'cancelled'), pkg: '@tensorflow/tfjs-node', signal: abort.signal });
  assert.ok(Date.now() - started < 3000, 'npm did not run to its end');
  assert.equal(result.ok, false);
  if (!result.ok) assert.equal(result.message, 'the install was cancelled');
});

test('what npm printed, explained: Google\'s storage unreachable (as here), registry unreachable, unknown version, other', () => {
  // The tail of the real `npm install @tensorflow/tfjs-node@4.22.0` on this machine (no env override).
  const here = [
    'npm error command sh -c node scripts/install.js',
    'npm error CPU-linux-4.22.0.tar.gz',
    'npm error https://storage.googleapis.com/tensorflow/libtensorflow/libtensorflow-cpu-linux-x86_64-2.9.1.tar.gz',
    'npm error * Downloading libtensorflow',
    'npm error Error: getaddrinfo ENOTFOUND storage.googleapis.com',
  ].join('\n');
  assert.equal(
    explainInstallFailure(here, 1, '@tensorflow/tfjs-node'),
    'npm fetched @tensorflow/tfjs-node, but its install script could not download libtensorflow from https://storage.googleapis.com/tensorflow/libtensorflow/libtensorflow-cpu-linux-x86_64-2.9.1.tar.gz (ENOTFOUND). ' +
      "This machine cannot reach that host (Google's storage by default). Training keeps using the wasm backend. If you have the files, point TFJS_NODE_CDN_STORAGE at a mirror that holds them and run Install TensorFlow Backend again.",
  );
  assert.equal(explainInstallFailure('npm error code ENOTFOUND\nnpm error network request to https://registry.npmjs.org/x failed', 1, '@tensorflow/tfjs-node'), 'npm could not reach the package registry (ENOTFOUND); check the network or the npm proxy settings');
  assert.equal(explainInstallFailure('npm error code E404\nnpm error 404 Not Found', 1, '@tensorflow/tfjs-node-gpu'), 'npm could not find @tensorflow/tfjs-node-gpu@4.22.0 in the registry');
  assert.equal(explainInstallFailure('npm error code E404\nnpm error 404 Not Found', 1, 'webgpu'), 'npm could not find webgpu@0.6.2 in the registry');
  assert.equal(explainInstallFailure('npm error something odd', 7, '@tensorflow/tfjs-node'), 'npm exited with status 7: npm error something odd');
});

test('a finished install is one with the native addon in place', () => {
  const folder = path.join(tmp, 'finished');
  const lib = path.join(folder, 'node_modules', '@tensorflow', 'tfjs-node-gpu', 'lib', 'napi-v8');
  fs.mkdirSync(lib, { recursive: true });
  assert.deepEqual(installedBackends(folder), []);
  fs.writeFileSync(path.join(lib, 'tfjs_binding.node'), '');
  assert.deepEqual(installedBackends(folder), ['@tensorflow/tfjs-node-gpu']);
});

test('a real npm install of webgpu: Dawn for this platform in place, loaded as the trainer loads it', { timeout: 240_000 }, async () => {
  const folder = path.join(tmp, 'webgpu');
  const lines: string[] = [];
  const result = await installBackend({ folder, pkg: 'webgpu', onLine: (l) => lines.push(l) });
  assert.ok(result.ok, lines.join('\n'));
  assert.match(lines[0], /^\$ npm install webgpu@0\.6\.2 --no-audit --no-fund --no-progress /);
  assert.equal(result.packageDir, path.join(folder, 'node_modules', 'webgpu'));
  assert.deepEqual(installedBackends(folder), ['webgpu']);
  // The trainer's way (never the package's index.js, an ES module): its package.json, then dist/<platform>-<arch>/dawn.node.
  const load = createRequire(path.join(result.packageDir, 'package.json'));
  assert.equal((load('./package.json') as { version: string }).version, WEBGPU_VERSION);
  const dawn = load(`./dist/${dawnFolder()}/dawn.node`) as { create?: unknown; globals?: unknown };
  assert.equal(typeof dawn.create, 'function');
  assert.equal(typeof dawn.globals, 'object');
});

test('npm is asked for one package at its pinned version; webgpu\'s is package.json\'s optional dependency', () => {
  assert.deepEqual(installArgs('webgpu'), ['install', 'webgpu@0.6.2', '--no-audit', '--no-fund', '--no-progress']);
  assert.deepEqual(installArgs('@tensorflow/tfjs-node-gpu'), ['install', '@tensorflow/tfjs-node-gpu@4.22.0', '--no-audit', '--no-fund', '--no-progress']);
  const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { optionalDependencies: Record<string, string> };
  assert.equal(manifest.optionalDependencies.webgpu.replace(/^\^/, ''), WEBGPU_VERSION);
});

test('Dawn counts as installed, or as carried by the extension, only with this platform\'s build beside its package.json', () => {
  assert.equal(dawnFolder('darwin', 'arm64'), 'darwin-universal');
  assert.equal(dawnFolder('darwin', 'x64'), 'darwin-universal');
  assert.equal(dawnFolder('win32', 'arm64'), 'win32-arm64');
  assert.equal(dawnFolder('linux', 'x64'), 'linux-x64');
  const root = path.join(tmp, 'extension');
  const pkg = path.join(root, 'node_modules', 'webgpu');
  const other = process.platform === 'win32' ? 'linux-x64' : 'win32-x64';
  fs.mkdirSync(path.join(pkg, 'dist', other), { recursive: true });
  fs.writeFileSync(path.join(pkg, 'package.json'), '{"name":"webgpu","version":"0.6.2"}');
  fs.writeFileSync(path.join(pkg, 'dist', other, 'dawn.node'), '');
  assert.equal(bundledDawn(root), null, 'another platform\'s build does not count');
  assert.deepEqual(installedBackends(root), []);
  fs.mkdirSync(path.join(pkg, 'dist', dawnFolder()), { recursive: true });
  fs.writeFileSync(path.join(pkg, 'dist', dawnFolder(), 'dawn.node'), '');
  assert.equal(bundledDawn(root), path.join(pkg, 'dist', dawnFolder(), 'dawn.node'));
  assert.deepEqual(installedBackends(root), ['webgpu']);
  fs.rmSync(path.join(pkg, 'package.json'));
  assert.equal(bundledDawn(root), null, 'a binary without its package.json is not the package');
});
