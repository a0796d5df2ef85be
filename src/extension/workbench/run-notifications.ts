// Says when a run of this window ends: completed with its numbers (Open Panel), failed with the
// reason (Show Log), stopped in the status bar only. Each job is announced once.

import * as vscode from 'vscode';
import { showError, type Lab } from './lab';
import type { Disposable } from '../base/lifecycle';
import { isActive, type Job } from '../runs/supervisor';
import { accuracyText } from '../lab/tree-items';

export function announceRunEnds(lab: Lab): Disposable {
  const announced = new WeakSet<Job>();
  return lab.supervisor.onDidChangeJob((job) => {
    // A queued run removed before it started is no news.
    if (isActive(job.state) || job.process === null || announced.has(job)) return;
    announced.add(job);
    const run = lab.runs.get(job.runId);
    if (job.state === 'completed') {
      const numbers = run ? accuracyText(run, lab.state.mode) : '';
      void vscode.window.showInformationMessage(`WAS: ${job.runId} completed${numbers ? `: ${numbers}` : ''}`, 'Open Panel').then((choice) => {
        if (choice === 'Open Panel') void vscode.commands.executeCommand('was.openMetricsPanel', job.runId);
      });
    } else if (job.state === 'failed') {
      void showError(lab, `WAS: ${job.runId} failed: ${job.reason ?? 'no reason given'}`);
    } else {
      vscode.window.setStatusBarMessage(`WAS: ${job.runId} stopped${job.reason ? ` (${job.reason})` : ''}`, 10_000);
    }
  });
}
