// The built trainer (dist/trainer.js, from `npm run build`) as the tests start it: a real process.

import { spawn } from 'node:child_process';
import * as path from 'node:path';

export const TRAINER = path.resolve(__dirname, '../../dist/trainer.js');

export interface TrainerOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `was-train <args>` to its end and gives its exit status and output. */
export function runTrainer(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<TrainerOutput> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TRAINER, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
