// Does the Node a study's tasks will run exist, and is it 20 or later? Checked here, on the
// machine that submits (a cluster's login node), with the study's own setup lines and node
// (executor.setup, executor.nodePath), before anything is submitted. Chosen over a probe job
// (`sbatch` a `node --version`): on a busy cluster a probe waits in the queue as long as the study
// would, and a login node sees the same shared software (modules, the shared file system) as its
// compute nodes. Where a compute node differs all the same, each task checks again before it
// starts the trainer (the batch script) and fails with that message as its reason.

import { spawn } from 'node:child_process';
import * as os from 'node:os';

export const MIN_NODE_MAJOR = 20;

/** `text` as one single-quoted shell word. */
export function shellQuoted(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function bash(script: string, env: NodeJS.ProcessEnv, cwd: string): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: error.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Runs `<setup lines>; <node> -e <print its version>` in bash; returns null when that Node is
 * 20 or later, else what is wrong, in words that say how to fix it.
 */
export async function clusterNodeProblem(node: string, setup: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<string | null> {
  const script = [...setup, `${shellQuoted(node)} -e ${shellQuoted('process.stdout.write("\\nwas-lab-node " + process.versions.node)')}`].join('\n');
  const ran = await bash(script, env, cwd);
  const version = /\nwas-lab-node (\d+)\.(\d+)\.(\d+)$/.exec(ran.stdout);
  const which = `${node === 'node' ? '`node` on PATH' : node}${setup.length > 0 ? ' after executor.setup' : ''}`;
  const fix = 'set executor.nodePath to a Node 20+ the compute nodes can run (on the shared file system), or load one in executor.setup (e.g. "module load nodejs/20")';
  const where = `checked on ${os.hostname()}, the machine that submits, which runs the same setup as the compute nodes`;
  if (version === null) {
    const said = (ran.stderr.trim().split('\n').pop() ?? '').trim() || `exit status ${ran.code ?? 'none'}`;
    return `the study's runs need Node ${MIN_NODE_MAJOR} or later on the compute nodes, but ${which} did not run (${said}; ${where}): ${fix}. Nothing was submitted.`;
  }
  if (Number(version[1]) < MIN_NODE_MAJOR) {
    return `the study's runs need Node ${MIN_NODE_MAJOR} or later on the compute nodes, but ${which} is ${version[1]}.${version[2]}.${version[3]} (${where}): ${fix}. Nothing was submitted.`;
  }
  return null;
}

/** The batch script's own check, for a compute node that differs from the login node: exit 3 with the reason on stderr. */
export function nodeGuardLines(): string[] {
  const program = `const v = process.versions.node; if (Number(v.split(".")[0]) < ${MIN_NODE_MAJOR}) { console.error("was-train: Node " + v + " on " + require("os").hostname() + ": WAS Lab needs Node ${MIN_NODE_MAJOR} or later (executor.nodePath, executor.setup)"); process.exit(3); }`;
  return [
    'if ! command -v "$NODE" >/dev/null 2>&1; then',
    '  echo "was-train: no Node on $(hostname): \\"$NODE\\" was not found (PATH=$PATH); set executor.nodePath or load one in executor.setup" >&2',
    '  exit 127',
    'fi',
    `"$NODE" -e ${shellQuoted(program)} || exit 3`,
  ];
}
