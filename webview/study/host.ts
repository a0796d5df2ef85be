// The study page's side of VS Code's webview API, typed with the study protocol; the small UI state
// (the table's sorting and filter, the chart's metric) kept across reloads with getState/setState.

import type { SortingState } from '@tanstack/table-core';
import type { StudyPageMessage } from '../../src/shared/study-panel-protocol';
import { isObject } from '../../src/shared/validate';
import type { GainMetric } from './gain-chart';

interface VsCodeWebviewApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState<T>(state: T): T;
}

declare const acquireVsCodeApi: (() => VsCodeWebviewApi) | undefined;

export interface StudyUiState {
  /** The study shown (its folder name): what the host reopens after a window reload. */
  study: string | null;
  sorting: SortingState;
  filter: string;
  metric: GainMetric;
  /** The cell whose runs are listed. */
  selectedCell: string | null;
}

export interface StudyHost {
  post(message: StudyPageMessage): void;
  loadState(): StudyUiState;
  saveState(state: StudyUiState): void;
}

/** Whatever getState returns (an older page's, or nothing) as a valid state. */
export function parseStudyUiState(value: unknown): StudyUiState {
  const state: StudyUiState = { study: null, sorting: [], filter: '', metric: 'aom', selectedCell: null };
  if (!isObject(value)) return state;
  if (Array.isArray(value.sorting))
    state.sorting = value.sorting.filter((s): s is { id: string; desc: boolean } => isObject(s) && typeof s.id === 'string' && typeof s.desc === 'boolean').slice(0, 10).map((s) => ({ id: s.id, desc: s.desc }));
  if (typeof value.filter === 'string') state.filter = value.filter.slice(0, 200);
  if (value.metric === 'aom' || value.metric === 'dom') state.metric = value.metric;
  if (typeof value.study === 'string') state.study = value.study.slice(0, 100);
  if (typeof value.selectedCell === 'string') state.selectedCell = value.selectedCell.slice(0, 100);
  return state;
}

export function connectToStudyHost(): StudyHost {
  if (typeof acquireVsCodeApi !== 'function') {
    console.warn('WAS Lab study page: acquireVsCodeApi is not defined; messages go nowhere');
    let state: unknown;
    return { post: () => undefined, loadState: () => parseStudyUiState(state), saveState: (s) => void (state = s) };
  }
  const api = acquireVsCodeApi();
  return {
    post: (message) => api.postMessage(message),
    loadState: () => parseStudyUiState(api.getState()),
    saveState: (state) => void api.setState(state),
  };
}
