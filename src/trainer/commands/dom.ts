// `was-train dom <run-dir> --flops-target 0.7 [--checkpoint best|last]`: search the deterministic
// DOM for a FLOPs target on a saved checkpoint, print the result and save it in the run folder
// (dom/<checkpoint>-flops-<target>.json, a dom-search event) for `was-train export --mode dom`.

import * as fs from 'node:fs';
import { errorMessage } from '../../shared/errors';
import { acquireRunLock } from '../../shared/node/run-lock';
import { DOM_SEARCH_ALGORITHMS, BACKEND_NAMES } from '../../shared/config';
import { EXIT } from '../../shared/exit-codes';
import { encodeEvent } from '../../shared/protocol';
import { BACKEND_PATH_FLAG, BACKEND_PATH_HELP, UsageError } from '../args';
import { domSearchRows, table } from '../output/dom-report';
import { saveSearch } from '../dom/run-search';
import { maxShiftFor } from '../dom/plan';
import { flopsBudget, UnreachableTargetError } from '../dom/search';
import { openRun, searchSavedRun } from '../export/run-source';
import { choice, flopsTarget, parseCommandArgs, processIo, type CommandIo } from './flags';

const USAGE = `Usage: was-train dom <run-folder> --flops-target F [options]

Fixes one shift per transformed layer so that the network needs at most F of the AOM FLOPs
(multiply-adds), choosing the layers and shifts that cost the least accuracy on the run's
selection split; reports the search cost and the test accuracy, and saves the result in
<run-folder>/dom/ for \`was-train export --mode dom\`.

Options:
  --flops-target F    a fraction (0.7) or a percentage (70%) of the AOM FLOPs
  --checkpoint C      best (default: the run's selected epoch) | last
  --search S          lazy-greedy (default) | greedy (re-measures every move at every step)
  --backend B         ${BACKEND_NAMES.join(' | ')} (default: the run's)
  --backend-path DIR  ${BACKEND_PATH_HELP}
  --no-test           skip the test-set numbers
  --json              print the dom-search event as one JSON line

Exit status: 0 done; 1 the run, its checkpoint or its data cannot be used; 2 bad flags or an
unreachable target.`;

export async function domCommand(argv: string[], io: CommandIo = processIo): Promise<number> {
  const command = 'dom';
  try {
    const args = parseCommandArgs(argv, { 'flops-target': 'value', checkpoint: 'value', search: 'value', backend: 'value', [BACKEND_PATH_FLAG]: 'list', 'no-test': 'switch', json: 'switch' });
    if (args.help) {
      io.out(USAGE + '\n');
      return EXIT.ok;
    }
    if (args.runDir === null) throw new UsageError(`which run? ${USAGE.split('\n')[0]}`);
    const raw = args.values.get('flops-target');
    if (raw === undefined) throw new UsageError(`--flops-target is required (e.g. --flops-target 0.7)`);
    const target = flopsTarget(raw);
    const which = choice('checkpoint', args.values.get('checkpoint'), ['best', 'last'] as const, 'best');
    const algorithm = choice('search', args.values.get('search'), DOM_SEARCH_ALGORITHMS, 'lazy-greedy');
    const backend = args.values.has('backend') ? choice('backend', args.values.get('backend'), BACKEND_NAMES, 'auto') : undefined;
    const json = args.switches.has('json');
    const say = (line: string): void => {
      io.err(`was-train dom: ${line}\n`);
    };

    // It writes into the run folder: not while a trainer does (a missing folder is openRun's to report).
    const lock = fs.statSync(args.runDir, { throwIfNoEntry: false })?.isDirectory() ? acquireRunLock(args.runDir, 'was-train dom', say) : null;
    try {
      const source = await openRun(args.runDir, which, {
        backend,
        backendPaths: args.lists.get(BACKEND_PATH_FLAG),
        log: say,
        // An unreachable target needs no data to tell.
        beforeData: (model, config) => flopsBudget(model, target, (conv) => maxShiftFor(conv.k, config.was.translate)),
      });
      try {
        const { event } = await searchSavedRun(source, { flopsTarget: target, algorithm, withTest: !args.switches.has('no-test'), onProgress: say });
        const file = saveSearch(args.runDir, event);
        if (json) io.out(encodeEvent(event) + '\n');
        else io.out(`\n${table([...domSearchRows(event), ['saved', file]])}\n`);
        return EXIT.ok;
      } finally {
        source.dispose();
      }
    } finally {
      lock?.release();
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof UnreachableTargetError) {
      io.err(`was-train ${command}: ${error.message}\n`);
      return EXIT.usage;
    }
    // A missing checkpoint or dataset, a corrupt file: the message names it.
    io.err(`was-train ${command}: ${errorMessage(error)}\n`);
    return EXIT.failed;
  }
}
