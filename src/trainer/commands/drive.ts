// Drives one training session from the command line: Ctrl-C, SIGTERM and the parent's IPC stop
// message become stop requests; events go to the terminal and, when forked, up to the parent;
// the summary table ends it. Shared by `train` and `resume`.

import { errorMessage } from '../../shared/errors';
import { EXIT } from '../../shared/exit-codes';
import { parseTrainerCommand, type TrainerEvent } from '../../shared/protocol';
import type { OutputStyle } from '../args';
import { summaryTable } from '../output/format';
import { terminalSink } from '../output/terminal';
import type { RunResult, TrainingIo } from '../train/io';

/** Runs `session` and returns the exit status: 0 completed or stopped, 1 failed. */
export async function driveSession(output: OutputStyle, session: (io: TrainingIo) => Promise<RunResult>): Promise<number> {
  let stopReason: string | null = null;
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts++;
    if (interrupts > 1) {
      process.stderr.write(`\nwas-train: ${signal} again, exiting without finishing the run\n`);
      process.exit(EXIT.interrupted);
    }
    stopReason = `${signal} received`;
    process.stderr.write(`\nwas-train: ${signal}: stopping at the next step (again to abort)\n`);
  };
  const onMessage = (message: unknown): void => {
    try {
      if (parseTrainerCommand(message).type === 'stop') stopReason = 'stop requested by the parent process';
    } catch (error) {
      process.stderr.write(`was-train: ignored a malformed message from the parent: ${errorMessage(error)}\n`);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // The extension's window went away (closed, reloaded, crashed): end the run cleanly, resumable,
  // rather than train on unsupervised or die on the next send.
  const onDisconnect = (): void => {
    stopReason ??= 'the VS Code window that started it went away (closed or reloaded)';
  };
  const sinks: ((event: TrainerEvent) => void)[] = [terminalSink(output, process.stdout)];
  if (process.send) {
    // Forked by the extension: events go up over IPC, stop requests come down.
    sinks.push((event) => {
      // With a callback, a send that loses the race with a closing channel is not an uncaught error.
      if (process.connected) process.send!(event, undefined, {}, () => undefined);
    });
    process.on('message', onMessage);
    process.on('disconnect', onDisconnect);
    // The parent's pipes close with it: finish the run rather than die of EPIPE on a progress line.
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  }
  try {
    const { end, runDir } = await session({
      emit: (event) => sinks.forEach((sink) => sink(event)),
      stopRequested: () => stopReason,
    });
    if (output !== 'json') process.stdout.write(`\n${summaryTable(end, runDir)}\n`);
    return end.status === 'failed' ? EXIT.failed : EXIT.ok;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (process.send) {
      process.off('message', onMessage);
      process.off('disconnect', onDisconnect);
      if (process.connected) process.disconnect();
    }
  }
}
