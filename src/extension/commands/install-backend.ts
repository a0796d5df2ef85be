// WAS: Install TensorFlow Backend: asks GPU or CPU, runs npm into the extension's global storage
// with a cancellable progress notification, and says plainly why it failed when it does. New
// trainers get that folder as --backend-path once the install has finished.

import * as vscode from 'vscode';
import { installTensorflowBackend, installedBackends, TENSORFLOW_VERSION, type TensorflowPackage } from '../runs/backend-install';
import { showError, type Lab } from '../workbench/lab';

export async function installBackendCommand(lab: Lab): Promise<boolean> {
  const folder = lab.backendsFolder();
  const have = installedBackends(folder);
  const items: (vscode.QuickPickItem & { pkg: TensorflowPackage })[] = [
    { pkg: '@tensorflow/tfjs-node-gpu', label: 'GPU: @tensorflow/tfjs-node-gpu', description: have.includes('@tensorflow/tfjs-node-gpu') ? 'installed' : '', detail: 'Linux x86_64 with CUDA 11.2 and cuDNN 8.1' },
    { pkg: '@tensorflow/tfjs-node', label: 'CPU: @tensorflow/tfjs-node', description: have.includes('@tensorflow/tfjs-node') ? 'installed' : '', detail: 'native TensorFlow on the CPU: much faster than wasm' },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: 'WAS: Install TensorFlow Backend', placeHolder: `Installs version ${TENSORFLOW_VERSION} with npm into ${folder}` });
  if (!picked) return false;
  lab.output.show(true);
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `WAS: installing ${picked.pkg}@${TENSORFLOW_VERSION}`, cancellable: true },
    (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      return installTensorflowBackend({
        folder,
        pkg: picked.pkg,
        signal: abort.signal,
        onLine: (line) => {
          lab.output.info(`[npm] ${line}`);
          if (line.trim() !== '') progress.report({ message: line.trim().slice(0, 100) });
        },
      });
    },
  );
  if (!result.ok) {
    await showError(lab, `WAS: could not install ${picked.pkg}: ${result.message}`);
    return false;
  }
  lab.output.info(`installed ${picked.pkg} at ${result.packageDir}; new runs pass --backend-path ${folder}`);
  void vscode.window.showInformationMessage(`WAS: ${picked.pkg} is installed; new runs with backend "auto" use it.`);
  return true;
}
