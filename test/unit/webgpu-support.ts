// The WebGPU tests' gate: the webgpu backend on this machine's adapter (a real GPU or Mesa's
// lavapipe), or a skip where Dawn finds none, unless WAS_LAB_REQUIRE_WEBGPU=1 (CI) makes that a
// failure. Leaves 'webgpu' as the current backend.

import { selectBackend } from '../../src/trainer/backend/select';
import { adapterText } from '../../src/shared/format';

export const REQUIRE_WEBGPU = process.env.WAS_LAB_REQUIRE_WEBGPU === '1';

/** The adapter in words, or null when there is none (a skip). */
export async function webgpuOrSkip(): Promise<string | null> {
  try {
    const choice = await selectBackend('webgpu', { searchPaths: [] });
    return adapterText(choice.adapter!);
  } catch (error) {
    if (REQUIRE_WEBGPU) throw error;
    return null;
  }
}
