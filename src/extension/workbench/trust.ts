// Workspace Trust (VS Code's Restricted Mode). A workspace is files someone else may have written:
// its experiment files and run folders choose options and paths (data folders, downloads, the run
// folders a trainer reads and writes), and its settings could name programs and folders. In
// Restricted Mode WAS Lab shows runs and their metrics, and trains from the quick picks with the
// user's own settings (VS Code ignores the workspace's values of the settings package.json lists
// in restrictedConfigurations); what would start a trainer on the workspace's files, or delete in
// it, is refused here with a message that says why. Backend code never comes from a workspace in
// any mode (see BACKEND_PATHS_KEY in src/shared/config.ts).

import * as vscode from 'vscode';
import type { Lab } from './lab';

const MANAGE = 'Manage Workspace Trust';

/** Why an action is off in Restricted Mode, said once for every action. */
export function restrictedMessage(action: string): string {
  return (
    `WAS: ${action} is off in Restricted Mode: it would run a trainer on (or delete) files this workspace chose, ` +
    'and the workspace is not trusted. Runs, metrics and training from the quick picks still work. Trust the workspace to use it.'
  );
}

/** True in a trusted workspace; otherwise says why `action` is off, offers to manage trust, and returns false. */
export function allowedInWorkspace(lab: Lab, action: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  const message = restrictedMessage(action);
  lab.output.warn(message);
  void Promise.resolve(vscode.window.showWarningMessage(message, MANAGE)).then((choice) => {
    if (choice === MANAGE) void vscode.commands.executeCommand('workbench.trust.manage');
  });
  return false;
}
