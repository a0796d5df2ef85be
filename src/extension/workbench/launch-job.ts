// Starting a trainer from a command: queue the job, follow it in the panel, and keep a
// cancellable notification up until it really trains.

import * as vscode from 'vscode';
import type { Job, JobSpec } from '../runs/supervisor';
import type { Lab } from './lab';

/** Queue a job, follow it in the panel, and show a cancellable notification until it trains. */
export function launchJob(lab: Lab, spec: JobSpec): Job {
  const job = lab.supervisor.enqueue(spec);
  lab.state.setActiveRun(spec.runId);
  if (lab.settings().openPanelOnStart) lab.panel.createOrShow();
  void vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `WAS: ${spec.title}`, cancellable: true },
    (progress, token) =>
      new Promise<void>((resolve) => {
        const subs: vscode.Disposable[] = [];
        const done = (): void => {
          subs.forEach((s) => s.dispose());
          resolve();
        };
        const report = (): void => {
          if (job.state === 'queued') progress.report({ message: `queued: ${lab.supervisor.runningCount} of ${lab.settings().maxConcurrentRuns} runs going` });
          else if (job.state === 'starting') progress.report({ message: 'starting the trainer' });
          else done();
        };
        subs.push(token.onCancellationRequested(() => void lab.supervisor.stop(job.runId).finally(done)));
        subs.push(lab.supervisor.onDidChangeJob((j) => j === job && report()));
        subs.push(
          lab.supervisor.onDidReceiveEvent(({ job: j, event }) => {
            if (j !== job) return;
            if (event.type === 'phase') progress.report({ message: event.phase.replace('-', ' ') });
            else if (event.type === 'log') progress.report({ message: event.message.slice(0, 120) });
          }),
        );
        report();
      }),
  );
  return job;
}
