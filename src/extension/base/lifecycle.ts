// Ownership of things that must be released: whoever creates a disposable disposes it.
// The shapes follow VS Code's own lifecycle.ts; no `vscode` import, so the supervisor and the
// run store (tested without VS Code) use them too. vscode.Disposable fits `Disposable`.

export interface Disposable {
  dispose(): void;
}

export function toDisposable(dispose: () => void): Disposable {
  let done = false;
  return {
    dispose: () => {
      if (done) return;
      done = true;
      dispose();
    },
  };
}

/** Disposables owned together and released together, newest first. */
export class DisposableStore implements Disposable {
  private readonly items = new Set<Disposable>();
  private disposed = false;

  add<T extends Disposable>(item: T): T {
    // Adding to a released store would leak: release the item at once instead.
    if (this.disposed) item.dispose();
    else this.items.add(item);
    return item;
  }

  delete(item: Disposable): void {
    if (this.items.delete(item)) item.dispose();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const errors: unknown[] = [];
    for (const item of [...this.items].reverse()) {
      try {
        item.dispose();
      } catch (error) {
        errors.push(error);
      }
    }
    this.items.clear();
    if (errors.length > 0) throw new AggregateError(errors, 'disposing failed');
  }
}

/** A slot holding at most one disposable; replacing or clearing it disposes the old value. */
export class MutableDisposable<T extends Disposable> implements Disposable {
  private current: T | undefined;

  get value(): T | undefined {
    return this.current;
  }

  set value(next: T | undefined) {
    if (next === this.current) return;
    const old = this.current;
    this.current = next;
    old?.dispose();
  }

  clear(): void {
    this.value = undefined;
  }

  /** Empties the slot without disposing the value (it was released elsewhere, e.g. closed by the user). */
  clearAndLeak(): T | undefined {
    const old = this.current;
    this.current = undefined;
    return old;
  }

  dispose(): void {
    this.clear();
  }
}
