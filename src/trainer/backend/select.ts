// Picks the tfjs backend the trainer runs on, best first: TensorFlow on the GPU (tfjs-node-gpu),
// WebGPU on a real GPU (Dawn, webgpu.ts), TensorFlow on the CPU (tfjs-node), the wasm backend,
// else plain JS 'cpu'.
//
// The native packages are never imported statically: they are optional, often missing or
// broken (their install script downloads libtensorflow), and esbuild must not bundle them.
// They are found at run time and loaded with a `createRequire` rooted in their own folder, so
// a package from a --backend-path folder takes its own dependencies from that folder.
//
// Why a package loaded from a foreign folder still drives *our* tfjs:
// such a package brings its own copy of @tensorflow/tfjs (and tfjs-core), a separate module
// instance. tfjs-core keeps its state on the global object, not in module variables:
// `getGlobalNamespace()` (tfjs-core global_util) returns `globalThis` (window/global), the
// engine lives in `global._tfengine` (engine.ts `getOrMakeEngine`: created by the first copy
// loaded, reused by every later copy, which also adopts its `ENV`), and the kernel and
// gradient registries and the Tensor class live in the `global._tfGlobals` Map (`getGlobal`).
// So `registerBackend('tensorflow', ...)` and `registerKernel` from the foreign copy land in
// the same engine and registries as ours, as long as both copies run in this realm and are a
// tfjs version with the global engine (>= 1.x); 4.22.0 everywhere is the supported case.
// This module imports @tensorflow/tfjs first, so our copy creates the engine. The foreign copy
// re-registers 'cpu'/'webgl' and their kernels on load and re-sets the platform; tfjs only
// warns about that ("already registered", "has already been set"), and we count those
// warnings instead of printing hundreds of lines. We still check after loading that a
// 'tensorflow' backend really reached our engine, rather than trusting the above.
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { BackendName } from '../../shared/config';
import type { GpuAdapterInfo } from '../../shared/protocol';
import { errorDetail, errorMessage } from '../../shared/errors';
import { registerWasmTrainingKernels } from './wasm-kernels';
import { registerWebgpuTrainingKernels } from './webgpu-kernels';
import { watchGpuDevice } from './device-faults';
import { adapterText } from '../../shared/format';
import { DAWN_PACKAGE, DAWN_VERSION } from '../../shared/node/dawn';
import { loadDawn, NO_ADAPTER, requestAdapter, TFJS_WEBGPU_PACKAGE } from './webgpu';
import { enableRelaxedSimd } from './wasm-fma';
import { disableThreads, startThreaded, unrefPoolWorkers, wantedWasmThreads } from './wasm-threads';

export type ChosenBackend = Exclude<BackendName, 'auto'>;

export interface BackendChoice {
  name: ChosenBackend;
  /** tf.getBackend() after selection: 'tensorflow', 'wasm' or 'cpu'. */
  tfBackend: string;
  reason: string;
  /** Better backends that `auto` passed over, best first, each with why. */
  skipped: { name: string; reason: string }[];
  /** Folder of the tfjs-node package in use (TensorFlow backends only). */
  packagePath?: string;
  /** wasm only: threads the wasm backend runs (XNNPACK's pool; 1 when the threaded build could not start). */
  threads?: number;
  /** webgpu only: the adapter it runs on. */
  adapter?: GpuAdapterInfo;
}

export interface SelectOptions {
  /**
   * Extra folders holding tfjs-node(-gpu): each a folder with node_modules/, or a node_modules
   * folder. Only ever from the command line (--backend-path), never from a config file or a run
   * folder: loading a package runs its code (see BACKEND_PATHS_KEY in shared/config.ts).
   */
  searchPaths: readonly string[];
  log?: (line: string) => void;
}

export type PackageResolution = { path: string } | { error: string; searched: string[] };

/** A named backend could not be used; the message says why and how to install it. */
export class BackendError extends Error {
  readonly backend: ChosenBackend;
  constructor(backend: ChosenBackend, message: string) {
    super(message);
    this.name = 'BackendError';
    this.backend = backend;
  }
}

export const TFJS_NODE_VERSION = '4.22.0';
export const BACKEND_PATH_ENV = 'WAS_LAB_BACKEND_PATH';

const PACKAGES = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  'tensorflow-cpu': '@tensorflow/tfjs-node',
} as const;
type TensorflowBackend = keyof typeof PACKAGES;

/** Both tfjs-node packages register their backend under this one name. */
const TF_BACKEND = 'tensorflow';

// Rooted at this file (dist/trainer.js once bundled): the project's own node_modules.
// createRequire, not `require`, so esbuild leaves these run-time lookups alone.
const projectRequire = createRequire(__filename);

/**
 * Finds `pkg` without loading it. Order: each of `searchPaths`, then the folders in
 * $WAS_LAB_BACKEND_PATH (path-delimited), then normal resolution from the project.
 * A search folder may be a node_modules folder itself (`/opt/tf/node_modules`) or the folder
 * that contains one (`/opt/tf`, where `npm install` was run); relative folders are taken from
 * the current directory. Returns the package folder, or the node_modules folders looked in.
 */
export function resolveBackendPackage(
  pkg: string,
  searchPaths: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): PackageResolution {
  const searched: string[] = [];
  const missing = new Set<string>();
  const envPaths = (env[BACKEND_PATH_ENV] ?? '').split(path.delimiter).filter((p) => p.trim() !== '');
  for (const folder of [...searchPaths, ...envPaths]) {
    const absolute = path.resolve(folder);
    const nodeModules = path.basename(absolute) === 'node_modules' ? absolute : path.join(absolute, 'node_modules');
    if (searched.includes(nodeModules)) continue;
    searched.push(nodeModules);
    if (!fs.existsSync(nodeModules)) missing.add(nodeModules);
    const dir = path.join(nodeModules, ...pkg.split('/'));
    if (fs.existsSync(path.join(dir, 'package.json'))) return { path: dir };
  }
  try {
    return { path: packageRoot(projectRequire.resolve(pkg), pkg) };
  } catch {
    // Name only the lookup folders that exist: the full list runs up to / and the global folders.
    for (const dir of projectRequire.resolve.paths(pkg) ?? []) {
      if (fs.existsSync(dir) && !searched.includes(dir)) searched.push(dir);
    }
  }
  const where = searched.map((dir) => (missing.has(dir) ? `${dir} (no such folder)` : dir));
  return { error: `${pkg} not found in ${where.length > 0 ? where.join(', ') : 'any folder'}`, searched };
}

/** Chooses and initialises the backend; `auto` takes the best that works, a named one must work. */
export async function selectBackend(requested: BackendName, options: SelectOptions): Promise<BackendChoice> {
  const log = options.log ?? (() => undefined);
  const skipped: BackendChoice['skipped'] = [];
  let choice: BackendChoice;
  if (requested === 'auto') {
    choice = await selectAuto(options.searchPaths, skipped);
  } else {
    const attempt = await tryBackend(requested, options.searchPaths);
    if (!attempt.ok) {
      if (attempt.noGpu) forgetTensorflowBackend(); // leave no half-chosen backend behind
      throw new BackendError(requested, explainFailure(requested, attempt.reason));
    }
    choice = { ...attempt.choice, reason: `requested; ${attempt.choice.reason}` };
  }
  log(summaryLine(choice));
  return choice;
}

type Attempt = { ok: true; choice: BackendChoice } | { ok: false; reason: string; noGpu?: BackendChoice };

async function selectAuto(searchPaths: readonly string[], skipped: BackendChoice['skipped']): Promise<BackendChoice> {
  for (const name of ['tensorflow-gpu', 'webgpu', 'tensorflow-cpu', 'wasm'] as const) {
    const attempt = await tryBackend(name, searchPaths, { auto: true });
    if (attempt.ok) return { ...attempt.choice, skipped, reason: `auto: ${attempt.choice.reason}` };
    skipped.push({ name, reason: attempt.reason });
    // tfjs-node-gpu without a usable GPU is TensorFlow on the CPU, as fast as tfjs-node; take
    // it rather than load a second libtensorflow into the process (its backend is the same name).
    if (attempt.noGpu) return { ...attempt.noGpu, skipped, reason: `auto: ${attempt.noGpu.reason}` };
  }
  const cpu = await tryBackend('cpu', searchPaths);
  if (!cpu.ok) throw new BackendError('cpu', explainFailure('cpu', cpu.reason));
  return { ...cpu.choice, skipped, reason: 'auto: no faster backend could be used' };
}

function tryBackend(name: ChosenBackend, searchPaths: readonly string[], how: { auto: boolean } = { auto: false }): Promise<Attempt> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow-cpu':
      return tryTensorflow(name, searchPaths);
    case 'webgpu':
      return tryWebgpu(searchPaths, how.auto);
    case 'wasm':
      return tryWasm();
    case 'cpu':
      return tryCpu();
  }
}

async function tryTensorflow(name: TensorflowBackend, searchPaths: readonly string[]): Promise<Attempt> {
  const pkg = PACKAGES[name];
  const found = resolveBackendPackage(pkg, searchPaths);
  if ('error' in found) return { ok: false, reason: found.error };
  const dir = found.path;

  const load = await captureWarnings(() => createRequire(path.join(dir, 'package.json'))(dir));
  if (!load.ok) {
    forgetTensorflowBackend(); // the package may have registered kernels before it threw
    return { ok: false, reason: `${pkg} found at ${dir} but failed to load: ${oneLine(load.error)}` };
  }
  if (!hasBackend(TF_BACKEND)) {
    forgetTensorflowBackend(); // kernels it may have registered for a backend that never came
    return {
      ok: false,
      reason:
        `${pkg} at ${dir} loaded but registered no '${TF_BACKEND}' backend with this process's tfjs ` +
        `engine (its @tensorflow/tfjs is probably not ${TFJS_NODE_VERSION})`,
    };
  }
  const init = await setBackendQuietly(TF_BACKEND);
  if (!init.ok) {
    forgetTensorflowBackend(); // so the next package can register its own 'tensorflow'
    return { ok: false, reason: `${pkg} at ${dir} loaded but the backend failed to initialise: ${init.reason}` };
  }
  // Only now: on failure the package's own setBackend warnings are already part of the reason.
  forwardWarnings(load.warnings);
  const base = { tfBackend: tf.getBackend(), skipped: [], packagePath: dir };
  if (name === 'tensorflow-gpu' && usesGpuDevice(tf.backend()) === false) {
    const reason = `${pkg} at ${dir} loaded but TensorFlow sees no GPU (needs CUDA 11.2 + cuDNN 8.1)`;
    const cpuChoice: BackendChoice = {
      ...base,
      name: 'tensorflow-cpu',
      reason: `${pkg} from ${dir}, running on the CPU: no GPU device`,
    };
    return { ok: false, reason, noGpu: cpuChoice };
  }
  const device = name === 'tensorflow-gpu' ? 'GPU' : 'CPU';
  return { ok: true, choice: { ...base, name, reason: `${pkg} from ${dir} (TensorFlow on the ${device})` } };
}

/** WebGPU on Dawn (see webgpu.ts); `auto` passes over a software adapter, a request by name takes it. */
async function tryWebgpu(searchPaths: readonly string[], auto: boolean): Promise<Attempt> {
  // Dawn is loaded once: a second instance in one process is not safe.
  dawnStart ??= await startDawn(searchPaths);
  const dawn = dawnStart;
  if (!dawn.ok) return dawn;
  const { adapter } = dawn;
  if (auto && adapter.software) {
    return { ok: false, reason: `only a software adapter, ${adapterText(adapter)}: slower than wasm (ask for it with --backend webgpu)` };
  }
  if (webgpuRunning) {
    const again = await setBackendQuietly('webgpu');
    return again.ok ? { ok: true, choice: webgpuChoice(dawn) } : { ok: false, reason: again.reason };
  }
  try {
    if (!hasBackend('webgpu')) projectRequire(TFJS_WEBGPU_PACKAGE);
    registerWebgpuTrainingKernels();
  } catch (error) {
    return { ok: false, reason: `${TFJS_WEBGPU_PACKAGE} failed to load: ${oneLine(error)}` };
  }
  const init = await setBackendQuietly('webgpu');
  if (!init.ok) return { ok: false, reason: `the webgpu backend failed to initialise on ${adapterText(adapter)}: ${init.reason}` };
  watchGpuDevice((tf.backend() as unknown as { device: unknown }).device);
  webgpuRunning = true;
  return { ok: true, choice: webgpuChoice(dawn) };
}

type DawnStart = { ok: true; packagePath: string; adapter: GpuAdapterInfo } | { ok: false; reason: string };

/** Dawn loaded (or why not) and the adapter it offers, the first time webgpu was tried; whether the backend runs. */
let dawnStart: DawnStart | null = null;
let webgpuRunning = false;

async function startDawn(searchPaths: readonly string[]): Promise<DawnStart> {
  const found = resolveBackendPackage(DAWN_PACKAGE, searchPaths);
  if ('error' in found) return { ok: false, reason: found.error };
  const dawn = loadDawn(found.path);
  if (!dawn.ok) return dawn;
  const adapter = await requestAdapter(dawn.gpu);
  if (adapter === null) return { ok: false, reason: NO_ADAPTER };
  return { ok: true, packagePath: dawn.packagePath, adapter };
}

function webgpuChoice({ packagePath, adapter }: { packagePath: string; adapter: GpuAdapterInfo }): BackendChoice {
  return { name: 'webgpu', tfBackend: tf.getBackend(), reason: `WebGPU on ${adapterText(adapter)}, Dawn from ${packagePath}`, skipped: [], packagePath, adapter };
}

let wasmKernelsRegistered = false;

/** How long the threaded wasm build may take to start before we fall back to one thread. */
const THREADED_START_TIMEOUT_MS = 60_000;

async function tryWasm(): Promise<Attempt> {
  try {
    if (!wasmKernelsRegistered) {
      registerWasmTrainingKernels();
      wasmKernelsRegistered = true;
    }
    const prefix = bundledWasmPrefix();
    if (prefix !== null) setWasmPaths(prefix);
  } catch (error) {
    return { ok: false, reason: `wasm backend setup failed: ${oneLine(error)}` };
  }
  // Multithreading first (see wasm-threads.ts), unless the backend already runs or one thread is
  // all there is; on any failure, the single-threaded build with the reason in the log line.
  let threadNote = '';
  const running = hasBackend('wasm') && tf.findBackend('wasm') != null;
  const want = wantedWasmThreads();
  if ('error' in want) {
    threadNote = `; one thread: ${want.error}`;
  } else if (want.threads > 1 && !running) {
    const threaded = await startThreadedWasm(want.threads);
    if (threaded.ok) {
      unrefPoolWorkers();
      const threads = getThreadsCount();
      // tfjs falls back to its single-threaded SIMD-less build where wasm has no SIMD.
      return wasmChoice(threads, threads > 1 ? `, threaded build, ${want.why}` : '; no threaded build here (no wasm SIMD)');
    }
    threadNote = `; the threaded build failed (${threaded.reason}), so one thread`;
  }
  const init = await setBackendQuietly('wasm');
  if (!init.ok) return { ok: false, reason: `wasm backend failed to initialise: ${init.reason}` };
  return wasmChoice(getThreadsCount(), threadNote);
}

function wasmChoice(threads: number, note: string): Attempt {
  const choice: BackendChoice = {
    name: 'wasm',
    tfBackend: tf.getBackend(),
    reason: `@tensorflow/tfjs-backend-wasm (${threads} thread${threads === 1 ? '' : 's'}${note}; ${enableRelaxedSimd().note})`,
    skipped: [],
    threads,
  };
  return { ok: true, choice };
}

/** Starts the threaded build; on failure leaves 'wasm' registered afresh for a single-threaded start. */
async function startThreadedWasm(threads: number): Promise<{ ok: true } | { ok: false; reason: string }> {
  const factory = tf.findBackendFactory('wasm');
  const registry = (tf.engine() as unknown as { registryFactory: Record<string, { priority?: number }> }).registryFactory;
  const priority = registry.wasm?.priority ?? 2;
  let timer: NodeJS.Timeout | undefined;
  let result: { ok: true } | { ok: false; reason: string };
  try {
    const timeout = new Promise<{ ok: false; reason: string }>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, reason: `no start within ${THREADED_START_TIMEOUT_MS / 1000} s` }), THREADED_START_TIMEOUT_MS);
    });
    result = await Promise.race([startThreaded(threads, () => setBackendQuietly('wasm')), timeout]);
  } catch (error) {
    result = { ok: false, reason: oneLine(error) };
  } finally {
    clearTimeout(timer);
  }
  if (result.ok) return result;
  disableThreads();
  // A failed (or abandoned) start leaves the engine without a usable 'wasm': register the same
  // factory again so that the next setBackend starts from scratch.
  if (hasBackend('wasm')) tf.removeBackend('wasm');
  tf.registerBackend('wasm', factory, priority);
  return result;
}

async function tryCpu(): Promise<Attempt> {
  const init = await setBackendQuietly('cpu');
  if (!init.ok) return { ok: false, reason: `cpu backend failed to initialise: ${init.reason}` };
  return { ok: true, choice: { name: 'cpu', tfBackend: tf.getBackend(), reason: 'plain JavaScript kernels', skipped: [] } };
}

/**
 * Where the .wasm files are, when the wasm package was bundled into this file; null when it was
 * loaded from its own folder. In Node the emscripten loader reads the .wasm files next to the
 * package's own script (its __dirname), so a plain setBackend('wasm') works as long as
 * @tensorflow/* stays external (scripts/build.mjs). It cannot be retried with other paths after
 * a failed start (setWasmPaths throws then), hence the check up front.
 */
function bundledWasmPrefix(): string | null {
  const entry = projectRequire.resolve('@tensorflow/tfjs-backend-wasm');
  if (projectRequire.cache[entry] !== undefined) return null;
  return path.dirname(entry) + path.sep;
}

const INSTALL_HINTS: Record<ChosenBackend, string> = {
  'tensorflow-gpu':
    `Install it with \`npm install @tensorflow/tfjs-node-gpu@${TFJS_NODE_VERSION}\` in this project or in a ` +
    `folder passed with --backend-path (or listed in ${BACKEND_PATH_ENV}). It needs Linux x86_64 with an ` +
    'NVIDIA GPU, CUDA 11.2 and cuDNN 8.1. Its install script downloads libtensorflow and the prebuilt addon ' +
    "from Google's storage (storage.googleapis.com), so it needs network access there; for an offline or " +
    'mirrored install set TFJS_NODE_CDN_STORAGE (libtensorflow) and ' +
    'npm_config_tfjs_binding_binary_host_mirror (the addon). A package whose download failed installs ' +
    'without its native addon: reinstall it once the download can succeed.',
  'tensorflow-cpu':
    `Install it with \`npm install @tensorflow/tfjs-node@${TFJS_NODE_VERSION}\` in this project or in a ` +
    `folder passed with --backend-path (or listed in ${BACKEND_PATH_ENV}). Its install script downloads ` +
    "libtensorflow and the prebuilt addon from Google's storage (storage.googleapis.com), so it needs network " +
    'access there; for an offline or mirrored install set TFJS_NODE_CDN_STORAGE (libtensorflow) and ' +
    'npm_config_tfjs_binding_binary_host_mirror (the addon). A package whose download failed installs ' +
    'without its native addon: reinstall it once the download can succeed.',
  webgpu:
    `WebGPU runs on Dawn, the npm package ${DAWN_PACKAGE}@${DAWN_VERSION}: an optional dependency of this project ` +
    `(\`npm install\` installs it where its prebuilt binary exists: Linux x64/arm64 with glibc 2.34+, macOS, Windows ` +
    `x64/arm64), carried by WAS Lab's platform-specific .vsix files, or installed with WAS: Install TensorFlow Backend ` +
    `(or \`npm install ${DAWN_PACKAGE}@${DAWN_VERSION}\` in a folder passed with --backend-path). It needs a GPU driver: ` +
    'Vulkan on Linux, Metal on macOS, D3D12 on Windows.',
  wasm:
    `@tensorflow/tfjs-backend-wasm is a dependency of this project: run \`npm install\` (it must be ` +
    `${TFJS_NODE_VERSION}, like @tensorflow/tfjs) and keep the .wasm files in its dist folder.`,
  cpu: 'The plain JavaScript backend ships with @tensorflow/tfjs: reinstall the project dependencies.',
};

function explainFailure(name: ChosenBackend, reason: string): string {
  return `Backend '${name}' cannot be used: ${reason}.\n${INSTALL_HINTS[name]}\nUse --backend auto to fall back to the best backend that works.`;
}

function summaryLine(choice: BackendChoice): string {
  const skipped = choice.skipped.map((s) => `${s.name}: ${clip(s.reason, 200)}`).join('; ');
  return `backend ${choice.name} (tf '${choice.tfBackend}'): ${choice.reason}${skipped ? ` | skipped ${skipped}` : ''}`;
}

/** Removes a 'tensorflow' backend and its kernels, so a later package can register them afresh. */
function forgetTensorflowBackend(): void {
  if (hasBackend(TF_BACKEND)) tf.removeBackend(TF_BACKEND);
  for (const kernel of tf.getKernelsForBackend(TF_BACKEND)) tf.unregisterKernel(kernel.kernelName, TF_BACKEND);
}

function hasBackend(name: string): boolean {
  // Typed as never null, but the engine returns null for an unknown name.
  return (tf.findBackendFactory(name) as unknown) != null;
}

function usesGpuDevice(backend: unknown): boolean | undefined {
  // tfjs-node's NodeJSKernelBackend sets isUsingGpuDevice from the binding.
  if (typeof backend === 'object' && backend !== null && 'isUsingGpuDevice' in backend) {
    return backend.isUsingGpuDevice === true;
  }
  return undefined;
}

/** tf.setBackend reports a failed start only through warnings; keep them as the reason. */
async function setBackendQuietly(name: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  const result = await captureWarnings(() => tf.setBackend(name));
  if (!result.ok) return { ok: false, reason: oneLine(result.error) };
  if (result.value) {
    forwardWarnings(result.warnings);
    return { ok: true };
  }
  const detail = result.warnings.map((w) => oneLine(w)).join(' ');
  return { ok: false, reason: detail || `tf.setBackend('${name}') returned false` };
}

type Captured<T> = ({ ok: true; value: T } | { ok: false; error: unknown }) & { warnings: string[] };

async function captureWarnings<T>(fn: () => T | Promise<T>): Promise<Captured<T>> {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map(errorDetail).join(' '));
  };
  try {
    return { ok: true, value: await fn(), warnings };
  } catch (error) {
    return { ok: false, error, warnings };
  } finally {
    console.warn = original;
  }
}

const DUPLICATE_REGISTRATION = /already registered|has already been set/;

/** Prints captured warnings, except the duplicate registrations a second tfjs copy causes. */
function forwardWarnings(warnings: readonly string[]): void {
  const duplicates = warnings.filter((w) => DUPLICATE_REGISTRATION.test(w)).length;
  for (const w of warnings) if (!DUPLICATE_REGISTRATION.test(w)) console.warn(w);
  if (duplicates > 0) {
    console.warn(`(${duplicates} tfjs duplicate-registration warnings from a second copy of tfjs not shown)`);
  }
}

function packageRoot(entry: string, pkg: string): string {
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && readPackageName(manifest) === pkg) return dir;
  }
  return path.dirname(entry);
}

function readPackageName(manifest: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(manifest, 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'name' in parsed && typeof parsed.name === 'string') {
      return parsed.name;
    }
  } catch {
    // An unreadable manifest is not the package we look for.
  }
  return undefined;
}

function oneLine(value: unknown): string {
  // The wasm loader rejects with a plain { message } object, not an Error: errorMessage reads both.
  return errorMessage(value).replace(/\s*\n\s*/g, ' ').trim();
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
