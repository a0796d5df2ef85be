// `was-train [train] [flags]`: one training run. The extension forks this with an IPC channel:
// every event goes up to the parent, and a stop request comes down.

import { parseTrainerCommand, type TrainerEvent } from '../../shared/protocol';
import { helpText, parseArgs, UsageError, type ParsedArgs } from '../args';
import { summaryTable } from '../output/format';
import { terminalSink } from '../output/terminal';
import { runTraining } from '../train/loop';
import { packageVersion } from '../version';

export async function trainCommand(argv: string[]): Promise<number> {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`was-train: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(helpText() + '\n');
    return 0;
  }
  if (parsed.kind === 'version') {
    process.stdout.write(packageVersion() + '\n');
    return 0;
  }
  const { config, output } = parsed.options;

  let stopReason: string | null = null;
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts++;
    if (interrupts > 1) {
      process.stderr.write(`\nwas-train: ${signal} again, exiting without finishing the run\n`);
      process.exit(130);
    }
    stopReason = `${signal} received`;
    process.stderr.write(`\nwas-train: ${signal}: stopping at the next step (again to abort)\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const sinks: ((event: TrainerEvent) => void)[] = [terminalSink(output, process.stdout)];
  if (process.send) {
    // Forked by the extension: events go up over IPC, stop requests come down.
    sinks.push((event) => process.send!(event));
    process.on('message', (message: unknown) => {
      try {
        if (parseTrainerCommand(message).type === 'stop') stopReason = 'stop requested by the parent process';
      } catch (error) {
        process.stderr.write(`was-train: ignored a malformed message from the parent: ${(error as Error).message}\n`);
      }
    });
  }

  const { end, runDir } = await runTraining(config, {
    emit: (event) => sinks.forEach((sink) => sink(event)),
    stopRequested: () => stopReason,
  });
  if (output !== 'json') process.stdout.write(`\n${summaryTable(end, runDir)}\n`);
  if (process.send) process.disconnect();
  return end.status === 'failed' ? 1 : 0;
}
