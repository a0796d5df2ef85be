// The WebGPU backend: TensorFlow.js's webgpu backend on Dawn, the WebGPU implementation inside
// Chrome, through its Node binding (the npm package `webgpu`). Dawn drives Vulkan on Linux, Metal
// on macOS and D3D12 on Windows, so this is the GPU path on any OS, beside tfjs-node-gpu (CUDA
// 11.2 on Linux only).
//
// Loading: the package is found like the tfjs-node packages (--backend-path, WAS_LAB_BACKEND_PATH,
// then our own node_modules), and its prebuilt binary `dist/<platform>-<arch>/dawn.node` is loaded
// directly: the package's index.js is an ES module that only picks that file. The binary gives
// `create()` (a GPU object, navigator.gpu in a browser) and `globals` (GPUBufferUsage and the
// other constants), which tfjs-backend-webgpu reads from the global object.
//
// Adapters: a software adapter (Mesa's lavapipe, SwiftShader: `isFallbackAdapter`, or architecture
// "software"/"cpu") runs WebGPU on the CPU, far slower than wasm: `auto` never takes one, a user may
// ask for it by name (the tests do, on machines without a GPU).

import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DAWN_PACKAGE, dawnFolder } from '../../shared/node/dawn';
import type { GpuAdapterInfo } from '../../shared/protocol';

export const TFJS_WEBGPU_PACKAGE = '@tensorflow/tfjs-backend-webgpu';

/** The parts of Dawn's binding used here (the WebGPU API itself is typed loosely: tfjs drives it). */
interface DawnBinding {
  create(flags: string[]): Gpu;
  globals: Record<string, unknown>;
}

interface Gpu {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<Adapter | null>;
}

interface Adapter {
  isFallbackAdapter?: boolean;
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
}

export type DawnLoad = { ok: true; gpu: Gpu; packagePath: string } | { ok: false; reason: string };

/** Loads Dawn from `dir` (the `webgpu` package folder) and makes it this process's navigator.gpu. */
export function loadDawn(dir: string): DawnLoad {
  const binary = path.join(dir, 'dist', dawnFolder(), 'dawn.node');
  if (!fs.existsSync(binary)) {
    return { ok: false, reason: `${DAWN_PACKAGE} at ${dir} has no Dawn binary for ${process.platform}-${process.arch} (looked for ${binary})` };
  }
  let binding: DawnBinding;
  try {
    binding = createRequire(path.join(dir, 'package.json'))(binary) as DawnBinding;
  } catch (error) {
    // e.g. an older glibc than the binary needs (2.34), or a binary for another architecture.
    return { ok: false, reason: `Dawn's binary ${binary} failed to load: ${error instanceof Error ? error.message : String(error)}` };
  }
  const gpu = binding.create([]);
  Object.assign(globalThis, binding.globals);
  setNavigatorGpu(gpu);
  return { ok: true, gpu, packagePath: dir };
}

/** Node 21+ has a navigator without gpu; Node 20 has none. tfjs-backend-webgpu reads navigator.gpu. */
function setNavigatorGpu(gpu: Gpu): void {
  const holder = globalThis as { navigator?: object };
  if (holder.navigator === undefined) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  } else {
    Object.defineProperty(holder.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
  }
}

/** The adapter tfjs will get (it asks with the same high-performance preference), or null. */
export async function requestAdapter(gpu: Gpu): Promise<GpuAdapterInfo | null> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) return null;
  const info = adapter.info ?? {};
  const text = (s: string | undefined) => (s ?? '').trim();
  const architecture = text(info.architecture);
  return {
    vendor: text(info.vendor),
    architecture,
    description: text(info.description) || text(info.device),
    software: adapter.isFallbackAdapter === true || info.isFallbackAdapter === true || /^(software|cpu)$/i.test(architecture),
  };
}

/** Why there is no adapter, and what to install: the reason `auto` and a named request give. */
export const NO_ADAPTER =
  'Dawn found no WebGPU adapter: no GPU driver it can use (Linux: the GPU vendor\'s Vulkan driver, e.g. ' +
  'mesa-vulkan-drivers or NVIDIA\'s with its Vulkan ICD; macOS: Metal; Windows: D3D12)';
