// One study page's conversation with the host (src/shared/study-panel-protocol.ts), without `vscode`:
// every message from the page is parsed from `unknown` (a malformed one is dropped and logged);
// after the page's `ready`, the study is posted whole, and again at each refresh (the study.json
// changed, or this window's study process started or ended).

import { errorMessage } from '../../shared/errors';
import { STUDY_PANEL_PROTOCOL_VERSION, parseStudyPageMessage, type StudyHostMessage, type StudyPageMessage } from '../../shared/study-panel-protocol';
import type { Disposable } from '../base/lifecycle';
import type { StudyEntry } from '../runs/study-store';

export interface StudyPanelConnectionOptions {
  /** The study's folder name. */
  name: string;
  /** The study as on disk now (undefined: its folder is gone). */
  read(): StudyEntry | undefined;
  /** Whether this window's study process runs it now. */
  live(): boolean;
  post(message: StudyHostMessage): void;
  /** Open <study>/runs/<run> in the metrics panel. */
  openRun(run: string): void;
  log(line: string): void;
}

export class StudyPanelConnection implements Disposable {
  private ready = false;
  private lastPosted = '';
  private disposed = false;

  constructor(private readonly options: StudyPanelConnectionOptions) {}

  get name(): string {
    return this.options.name;
  }

  receive(value: unknown): void {
    if (this.disposed) return;
    let message: StudyPageMessage;
    try {
      message = parseStudyPageMessage(value);
    } catch (error) {
      this.options.log(`study page: dropped a malformed message: ${errorMessage(error)}`);
      return;
    }
    switch (message.type) {
      case 'ready':
        if (message.protocolVersion !== STUDY_PANEL_PROTOCOL_VERSION) this.options.log(`study page: protocol ${message.protocolVersion}, host ${STUDY_PANEL_PROTOCOL_VERSION}`);
        this.ready = true;
        this.refresh(true);
        return;
      case 'open-run':
        this.options.openRun(message.run);
        return;
      case 'log':
        this.options.log(`study page ${message.level}: ${message.message}`);
        return;
    }
  }

  /** Post the study again if it changed since the last post (or always, with `force`). */
  refresh(force = false): void {
    if (!this.ready || this.disposed) return;
    const message = this.message();
    // study.json's time and the process's state decide what the page shows: post when they moved.
    const key = `${message.live}|${message.problem}|${message.results?.updatedAt}|${this.options.read()?.mtimeMs}`;
    if (!force && key === this.lastPosted) return;
    this.lastPosted = key;
    // As JSON carries it (NaN, an interval of one seed, as null: metric() reads it back as NaN),
    // whatever the webview's own serialization does with NaN.
    this.options.post(JSON.parse(JSON.stringify(message)) as StudyHostMessage);
  }

  dispose(): void {
    this.disposed = true;
  }

  private message(): Extract<StudyHostMessage, { type: 'study' }> {
    const entry = this.options.read();
    return {
      type: 'study',
      protocolVersion: STUDY_PANEL_PROTOCOL_VERSION,
      name: this.options.name,
      results: entry?.results ?? null,
      problem: entry === undefined ? (this.options.live() ? 'starting: no study.json yet' : `no study ${this.options.name} in the studies folder`) : entry.problem,
      live: this.options.live(),
    };
  }
}
