// The webview side of VS Code's webview API, typed with the panel protocol: every message the
// page sends is a WebviewMessage, and the state it keeps is a UiState.

import type { WebviewMessage } from '../src/shared/panel-protocol';
import { parseUiState, type UiState } from './ui-state';

interface VsCodeWebviewApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState<T>(state: T): T;
}

/** Injected by VS Code into every webview; callable once per page load. */
declare const acquireVsCodeApi: (() => VsCodeWebviewApi) | undefined;

export interface HostConnection {
  post(message: WebviewMessage): void;
  loadState(): UiState;
  saveState(state: UiState): void;
}

export function connectToHost(): HostConnection {
  if (typeof acquireVsCodeApi !== 'function') {
    // Opened outside VS Code (a plain browser): the page renders, nothing is sent or kept.
    console.warn('WAS Lab panel: acquireVsCodeApi is not defined; messages go nowhere');
    let state: unknown;
    return { post: () => undefined, loadState: () => parseUiState(state), saveState: (s) => void (state = s) };
  }
  const api = acquireVsCodeApi();
  return {
    post: (message) => api.postMessage(message),
    loadState: () => parseUiState(api.getState()),
    saveState: (state) => void api.setState(state),
  };
}
