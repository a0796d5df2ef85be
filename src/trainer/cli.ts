// was-train: the headless trainer's entry point (bundled into dist/trainer.js). The same code
// serves a terminal, CI, a GPU server and the VS Code extension. The first argument may name a
// command; without one, the arguments are a training run's flags.

import { EXIT } from '../shared/exit-codes';
import { domCommand } from './commands/dom';
import { exportCommand } from './commands/export';
import { resumeCommand } from './commands/resume';
import { studyCommand } from './commands/study';
import { studyCancelCommand, studyStatusCommand } from './commands/study-cluster';
import { trainCommand } from './commands/train';

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  train: trainCommand,
  resume: resumeCommand,
  dom: domCommand,
  export: exportCommand,
  study: (argv) => (argv[0] === 'status' ? studyStatusCommand(argv.slice(1)) : argv[0] === 'cancel' ? studyCancelCommand(argv.slice(1)) : studyCommand(argv)),
};

async function main(argv: string[]): Promise<number> {
  const command = argv.length > 0 ? COMMANDS[argv[0]] : undefined;
  return command ? command(argv.slice(1)) : trainCommand(argv);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`was-train: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = EXIT.failed;
  },
);
