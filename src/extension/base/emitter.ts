// A typed event source without `vscode` (vscode.EventEmitter needs the API): listeners get a
// Disposable to unsubscribe, the same shape as vscode.Event so the API layer can pass them on.

import type { Disposable } from './lifecycle';

export type Event<T> = (listener: (value: T) => void) => Disposable;

export class Emitter<T> implements Disposable {
  private listeners = new Set<(value: T) => void>();

  constructor(private readonly onListenerError: (error: unknown) => void = (error) => console.error('WAS Lab: a listener failed', error)) {}

  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  fire(value: T): void {
    // A throwing listener must not starve the others (nor the trainer's message loop).
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}
