// `npm run test:e2e`: packages the .vsix, sets code-server up in the cache (first time only), then
// runs the scenarios in a real VS Code (test/e2e/scenarios.test.ts). Screenshots and logs of each
// scenario land in test-artifacts/e2e/<scenario>/.

import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ensureCodeServer, ROOT } from './code-server';

function step(command: string, args: string[]): void {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`e2e: \`${command} ${args.join(' ')}\` failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}

step('npm', ['run', 'package']);
const started = Date.now();
ensureCodeServer((line) => console.log(`e2e: ${line}`));
console.log(`e2e: code-server ready (${((Date.now() - started) / 1000).toFixed(0)} s)`);
step(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', path.join('test', 'e2e', 'scenarios.test.ts')]);
console.log(`e2e: artifacts in ${path.join('test-artifacts', 'e2e')}`);
