// A study's runs are trained by the study process, not by this window's supervisor, so no events
// come over IPC for them: a metrics page that holds one (followed or compared) is sent the run again
// (LabState.runUpdated: its history re-read from metrics.jsonl, only the bytes appended) whenever
// that file grew or the study.json changed, checked every `intervalMs`.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { splitStudyRunId } from '../../shared/study-panel-protocol';
import type { Event } from '../base/emitter';
import type { Disposable } from '../base/lifecycle';
import type { LabState } from './lab-state';

export class StudyRunFollower implements Disposable {
  private readonly sizes = new Map<string, string>();
  private readonly timer: NodeJS.Timeout;
  private readonly studyChanged: Disposable;

  constructor(
    private readonly state: LabState,
    private readonly runDir: (runId: string) => string | null,
    onDidChangeStudies: Event<void>,
    intervalMs = 2000,
  ) {
    this.timer = setInterval(() => this.check(false), intervalMs);
    this.timer.unref();
    this.studyChanged = onDidChangeStudies(() => this.check(true));
  }

  dispose(): void {
    clearInterval(this.timer);
    this.studyChanged.dispose();
  }

  /** Sends again each held study run whose metrics.jsonl changed (every held one with `all`). */
  check(all: boolean): void {
    const held = [this.state.activeRunId, ...this.state.compare].filter((id): id is string => id !== null && splitStudyRunId(id) !== null);
    for (const id of held) {
      const dir = this.runDir(id);
      if (dir === null) continue;
      const stat = fs.statSync(path.join(dir, 'metrics.jsonl'), { throwIfNoEntry: false });
      const signature = stat ? `${stat.size}:${stat.mtimeMs}` : '-';
      const before = this.sizes.get(id);
      this.sizes.set(id, signature);
      if (all || (before !== undefined && before !== signature)) this.state.runUpdated(id);
    }
    for (const id of this.sizes.keys()) if (!held.includes(id)) this.sizes.delete(id);
  }
}
