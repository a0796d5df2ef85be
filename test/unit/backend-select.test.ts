// Backend selection against LOCAL STAND-IN packages: test/fixtures/backend/tfjs-node-standin.js
// copied into temp node_modules folders as @tensorflow/tfjs-node(-gpu). No real tfjs-node is
// installed here (its install needs Google's storage), so no test touches native TensorFlow.
import { test, afterEach, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BackendError, resolveBackendPackage, selectBackend, type BackendChoice } from '../../src/trainer/backend/select';
import { WASM_TRAINING_KERNELS } from '../../src/trainer/backend/wasm-kernels';

const projectRequire = createRequire(__filename);
const STANDIN = path.join(__dirname, '..', 'fixtures', 'backend', 'tfjs-node-standin.js');
const GPU = '@tensorflow/tfjs-node-gpu';
const CPU = '@tensorflow/tfjs-node';

// Where the real packages are installed in the project, auto would find them after the stand-ins.
const realPackages = [GPU, CPU].filter((pkg) => {
  try {
    projectRequire.resolve(pkg);
    return true;
  } catch {
    return false;
  }
});
const skipIfReal = realPackages.length > 0 ? `real ${realPackages.join(', ')} installed in the project` : false;

// These tests are about the TensorFlow packages. `auto` also tries webgpu between them; where Dawn
// finds no adapter or only a software one (lavapipe, as in CI) it is skipped, and it is left out of
// the lists compared here (webgpu-training.test.ts tests that choice). On a machine with a real GPU
// adapter, `auto` takes webgpu before tensorflow-cpu: the tests that expect otherwise skip there.
let realGpu: string | null = null;
before(async () => {
  const webgpu = await selectBackend('webgpu', { searchPaths: [] }).catch(() => null);
  if (webgpu?.adapter && !webgpu.adapter.software) realGpu = `auto takes webgpu on this machine's GPU (${webgpu.adapter.vendor} ${webgpu.adapter.architecture})`;
});
const tensorflowSkips = (choice: BackendChoice): string[] => choice.skipped.map((s) => s.name).filter((name) => name !== 'webgpu');
const skipReason = (choice: BackendChoice, name: string): string => choice.skipped.find((s) => s.name === name)?.reason ?? '';

// Nothing from the developer's shell may widen the search.
const savedEnvPath = process.env.WAS_LAB_BACKEND_PATH;
delete process.env.WAS_LAB_BACKEND_PATH;

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'was-lab-backend-'));
let folderCount = 0;

type StandIn = { pkg: string; mode?: 'ok' | 'missing-addon' | 'init-fails' | 'no-backend'; gpu?: boolean; ownCore?: boolean };

/** A fresh folder (the parent of a node_modules) holding the given stand-in packages. */
function makeFolder(...standIns: StandIn[]): string {
  const folder = path.join(tmpRoot, `f${folderCount++}`);
  for (const s of standIns) {
    const dir = path.join(folder, 'node_modules', ...s.pkg.split('/'));
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(STANDIN, path.join(dir, 'index.js'));
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: s.pkg, version: '4.22.0', main: 'index.js' }));
    // Same engine two ways: the project's own tfjs module, or a separate copy of tfjs-core in this
    // folder (as a package installed elsewhere brings), which finds the engine on globalThis.
    const tfjs = s.ownCore ? '@tensorflow/tfjs-core' : projectRequire.resolve('@tensorflow/tfjs');
    if (s.ownCore) copyTfjsCore(path.join(folder, 'node_modules'));
    fs.writeFileSync(path.join(dir, 'standin.json'), JSON.stringify({ tfjs, mode: s.mode ?? 'ok', gpu: s.gpu ?? false }));
  }
  return folder;
}

function copyTfjsCore(nodeModules: string): void {
  const core = path.dirname(projectRequire.resolve('@tensorflow/tfjs-core/package.json'));
  const target = path.join(nodeModules, '@tensorflow', 'tfjs-core');
  fs.mkdirSync(path.join(target, 'dist'), { recursive: true });
  // tf-core.node.js is self-contained (seedrandom inlined, node-fetch loaded lazily).
  fs.copyFileSync(path.join(core, 'dist', 'tf-core.node.js'), path.join(target, 'dist', 'tf-core.node.js'));
  fs.writeFileSync(
    path.join(target, 'package.json'),
    JSON.stringify({ name: '@tensorflow/tfjs-core', version: '4.22.0', main: 'dist/tf-core.node.js' }),
  );
}

function hasTensorflowBackend(): boolean {
  return (tf.findBackendFactory('tensorflow') as unknown) != null;
}

/** What the stand-in's backend says about itself (a marker the real backends lack). */
function standInOfCurrentBackend(): unknown {
  const backend: object = tf.backend();
  return 'standIn' in backend ? backend.standIn : undefined;
}

function squareOnCurrentBackend(): number[] {
  return Array.from(tf.tidy(() => tf.square(tf.tensor1d([1, 2, 3]))).dataSync());
}

// selectBackend changes the global engine: back to 'cpu', with no 'tensorflow' left behind.
afterEach(async () => {
  assert.equal(await tf.setBackend('cpu'), true);
  if (hasTensorflowBackend()) tf.removeBackend('tensorflow');
  for (const k of tf.getKernelsForBackend('tensorflow')) tf.unregisterKernel(k.kernelName, 'tensorflow');
  delete process.env.WAS_LAB_BACKEND_PATH;
});

after(() => {
  fs.rmSync(tmpRoot, { recursive: true, force: true });
  if (savedEnvPath !== undefined) process.env.WAS_LAB_BACKEND_PATH = savedEnvPath;
});

test('resolve: stand-in found in a folder holding node_modules, and in a node_modules folder itself', () => {
  const folder = makeFolder({ pkg: CPU });
  const expected = path.join(folder, 'node_modules', '@tensorflow', 'tfjs-node');
  assert.deepEqual(resolveBackendPackage(CPU, [folder], {}), { path: expected });
  assert.deepEqual(resolveBackendPackage(CPU, [path.join(folder, 'node_modules')], {}), { path: expected });
});

test('resolve: stand-ins in searchPaths come before WAS_LAB_BACKEND_PATH, a path-delimited list', () => {
  const first = makeFolder({ pkg: CPU });
  const second = makeFolder({ pkg: CPU });
  const empty = makeFolder();
  const env = { WAS_LAB_BACKEND_PATH: [empty, second].join(path.delimiter) };
  const inSecond = { path: path.join(second, 'node_modules', '@tensorflow', 'tfjs-node') };
  assert.deepEqual(resolveBackendPackage(CPU, [first], env), {
    path: path.join(first, 'node_modules', '@tensorflow', 'tfjs-node'),
  });
  assert.deepEqual(resolveBackendPackage(CPU, [], env), inSecond);
});

test('resolve: with no stand-in for the package, every folder searched is listed, missing ones marked', { skip: skipIfReal }, () => {
  const folder = makeFolder({ pkg: CPU });
  const nowhere = path.join(tmpRoot, 'does-not-exist');
  const result = resolveBackendPackage(GPU, [folder, nowhere], { WAS_LAB_BACKEND_PATH: folder });
  assert.ok('error' in result, 'tfjs-node-gpu must not be found');
  // Each folder once, in search order, then the project's own node_modules.
  assert.deepEqual(result.searched.slice(0, 2), [path.join(folder, 'node_modules'), path.join(nowhere, 'node_modules')]);
  assert.ok(result.searched.includes(path.resolve(__dirname, '..', '..', 'node_modules')), result.searched.join(', '));
  assert.match(result.error, /^@tensorflow\/tfjs-node-gpu not found in /);
  assert.ok(result.error.includes(`${path.join(nowhere, 'node_modules')} (no such folder)`), result.error);
});

test('auto with a stand-in tfjs-node picks tensorflow-cpu and says why tensorflow-gpu was skipped', { skip: skipIfReal }, async (t) => {
  if (realGpu !== null) return t.skip(realGpu);
  const folder = makeFolder({ pkg: CPU });
  const lines: string[] = [];
  const choice = await selectBackend('auto', { searchPaths: [folder], log: (l) => lines.push(l) });

  assert.equal(choice.name, 'tensorflow-cpu');
  assert.equal(choice.tfBackend, 'tensorflow');
  assert.equal(tf.getBackend(), 'tensorflow');
  assert.equal(choice.packagePath, path.join(folder, 'node_modules', '@tensorflow', 'tfjs-node'));
  assert.equal(standInOfCurrentBackend(), CPU);
  assert.deepEqual(squareOnCurrentBackend(), [1, 4, 9]);

  assert.deepEqual(tensorflowSkips(choice), ['tensorflow-gpu']);
  const reason = skipReason(choice, 'tensorflow-gpu');
  assert.match(reason, /tfjs-node-gpu not found in /);
  assert.ok(reason.includes(path.join(folder, 'node_modules')), reason);
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? '', /tensorflow-cpu.*skipped tensorflow-gpu/);
});

test('auto with a stand-in using its own copy of tfjs-core still reaches our engine', { skip: skipIfReal }, async (t) => {
  if (realGpu !== null) return t.skip(realGpu);
  const folder = makeFolder({ pkg: CPU, ownCore: true });
  const choice = await selectBackend('auto', { searchPaths: [folder] });
  assert.equal(choice.name, 'tensorflow-cpu');
  assert.equal(tf.getBackend(), 'tensorflow');
  assert.deepEqual(squareOnCurrentBackend(), [1, 4, 9]);

  // A different module instance, one engine: tfjs-core keeps it on globalThis._tfengine.
  const foreignCore = path.join(folder, 'node_modules', '@tensorflow', 'tfjs-core', 'dist', 'tf-core.node.js');
  const standIn: unknown = projectRequire(path.join(folder, 'node_modules', '@tensorflow', 'tfjs-node'));
  assert.ok(typeof standIn === 'object' && standIn !== null && 'tf' in standIn);
  const foreign = standIn.tf as typeof tf;
  assert.notEqual(foreign.tensor, tf.tensor, 'the stand-in must hold a separate tfjs-core copy');
  assert.ok(projectRequire.cache[foreignCore] !== undefined);
  assert.equal(foreign.engine(), tf.engine());
});

test('auto: a stand-in failing like the missing native addon falls back to wasm with that error', { skip: skipIfReal }, async (t) => {
  if (realGpu !== null) return t.skip(realGpu);
  const folder = makeFolder({ pkg: CPU, mode: 'missing-addon' });
  const choice = await selectBackend('auto', { searchPaths: [folder] });

  assert.equal(choice.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.deepEqual(tensorflowSkips(choice), ['tensorflow-gpu', 'tensorflow-cpu']);
  const reason = skipReason(choice, 'tensorflow-cpu');
  assert.match(reason, /failed to load/);
  assert.match(reason, /The Node.js native addon module \(tfjs_binding\.node\) can not be found at path: /);
  assert.match(reason, /npm rebuild @tensorflow\/tfjs-node --build-addon-from-source/);
  // The kernels it registered before throwing are gone again.
  assert.equal(tf.getKernelsForBackend('tensorflow').length, 0);
  assert.equal(hasTensorflowBackend(), false);
});

test('auto: a stand-in whose backend fails to initialise is skipped with the reason', { skip: skipIfReal }, async (t) => {
  if (realGpu !== null) return t.skip(realGpu);
  const folder = makeFolder({ pkg: GPU, mode: 'init-fails' }, { pkg: CPU });
  const choice = await selectBackend('auto', { searchPaths: [folder] });
  assert.equal(choice.name, 'tensorflow-cpu');
  assert.equal(standInOfCurrentBackend(), CPU, 'the tfjs-node stand-in, not the failed gpu one');
  const reason = choice.skipped[0]?.reason ?? '';
  assert.match(reason, /loaded but the backend failed to initialise/);
  assert.match(reason, /could not create a TensorFlow session/);
});

test('auto: a stand-in that registers no backend is skipped', { skip: skipIfReal }, async (t) => {
  if (realGpu !== null) return t.skip(realGpu);
  const folder = makeFolder({ pkg: CPU, mode: 'no-backend' });
  const choice = await selectBackend('auto', { searchPaths: [folder] });
  assert.equal(choice.name, 'wasm');
  assert.match(skipReason(choice, 'tensorflow-cpu'), /registered no 'tensorflow' backend/);
  assert.equal(tf.getKernelsForBackend('tensorflow').length, 0);
});

test('stand-in tfjs-node-gpu with a GPU: auto and named tensorflow-gpu take it', { skip: skipIfReal }, async () => {
  const folder = makeFolder({ pkg: GPU, gpu: true }, { pkg: CPU });
  const auto = await selectBackend('auto', { searchPaths: [folder] });
  assert.equal(auto.name, 'tensorflow-gpu');
  assert.deepEqual(auto.skipped, []);
  assert.equal(standInOfCurrentBackend(), GPU);

  const named = await selectBackend('tensorflow-gpu', { searchPaths: [folder] });
  assert.equal(named.name, 'tensorflow-gpu');
  assert.equal(named.packagePath, path.join(folder, 'node_modules', '@tensorflow', 'tfjs-node-gpu'));
});

test('stand-in tfjs-node-gpu without a GPU: auto runs it as tensorflow-cpu, named tensorflow-gpu throws', { skip: skipIfReal }, async () => {
  const folder = makeFolder({ pkg: GPU, gpu: false });
  const auto = await selectBackend('auto', { searchPaths: [folder] });
  assert.equal(auto.name, 'tensorflow-cpu');
  assert.equal(auto.packagePath, path.join(folder, 'node_modules', '@tensorflow', 'tfjs-node-gpu'));
  assert.match(auto.skipped[0]?.reason ?? '', /sees no GPU/);

  await assert.rejects(selectBackend('tensorflow-gpu', { searchPaths: [folder] }), (error: unknown) => {
    assert.ok(error instanceof BackendError);
    assert.match(error.message, /sees no GPU/);
    assert.match(error.message, /CUDA 11\.2 and cuDNN 8\.1/);
    return true;
  });
  assert.equal(hasTensorflowBackend(), false, 'a refused GPU package must not stay registered');
});

test('named tensorflow-gpu with no stand-in found throws a BackendError with install instructions', { skip: skipIfReal }, async () => {
  const folder = makeFolder();
  const before = tf.getBackend();
  await assert.rejects(selectBackend('tensorflow-gpu', { searchPaths: [folder] }), (error: unknown) => {
    assert.ok(error instanceof BackendError);
    assert.equal(error.backend, 'tensorflow-gpu');
    const m = error.message;
    assert.match(m, /tfjs-node-gpu not found in /);
    assert.ok(m.includes(path.join(folder, 'node_modules')), m);
    for (const part of [
      'npm install @tensorflow/tfjs-node-gpu@4.22.0',
      '--backend-path',
      'CUDA 11.2',
      'cuDNN 8.1',
      'storage.googleapis.com',
      'TFJS_NODE_CDN_STORAGE',
      'npm_config_tfjs_binding_binary_host_mirror',
    ]) {
      assert.ok(m.includes(part), `message lacks "${part}": ${m}`);
    }
    return true;
  });
  assert.equal(tf.getBackend(), before);
});

test('named tensorflow-cpu whose stand-in lacks the addon throws with the loader error', { skip: skipIfReal }, async () => {
  const folder = makeFolder({ pkg: CPU, mode: 'missing-addon' });
  await assert.rejects(selectBackend('tensorflow-cpu', { searchPaths: [folder] }), (error: unknown) => {
    assert.ok(error instanceof BackendError);
    assert.match(error.message, /native addon module \(tfjs_binding\.node\) can not be found/);
    assert.match(error.message, /npm install @tensorflow\/tfjs-node@4\.22\.0/);
    assert.doesNotMatch(error.message, /CUDA/);
    return true;
  });
});

test('WAS_LAB_BACKEND_PATH alone leads auto to a stand-in', { skip: skipIfReal }, async (t) => {
  if (realGpu !== null) return t.skip(realGpu);
  const folder = makeFolder({ pkg: CPU });
  process.env.WAS_LAB_BACKEND_PATH = path.join(folder, 'node_modules');
  const choice = await selectBackend('auto', { searchPaths: [] });
  assert.equal(choice.name, 'tensorflow-cpu');
  assert.equal(choice.packagePath, path.join(folder, 'node_modules', '@tensorflow', 'tfjs-node'));
});

test('auto with no stand-ins picks wasm here and reports both tensorflow backends skipped', { skip: skipIfReal }, async (t) => {
  if (realGpu !== null) return t.skip(realGpu);
  const lines: string[] = [];
  const choice = await selectBackend('auto', { searchPaths: [], log: (l) => lines.push(l) });
  assert.equal(choice.name, 'wasm');
  assert.equal(choice.tfBackend, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.ok(typeof choice.threads === 'number' && choice.threads >= 1);
  assert.deepEqual(tensorflowSkips(choice), ['tensorflow-gpu', 'tensorflow-cpu']);
  assert.match(skipReason(choice, 'tensorflow-gpu'), /@tensorflow\/tfjs-node-gpu not found in /);
  assert.match(skipReason(choice, 'tensorflow-cpu'), /@tensorflow\/tfjs-node not found in /);
  assert.deepEqual(squareOnCurrentBackend(), [1, 4, 9]);
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? '', /^backend wasm .*skipped tensorflow-gpu: .*tensorflow-cpu: /);
});

test('choosing wasm registers the training kernels', async () => {
  await selectBackend('wasm', { searchPaths: [] });
  // The stock wasm backend has no Conv2DBackpropFilter: only registerWasmTrainingKernels adds it.
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm') !== undefined);
  for (const name of WASM_TRAINING_KERNELS) assert.ok(tf.getKernel(name, 'wasm') !== undefined, name);
});

test('named wasm and cpu work', async () => {
  const wasm = await selectBackend('wasm', { searchPaths: [] });
  assert.equal(wasm.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.deepEqual(wasm.skipped, []);

  const cpu = await selectBackend('cpu', { searchPaths: [] });
  assert.equal(cpu.name, 'cpu');
  assert.equal(cpu.tfBackend, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.deepEqual(squareOnCurrentBackend(), [1, 4, 9]);
});
