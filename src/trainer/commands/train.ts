// `was-train [train] [flags]`: one training run. The extension forks this with an IPC channel:
// every event goes up to the parent, and a stop request comes down.

import { EXIT } from '../../shared/exit-codes';
import { helpText, parseArgs, UsageError, type ParsedArgs } from '../args';
import { RunFolderError } from '../output/run-folder';
import { runTraining } from '../train/session';
import { packageVersion } from '../version';
import { driveSession } from './drive';
import { resumeRun } from './resume';

export async function trainCommand(argv: string[]): Promise<number> {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`was-train: ${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(helpText() + '\n');
    return EXIT.ok;
  }
  if (parsed.kind === 'version') {
    process.stdout.write(packageVersion() + '\n');
    return EXIT.ok;
  }
  if (parsed.kind === 'resume') return resumeRun(parsed.runDir, parsed.output, parsed.backendPaths);
  const { config, output, backendPaths } = parsed.options;
  try {
    return await driveSession(output, (io) => runTraining(config, io, { backendPaths }));
  } catch (error) {
    // No run folder of its own (a name taken by another run): nothing to write a summary in.
    if (!(error instanceof RunFolderError)) throw error;
    process.stderr.write(`was-train: ${error.message}\n`);
    return EXIT.failed;
  }
}
