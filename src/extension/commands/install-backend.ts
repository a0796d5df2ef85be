// WAS: Install TensorFlow Backend: asks WebGPU (Dawn), TensorFlow GPU or TensorFlow CPU, runs npm
// into the extension's global storage with a cancellable progress notification, and says plainly
// why it failed when it does. New trainers get that folder as --backend-path once the install has
// finished. A platform-specific WAS Lab already carries Dawn: WebGPU then says so and installs nothing.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { BACKEND_VERSIONS, bundledDawn, installBackend, installedBackends, TENSORFLOW_VERSION, WEBGPU_VERSION, type BackendPackage } from '../runs/backend-install';
import { showError, type Lab } from '../workbench/lab';

type BackendItem = vscode.QuickPickItem & { pkg: BackendPackage };

/** The choices: `have` is what the backends folder holds, `bundled` the Dawn this WAS Lab carries (or null). */
function backendItems(have: readonly BackendPackage[], bundled: string | null): BackendItem[] {
  const state = (pkg: BackendPackage): string => (have.includes(pkg) ? 'installed' : '');
  return [
    {
      pkg: 'webgpu',
      label: 'GPU: WebGPU (Dawn, webgpu)',
      description: bundled !== null ? 'already part of this WAS Lab' : state('webgpu'),
      detail:
        bundled !== null
          ? 'this platform-specific WAS Lab carries Dawn: nothing to install'
          : "Metal, Direct3D 12 or Vulkan, on macOS, Windows and Linux: about 132 MB (every platform's build); a platform-specific WAS Lab carries it",
    },
    { pkg: '@tensorflow/tfjs-node-gpu', label: 'GPU: @tensorflow/tfjs-node-gpu', description: state('@tensorflow/tfjs-node-gpu'), detail: 'Linux x86_64 with CUDA 11.2 and cuDNN 8.1' },
    { pkg: '@tensorflow/tfjs-node', label: 'CPU: @tensorflow/tfjs-node', description: state('@tensorflow/tfjs-node'), detail: 'native TensorFlow on the CPU: much faster than wasm' },
  ];
}

export async function installBackendCommand(lab: Lab): Promise<boolean> {
  const folder = lab.backendsFolder();
  // The trainer finds the packages of the extension it runs from (dist/trainer.js -> its node_modules).
  const bundled = bundledDawn(path.dirname(path.dirname(lab.launchContext().trainerPath)));
  const items = backendItems(installedBackends(folder), bundled);
  const picked = await vscode.window.showQuickPick(items, {
    title: 'WAS: Install TensorFlow Backend',
    placeHolder: `TensorFlow ${TENSORFLOW_VERSION} or WebGPU (webgpu ${WEBGPU_VERSION}), installed with npm into ${folder}`,
  });
  if (!picked) return false;
  if (picked.pkg === 'webgpu' && bundled !== null) {
    lab.output.info(`Dawn is part of this WAS Lab (${bundled}): nothing to install`);
    void vscode.window.showInformationMessage('WAS: this WAS Lab already carries Dawn (WebGPU); nothing to install.');
    return false;
  }
  const spec = `${picked.pkg}@${BACKEND_VERSIONS[picked.pkg]}`;
  lab.output.show(true);
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `WAS: installing ${spec}`, cancellable: true },
    (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      return installBackend({
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
  const use = picked.pkg === 'webgpu' ? 'new runs use it with backend "webgpu", and "auto" does where it finds a GPU' : 'new runs with backend "auto" use it';
  void vscode.window.showInformationMessage(`WAS: ${picked.pkg} is installed; ${use}.`);
  return true;
}
