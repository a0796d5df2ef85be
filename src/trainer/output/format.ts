// Human-readable lines for events (log.txt, plain terminal output) and the final summary table.

import type { RunEndEvent, TrainerEvent } from '../../shared/protocol';
import { domSearchLine, flopsRows } from './dom-report';
import { backendText, duration, percent, points } from '../../shared/format';

/** A one-line description of an event, or null for events not worth a line. */
export function formatEvent(event: TrainerEvent): string | null {
  switch (event.type) {
    case 'run-start':
      return (
        `run ${event.runId}: ${event.model.name} (${event.model.parameters.toLocaleString('en-US')} parameters, ` +
        `WAS ${event.config.was.transform} on ${event.model.shadowLayers.length} layers) on ${event.dataset.name} ` +
        `(${event.dataset.train} train / ${event.dataset.validation} validation / ${event.dataset.test} test), ` +
        `backend ${backendText(event.backend)}, seed ${event.seed}, ${event.epochs} epochs x ${event.stepsPerEpoch} steps` +
        (event.resumedFrom ? `, resumed after epoch ${event.resumedFrom.epoch} (step ${event.resumedFrom.step})` : '')
      );
    case 'phase':
    case 'was-kernels':
    case 'test-confusion':
      return null;
    case 'step':
      return (
        `epoch ${event.epoch} step ${event.stepInEpoch}/${event.stepsPerEpoch} loss ${event.loss.toFixed(4)} ` +
        `acc ${percent(event.accuracy)} lr ${event.lr.toPrecision(3)} ${Math.round(event.samplesPerSec)} samples/s`
      );
    case 'epoch':
      return (
        `epoch ${event.epoch} done in ${duration(event.durationSec)}: train loss ${event.trainLoss.toFixed(4)} ` +
        `acc ${percent(event.trainAccuracy)} | ${event.selectionSplit} AOM ${percent(event.aomAccuracy)} ` +
        `DOM ${percent(event.domAccuracy)}${event.best ? ' (best)' : ''}`
      );
    case 'log':
      return `${event.level}: ${event.message}`;
    case 'run-end':
      return `run ${event.status}${event.reason ? `: ${event.reason}` : ''}`;
    case 'baseline': {
      const line = formatEvent(event.event);
      return line === null ? null : `baseline | ${line}`;
    }
    case 'dom-search':
      return domSearchLine(event);
  }
}


function baselineRows(end: RunEndEvent): [string, string][] {
  const b = end.baseline;
  if (!b) return [];
  const test = b.test ? `${percent(b.test.accuracy)} (epoch ${b.test.epoch})` : `- (${b.status})`;
  return [
    ['baseline test accuracy', test],
    ['WAS gain AOM / DOM', b.gain ? `${points(b.gain.aom)} / ${points(b.gain.dom)}` : '-'],
  ];
}

/** The stochastic DOM's test draws behind its mean: how many and their range (nothing for one draw). */
function drawsText(draws: readonly number[] | undefined): string {
  if (!draws || draws.length < 2) return '';
  return ` (mean of ${draws.length} draws, ${percent(Math.min(...draws))} to ${percent(Math.max(...draws))})`;
}

/** The table printed at the end of a run. */
export function summaryTable(end: RunEndEvent, runDir: string): string {
  const rows: [string, string][] = [
    ['status', end.status + (end.reason ? ` (${end.reason})` : '')],
    ['epochs completed', String(end.epochsCompleted)],
    ['best epoch', end.bestEpoch === null ? '-' : String(end.bestEpoch)],
    ['best AOM (selection split)', percent(end.bestAomAccuracy)],
    ['test accuracy AOM', percent(end.test?.aom)],
    ['test accuracy DOM', percent(end.test?.dom) + drawsText(end.test?.domDraws)],
    ...baselineRows(end),
    ...flopsRows(end.flops),
    ['time', duration(end.durationSec)],
    ['samples/s', end.samplesPerSec > 0 ? String(Math.round(end.samplesPerSec)) : '-'],
    ['run folder', runDir],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}
