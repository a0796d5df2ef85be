// Says when any study.json under the studies folder changed: fs.watch on the studies folder (a study
// appears) and on each study's folder (study.json is replaced by a rename, which a watch on the
// file itself would lose), with a poll of the files' size and time as the fallback where fs.watch
// misses events or cannot watch (a network drive, a folder that does not exist yet). Changes are
// debounced: a study moving ten runs at once is one refresh.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { STUDY_RESULTS_FILE } from '../../shared/study';
import { Emitter } from '../base/emitter';
import type { Disposable } from '../base/lifecycle';
import { studyNames } from './study-store';

export interface StudyWatcherOptions {
  /** Milliseconds between polls (the fallback). */
  pollMs?: number;
  /** Quiet time before a change is reported. */
  debounceMs?: number;
}

export class StudyWatcher implements Disposable {
  private readonly changed = new Emitter<void>();
  /** Some study.json (or the set of studies) changed; debounced. */
  readonly onDidChange = this.changed.event;
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private readonly poller: NodeJS.Timeout;
  private debounce: NodeJS.Timeout | undefined;
  private signature: string;
  private disposed = false;

  constructor(
    private readonly studiesDir: string,
    private readonly options: StudyWatcherOptions = {},
  ) {
    this.signature = this.read();
    this.rewatch();
    this.poller = setInterval(() => this.check(), options.pollMs ?? 1000);
    this.poller.unref();
  }

  dispose(): void {
    this.disposed = true;
    clearInterval(this.poller);
    clearTimeout(this.debounce);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
    this.changed.dispose();
  }

  /** What the files say now: each study's name and its study.json's size and time. */
  private read(): string {
    return studyNames(this.studiesDir)
      .map((name) => {
        const stat = fs.statSync(path.join(this.studiesDir, name, STUDY_RESULTS_FILE), { throwIfNoEntry: false });
        return `${name}=${stat ? `${stat.size}:${stat.mtimeMs}:${stat.ino}` : '-'}`;
      })
      .join('|');
  }

  private check(): void {
    if (this.disposed) return;
    const now = this.read();
    if (now === this.signature) return;
    this.signature = now;
    this.rewatch();
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.changed.fire(), this.options.debounceMs ?? 200);
  }

  /** Watch the studies folder and every study folder in it (the ones gone are let go). */
  private rewatch(): void {
    const wanted = new Set([this.studiesDir, ...studyNames(this.studiesDir).map((name) => path.join(this.studiesDir, name))]);
    for (const [dir, watcher] of this.watchers) {
      if (wanted.has(dir)) continue;
      watcher.close();
      this.watchers.delete(dir);
    }
    for (const dir of wanted) {
      if (this.watchers.has(dir)) continue;
      try {
        const watcher = fs.watch(dir, { persistent: false }, () => this.check());
        // A folder deleted under its watcher: the poll notices, and rewatch lets the watcher go.
        watcher.on('error', () => undefined);
        this.watchers.set(dir, watcher);
      } catch {
        // Missing or unwatchable: the poll covers it.
      }
    }
  }
}
