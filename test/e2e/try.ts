// `npm run try`: WAS Lab in a real VS Code in your browser, no install. Packages the .vsix, sets
// code-server up in the cache (first time only: a few minutes), starts it with the extension and
// a sample workspace (experiment files for MNIST), prints the URL, and stops on Ctrl-C.

import { spawnSync } from 'node:child_process';
import { ensureCodeServer, ROOT, startCodeServer } from './code-server';

async function main(): Promise<void> {
  const packaged = spawnSync('npm', ['run', 'package'], { cwd: ROOT, stdio: 'inherit' });
  if (packaged.status !== 0) process.exit(packaged.status ?? 1);
  const install = ensureCodeServer((line) => console.log(line));
  const session = await startCodeServer(install);
  console.log(`\nWAS Lab is running in VS Code (code-server) at:\n\n  ${session.url}\n`);
  console.log(`Workspace: ${session.workspace} (removed when this stops)`);
  console.log('Open the URL in a browser on this machine, then: F1 > "WAS: Start Training" > tiny-mnist.was.json.');
  console.log('Ctrl-C stops code-server and any training it started.\n');
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void session.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`try: ${(error as Error).message}`);
  process.exit(1);
});
