// The end of a run: the test numbers at the best epoch, the FLOPs (and the deterministic DOM for
// a FLOPs target), and the run-end event that sums the run up.

import type { BackendInfo, BaselineComparison, FlopsSummary, RunEndEvent } from '../../shared/protocol';
import { searchDomAfterTraining } from '../dom/after-training';
import type { RunFolder } from '../output/run-folder';
import { Rng } from '../rng';
import { loadCheckpoint, restoreModel } from './checkpoint';
import { durationSec, evaluateModeScore, type Tally } from './epoch';
import type { RunOutput, RunResult } from './io';
import type { Run } from './setup';
import type { Evaluation } from '../eval/evaluate';

/** What the end of a run reports beside the tally; each stays null until measured. */
export interface Findings {
  test: RunEndEvent['test'];
  flops: FlopsSummary | null;
  baseline: BaselineComparison | null;
  backend: BackendInfo | null;
}

/**
 * AOM and DOM accuracy on the test split, with the best epoch's weights. The stochastic DOM moves
 * with its draws (points between two draw streams of the same weights), so it is evaluated
 * dom.testDraws times, each with its own stream, and reported as their mean beside the draws.
 */
export async function testBestEpoch(run: Run, bestEpoch: number, out: RunOutput): Promise<NonNullable<RunEndEvent['test']>> {
  out.emit({ type: 'phase', time: Date.now(), phase: 'testing', epoch: bestEpoch });
  // The best weights come back from the best checkpoint, in a resumed session as in the first.
  restoreModel(run.model, await loadCheckpoint(run.folder.dir, 'best'));
  // DOM test draws are seeded on their own so the test number does not depend on history.
  const testSeed = (run.streams.evalSeed ^ 0x5bd1e995) >>> 0;
  const aom = await evaluateModeScore('aom', run.dataset.test, run.evalSetup(testSeed));
  const seeds = Array.from({ length: run.config.dom.testDraws }, (_, draw) => domTestDrawSeed(testSeed, draw));
  // One after another: each recalibrates the model's 'dom' statistics.
  const doms: Evaluation[] = [];
  if (run.hasShadow) for (const seed of seeds) doms.push(await evaluateModeScore('dom', run.dataset.test, run.evalSetup(seed)));
  const domDraws = run.hasShadow ? doms.map((d) => d.accuracy) : [aom.accuracy];
  // Per-class accuracy and where the modes err: AOM's confusion matrix, and the first DOM draw's.
  out.emit({ type: 'test-confusion', time: Date.now(), epoch: bestEpoch, classes: aom.confusion.length, aom: aom.confusion, dom: doms[0]?.confusion ?? null });
  const dom = domDraws.reduce((sum, x) => sum + x, 0) / domDraws.length;
  return { aom: aom.accuracy, dom, domDraws, epoch: bestEpoch };
}

/** The seed of the test split's DOM draw number `draw`: the first is the test seed itself, each other one its own stream. */
export function domTestDrawSeed(testSeed: number, draw: number): number {
  return draw === 0 ? testSeed : new Rng((testSeed + Math.imul(draw, 0x85ebca6b)) >>> 0).nextUint32();
}

/** The FLOPs of the trained model, and with dom.flopsTarget the DOM that meets it. */
export function finalFlops(run: Run, bestEpoch: number, out: RunOutput): Promise<FlopsSummary> {
  return searchDomAfterTraining({
    model: run.model,
    config: run.config,
    // The stochastic reference DOM from the stream `was-train dom` uses (export/run-source.ts).
    setup: run.evalSetup((run.seed ^ 0x27d4eb2f) >>> 0),
    selection: run.selection,
    test: run.dataset.test,
    bestEpoch,
    runDir: run.folder.dir,
    emit: out.emit,
    log: out.log,
  });
}

/** Emit the run-end event and write it to summary.json. */
export function endRun(folder: RunFolder, tally: Tally, findings: Findings, status: RunEndEvent['status'], reason: string | null, out: RunOutput): RunResult {
  const { test, flops, baseline, backend } = findings;
  const end: RunEndEvent = {
    type: 'run-end',
    time: Date.now(),
    status,
    reason,
    epochsCompleted: tally.epochsCompleted,
    bestEpoch: tally.best?.epoch ?? null,
    bestAomAccuracy: tally.best?.accuracy ?? null,
    test,
    durationSec: durationSec(tally),
    samplesPerSec: tally.trainSeconds > 0 ? tally.trainSamples / tally.trainSeconds : 0,
    ...(flops ? { flops } : {}),
    ...(baseline ? { baseline } : {}),
    ...(backend ? { backend } : {}),
  };
  out.emit(end);
  folder.writeJson('summary.json', end);
  return { end, runDir: folder.dir };
}
