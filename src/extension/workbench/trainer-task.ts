// A short was-train command (export, dom) run for a command of the extension: forked like the
// trainer, its lines in the output channel and the latest one in a cancellable notification.

import * as vscode from 'vscode';
import { EXIT } from '../../shared/exit-codes';
import { trainerLaunch } from '../runs/job-specs';
import type { Lab } from './lab';
import { TrainerProcess, type TrainerExit } from '../runs/trainer-process';

export interface TaskResult {
  ok: boolean;
  exit: TrainerExit;
  stdout: string[];
}

export async function runTrainerTask(lab: Lab, title: string, tag: string, args: string[]): Promise<TaskResult> {
  const stdout: string[] = [];
  const exit = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
    const child = TrainerProcess.start(trainerLaunch(args, lab.launchContext()), {
      onEvent: () => {},
      onOutput: (line, stream) => {
        if (stream === 'stdout') stdout.push(line);
        lab.output.info(`[${tag}] ${line}`);
        if (stream === 'stderr' && line.trim() !== '') progress.report({ message: line.replace(/^was-train \w+: /, '').slice(0, 120) });
      },
      onDroppedMessage: (problem) => lab.output.warn(`[${tag}] dropped a malformed message: ${problem}`),
    });
    token.onCancellationRequested(() => child.kill(`${tag} cancelled`));
    return child.exited;
  });
  return { ok: exit.code === EXIT.ok && exit.signal === null, exit, stdout };
}
