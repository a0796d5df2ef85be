// Install TensorFlow Backend: npm installs @tensorflow/tfjs-node(-gpu), or Dawn (the `webgpu`
// package, for the WebGPU backend), into a folder the extension owns (its global storage), which
// the trainer then searches (--backend-path), so `--backend auto` finds it. The tfjs-node packages'
// own install script downloads libtensorflow from Google's storage; where that host cannot be
// reached the install fails, and the failure is explained, not just relayed. `webgpu` downloads
// nothing beyond the package, which holds Dawn for every platform (~132 MB installed). A
// platform-specific WAS Lab (.vsix) already carries its platform's Dawn in its own node_modules
// (scripts/package-targets.mjs); only the universal one needs the install.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DAWN_VERSION, dawnFolder } from '../../shared/node/dawn';
import { LineSplitter, formatSize } from './line-splitter';

export const BACKEND_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node', 'webgpu'] as const;
export type BackendPackage = (typeof BACKEND_PACKAGES)[number];
/** The version the trainer's tfjs (4.22.0) pairs with. */
export const TENSORFLOW_VERSION = '4.22.0';
/** Dawn's Node binding, as in package.json's optionalDependencies (a test holds the two equal). */
export const WEBGPU_VERSION = DAWN_VERSION;
export const BACKEND_VERSIONS: Record<BackendPackage, string> = {
  '@tensorflow/tfjs-node-gpu': TENSORFLOW_VERSION,
  '@tensorflow/tfjs-node': TENSORFLOW_VERSION,
  webgpu: WEBGPU_VERSION,
};

export interface InstallOptions {
  /** Where node_modules/<package> goes; created when missing. */
  folder: string;
  pkg: BackendPackage;
  /** The npm executable; 'npm' from PATH by default. */
  npm?: string;
  env?: NodeJS.ProcessEnv;
  /** Each line npm prints (for the output channel and the progress message). */
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

export type InstallResult =
  | { ok: true; packageDir: string }
  | { ok: false; message: string; exitCode: number | null };

export async function installBackend(options: InstallOptions): Promise<InstallResult> {
  const { folder, pkg } = options;
  fs.mkdirSync(folder, { recursive: true });
  const manifest = path.join(folder, 'package.json');
  // Without its own package.json npm would walk up and install into some parent project.
  if (!fs.existsSync(manifest))
    fs.writeFileSync(manifest, JSON.stringify({ name: 'was-lab-backends', private: true, description: 'TensorFlow and WebGPU backends installed by WAS Lab' }, null, 2) + '\n');

  const npm = options.npm ?? (process.platform === 'win32' ? 'npm.cmd' : 'npm');
  const args = installArgs(pkg);
  options.onLine?.(`$ ${npm} ${args.join(' ')}   (in ${folder})`);
  const output: string[] = [];
  const onLine = (line: string): void => {
    output.push(line);
    options.onLine?.(line);
  };
  const { code, error } = await new Promise<{ code: number | null; error: Error | null }>((resolve) => {
    const child = spawn(npm, args, { cwd: folder, env: options.env ?? process.env, signal: options.signal, shell: process.platform === 'win32' });
    const onOversized = (length: number): void => onLine(`(a line of ${formatSize(length)}, over the cap; dropped)`);
    const out = new LineSplitter({ onLine, onOversized });
    const err = new LineSplitter({ onLine, onOversized });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => out.push(chunk)).on('end', () => out.flush());
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => err.push(chunk)).on('end', () => err.flush());
    let spawnError: Error | null = null;
    child.on('error', (e) => {
      spawnError = e;
      if (child.pid === undefined) resolve({ code: null, error: e });
    });
    child.on('close', (c) => resolve({ code: c, error: spawnError }));
  });
  if (error !== null) {
    if (error.name === 'AbortError') return { ok: false, message: 'the install was cancelled', exitCode: code };
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { ok: false, message: `npm was not found (${npm}): install Node.js, which brings npm, and try again`, exitCode: null };
    return { ok: false, message: `npm could not be run: ${error.message}`, exitCode: code };
  }
  if (code !== 0) return { ok: false, message: explainInstallFailure(output.join('\n'), code, pkg), exitCode: code };
  const packageDir = path.join(folder, 'node_modules', ...pkg.split('/'));
  if (findNativeFile(pkg, packageDir) === null) {
    const expected = pkg === 'webgpu' ? `a Dawn build for ${process.platform}-${process.arch} (dist/${dawnFolder()}/dawn.node)` : 'a native addon (lib/napi-v*/tfjs_binding.node)';
    return { ok: false, message: `npm finished but ${pkg} has no ${expected} in ${packageDir}`, exitCode: code };
  }
  return { ok: true, packageDir };
}

/** What `npm` is run with: one package at its pinned version. */
export function installArgs(pkg: BackendPackage): string[] {
  return ['install', `${pkg}@${BACKEND_VERSIONS[pkg]}`, '--no-audit', '--no-fund', '--no-progress'];
}

/** Says why an npm install of a backend package failed, from what npm printed. */
export function explainInstallFailure(output: string, code: number | null, pkg: BackendPackage): string {
  const errno = /\b(ENOTFOUND|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|CERT_\w+|UNABLE_TO_\w+)\b/.exec(output)?.[1];
  const url = /https?:\/\/\S*libtensorflow\S*\.(?:tar\.gz|zip)/.exec(output)?.[0];
  if (url || /Downloading libtensorflow/.test(output)) {
    return (
      `npm fetched ${pkg}, but its install script could not download libtensorflow` +
      `${url ? ` from ${url}` : ''}${errno ? ` (${errno})` : ''}. This machine cannot reach that host ` +
      `(Google's storage by default). Training keeps using the wasm backend. If you have the files, ` +
      `point TFJS_NODE_CDN_STORAGE at a mirror that holds them and run Install TensorFlow Backend again.`
    );
  }
  if (/\bE404\b/.test(output)) return `npm could not find ${pkg}@${BACKEND_VERSIONS[pkg]} in the registry`;
  if (errno || /registry/i.test(output)) return `npm could not reach the package registry${errno ? ` (${errno})` : ''}; check the network or the npm proxy settings`;
  if (/\bEBADPLATFORM\b|notsup/i.test(output)) return `${pkg} does not support this platform (${process.platform}-${process.arch})`;
  const lastErrors = output.split('\n').filter((l) => /\berror\b/i.test(l)).slice(-3).join(' | ');
  return `npm exited with status ${code}${lastErrors ? `: ${lastErrors}` : ''}`;
}

/** The backend packages in `folder` whose native file is in place (an install that finished). */
export function installedBackends(folder: string): BackendPackage[] {
  return BACKEND_PACKAGES.filter((pkg) => findNativeFile(pkg, path.join(folder, 'node_modules', ...pkg.split('/'))) !== null);
}


/**
 * This platform's dawn.node in the extension's own node_modules (a platform-specific .vsix, or a
 * checkout after `npm ci`), where the trainer finds it without any install; null when absent.
 */
export function bundledDawn(extensionRoot: string): string | null {
  return findNativeFile('webgpu', path.join(extensionRoot, 'node_modules', 'webgpu'));
}

function findNativeFile(pkg: BackendPackage, packageDir: string): string | null {
  if (pkg === 'webgpu') {
    // The trainer reads the package's package.json, then loads this file (never its index.js).
    const file = path.join(packageDir, 'dist', dawnFolder(), 'dawn.node');
    return fs.existsSync(path.join(packageDir, 'package.json')) && fs.existsSync(file) ? file : null;
  }
  let dirs: string[];
  try {
    dirs = fs.readdirSync(path.join(packageDir, 'lib'));
  } catch {
    return null;
  }
  for (const dir of dirs.filter((d) => d.startsWith('napi-v'))) {
    const file = path.join(packageDir, 'lib', dir, 'tfjs_binding.node');
    if (fs.existsSync(file)) return file;
  }
  return null;
}
