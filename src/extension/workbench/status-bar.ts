// Two status bar items: the followed run's progress (epoch/step, ETA; click: the metrics panel)
// while one is live, and the inference mode (click: switch it).

import * as vscode from 'vscode';
import type { LabRuns } from '../lab/lab-runs';
import type { LabState } from '../lab/lab-state';
import { DisposableStore, type Disposable } from '../base/lifecycle';
import { backendText, duration, percent } from '../../shared/format';
import { runProgress } from '../lab/run-progress';
import type { TrainerSupervisor } from '../runs/supervisor';
import { isActive } from '../runs/supervisor';

const MODE_TEXT = { aom: 'AOM', dom: 'DOM' } as const;
const MODE_TOOLTIP = {
  aom: 'WAS inference mode: AOM (accuracy-oriented: the plain weights). Click to switch to DOM.',
  dom: 'WAS inference mode: DOM (desire-oriented: shadow weights). Click to switch to AOM.',
} as const;
/** Status bar updates at most this often, and this often while a run is live (the ETA moves). */
const UPDATE_MS = 1000;

export class StatusBar implements Disposable {
  private readonly disposables = new DisposableStore();
  private readonly progress: vscode.StatusBarItem;
  private readonly mode: vscode.StatusBarItem;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly runs: LabRuns,
    private readonly state: LabState,
    supervisor: TrainerSupervisor,
  ) {
    this.progress = this.disposables.add(vscode.window.createStatusBarItem('was.progress', vscode.StatusBarAlignment.Left, 10));
    this.progress.name = 'WAS Lab training progress';
    this.progress.command = 'was.openMetricsPanel';
    this.mode = this.disposables.add(vscode.window.createStatusBarItem('was.mode', vscode.StatusBarAlignment.Left, 9));
    this.mode.name = 'WAS Lab inference mode';
    this.mode.command = 'was.switchMode';
    this.disposables.add(supervisor.onDidChangeJob(() => this.schedule()));
    this.disposables.add(supervisor.onDidReceiveEvent(() => this.schedule()));
    this.disposables.add(state.onDidChangeMode(() => this.update()));
    this.disposables.add(state.onDidChangeActiveRun(() => this.update()));
    this.update();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.disposables.dispose();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.update();
    }, UPDATE_MS);
  }

  private update(): void {
    const mode = this.state.mode;
    this.mode.text = `$(symbol-class) ${MODE_TEXT[mode]}`;
    this.mode.tooltip = MODE_TOOLTIP[mode];
    this.mode.show();

    // The followed run if it is live, else the newest live one.
    const active = this.state.activeRunId !== null ? this.runs.get(this.state.activeRunId) : undefined;
    const run = active?.job && isActive(active.job.state) && active.job.state !== 'queued' ? active : this.runs.newestLive();
    const p = run?.job ? runProgress(run.job.events) : null;
    if (!run) {
      this.progress.hide();
      return;
    }
    if (!p) {
      this.progress.text = `$(loading~spin) WAS: ${run.status} ${run.runId}`;
      this.progress.tooltip = run.job?.spec.title;
    } else {
      const eta = p.etaSec !== null ? ` · ETA ${duration(p.etaSec)}` : '';
      // A GPU run says so where it is seen: its adapter's vendor beside the progress.
      const gpu = p.backend.adapter ? ` · $(circuit-board) ${p.backend.adapter.vendor || p.backend.name}` : '';
      this.progress.text = `$(sync~spin) ${p.model} ${p.epoch}/${p.epochs} · ${p.stepInEpoch}/${p.stepsPerEpoch}${eta}${gpu}`;
      const last = p.lastEpoch ? `\n\nLast epoch: AOM ${percent(p.lastEpoch.aomAccuracy)} · DOM ${percent(p.lastEpoch.domAccuracy)} (${p.lastEpoch.selectionSplit})` : '';
      this.progress.tooltip = new vscode.MarkdownString(`**${run.runId}** (${run.status})\n\n${p.model} on ${p.dataset}: epoch ${p.epoch} of ${p.epochs}, step ${p.stepInEpoch} of ${p.stepsPerEpoch}, ${Math.round(100 * p.fraction)}% done${eta ? `, ETA ${duration(p.etaSec!)}` : ''}${last}\n\nBackend: ${backendText(p.backend)}\n\nClick to open the metrics panel.`);
    }
    this.progress.show();
    // Keep the ETA moving between events.
    this.schedule();
  }
}
