// Number formats shared by the terminal, log.txt, the extension's tree and status bar, and the panel.

import type { BackendInfo, GpuAdapterInfo } from './protocol';

/** A fraction as a percentage to two decimals: 0.9512 is 95.12%. `missing` stands for no value: null or NaN. */
export function percent(x: number | null | undefined, missing = '-'): string {
  return x === null || x === undefined || Number.isNaN(x) ? missing : `${(100 * x).toFixed(2)}%`;
}

/**
 * A length of time: 7s, 3m05s, 2h04m (rounded to the second; hours and minutes past an hour).
 * `missing` stands for no time: null, not finite, or negative.
 */
export function duration(seconds: number | null | undefined, missing = '-'): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return missing;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

/** A difference of accuracies, in percentage points. */
export function points(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(2)} points`;
}

/** A study cell's grid values: "model=lenet, was.transform=shift"; "(base)" for a grid of none. */
export function settingsText(settings: Readonly<Record<string, unknown>>): string {
  const entries = Object.entries(settings);
  return entries.length === 0 ? '(base)' : entries.map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`).join(', ');
}

/** A GPU adapter in one phrase: "nvidia ampere (NVIDIA A100-SXM4-80GB)"; ", software" for lavapipe and the like. */
export function adapterText(adapter: GpuAdapterInfo): string {
  const name = [adapter.vendor, adapter.architecture].filter((s) => s !== '').join(' ') || 'unknown adapter';
  const description = adapter.description !== '' ? ` (${adapter.description})` : '';
  return `${name}${description}${adapter.software ? ', software' : ''}`;
}

/** The backend a run trains on: "wasm", "webgpu on nvidia ampere (NVIDIA A100-SXM4-80GB)". */
export function backendText(backend: Pick<BackendInfo, 'name' | 'adapter'>): string {
  return backend.adapter ? `${backend.name} on ${adapterText(backend.adapter)}` : backend.name;
}
