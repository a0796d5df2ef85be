// The small UI state kept across reloads and hide/show with the webview API's getState/setState.
// Run data is not kept here: the host sends a full snapshot after `ready`.

import { isObject } from '../src/shared/validate';

export interface UiState {
  version: 1;
  /** The user's EMA factor; null: the host's default (settings.smoothing). */
  smoothing: number | null;
  /** The user's loss-scale choice; null: the host's default. */
  lossLogScale: boolean | null;
  /** Series hidden from the charts by a legend click (SeriesSpec keys). */
  hiddenSeries: string[];
}

export const INITIAL_UI_STATE: UiState = { version: 1, smoothing: null, lossLogScale: null, hiddenSeries: [] };

export const SMOOTHING_CHOICES: readonly number[] = [0, 0.6, 0.8, 0.9, 0.95, 0.99];

/** Whatever getState returns (an older page's state, or nothing) becomes a valid UiState. */
export function parseUiState(value: unknown): UiState {
  if (!isObject(value) || value.version !== 1) return { ...INITIAL_UI_STATE };
  const smoothing = typeof value.smoothing === 'number' && value.smoothing >= 0 && value.smoothing <= 0.99 ? value.smoothing : null;
  const lossLogScale = typeof value.lossLogScale === 'boolean' ? value.lossLogScale : null;
  const hiddenSeries = Array.isArray(value.hiddenSeries) ? value.hiddenSeries.filter((k): k is string => typeof k === 'string').slice(0, 1000) : [];
  return { version: 1, smoothing, lossLogScale, hiddenSeries };
}
