// Human-readable lines for events (log.txt, plain terminal output) and the final summary table.

import type { RunEndEvent, TrainerEvent } from '../../shared/protocol';

export function percent(x: number | null | undefined): string {
  return x === null || x === undefined || Number.isNaN(x) ? '-' : `${(100 * x).toFixed(2)}%`;
}

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

/** A one-line description of an event, or null for events not worth a line. */
export function formatEvent(event: TrainerEvent): string | null {
  switch (event.type) {
    case 'run-start':
      return (
        `run ${event.runId}: ${event.model.name} (${event.model.parameters.toLocaleString('en-US')} parameters, ` +
        `WAS ${event.config.was.transform} on ${event.model.shadowLayers.length} layers) on ${event.dataset.name} ` +
        `(${event.dataset.train} train / ${event.dataset.validation} validation / ${event.dataset.test} test), ` +
        `backend ${event.backend.name}, seed ${event.seed}, ${event.epochs} epochs x ${event.stepsPerEpoch} steps`
      );
    case 'phase':
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
  }
}

/** The table printed at the end of a run. */
export function summaryTable(end: RunEndEvent, runDir: string): string {
  const rows: [string, string][] = [
    ['status', end.status + (end.reason ? ` (${end.reason})` : '')],
    ['epochs completed', String(end.epochsCompleted)],
    ['best epoch', end.bestEpoch === null ? '-' : String(end.bestEpoch)],
    ['best AOM (selection split)', percent(end.bestAomAccuracy)],
    ['test accuracy AOM', percent(end.test?.aom)],
    ['test accuracy DOM', percent(end.test?.dom)],
    ['time', duration(end.durationSec)],
    ['samples/s', end.samplesPerSec > 0 ? String(Math.round(end.samplesPerSec)) : '-'],
    ['run folder', runDir],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}
