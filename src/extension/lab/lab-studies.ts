// The studies the extension shows: the study folders under <workspace>/.was/studies (read through
// the StudyStore, watched by a StudyWatcher) and the study processes this window started
// (StudyJobs). One change event for both, which the Runs tree and the Study panel follow.

import * as path from 'node:path';
import { splitStudyRunId } from '../../shared/study-panel-protocol';
import { Emitter, type Event } from '../base/emitter';
import { MutableDisposable, type Disposable } from '../base/lifecycle';
import type { StudyJobs } from '../runs/study-jobs';
import { studyRunDir, type StudyEntry, StudyStore } from '../runs/study-store';
import { StudyWatcher, type StudyWatcherOptions } from '../runs/study-watcher';

export class LabStudies implements Disposable {
  private readonly store = new StudyStore();
  private readonly watcher = new MutableDisposable<StudyWatcher>();
  private readonly changed = new Emitter<void>();
  private readonly jobsChanged: Disposable;
  private watchedDir: string | null = null;
  /** A study.json changed, a study appeared or went, or a study process of this window moved. */
  readonly onDidChange: Event<void> = this.changed.event;

  constructor(
    readonly jobs: StudyJobs,
    private readonly dir: () => string,
    private readonly watchOptions: StudyWatcherOptions = {},
  ) {
    this.jobsChanged = jobs.onDidChange(() => this.changed.fire());
  }

  /** The studies folder: <workspace>/.was/studies. */
  studiesDir(): string {
    return this.dir();
  }

  /** Every study, newest first; (re)starts the watcher on the studies folder if it moved. */
  list(): StudyEntry[] {
    this.ensureWatched();
    return this.store.list(this.dir());
  }

  get(name: string): StudyEntry | undefined {
    this.ensureWatched();
    return this.store.get(this.dir(), name);
  }

  live(name: string): boolean {
    return this.jobs.isRunning(name);
  }

  /** The folder of a study run id (`<study>/<run>`), inside the studies folder; null for other ids or a path that escapes it. */
  runDir(runId: string): string | null {
    const parts = splitStudyRunId(runId);
    if (parts === null) return null;
    try {
      return studyRunDir(this.dir(), parts.study, parts.run);
    } catch {
      return null;
    }
  }

  dispose(): void {
    this.jobsChanged.dispose();
    this.watcher.dispose();
    this.changed.dispose();
  }

  private ensureWatched(): void {
    const dir = path.resolve(this.dir());
    if (dir === this.watchedDir) return;
    this.watchedDir = dir;
    const watcher = new StudyWatcher(dir, this.watchOptions);
    watcher.onDidChange(() => this.changed.fire());
    this.watcher.value = watcher;
  }
}
