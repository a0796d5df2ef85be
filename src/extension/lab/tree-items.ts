// What the Runs tree shows for a run, as plain data (the API layer turns it into a TreeItem):
// the chosen mode's accuracy leads, then the other's; icons by status; a context value that the
// menus in package.json match (`wasRun.<status>`).

import type { InferenceMode } from '../../shared/protocol';
import type { LabRun, LabRunStatus } from './lab-runs';
import { percent, points } from '../../shared/format';
import { describeOwner } from '../../shared/node/run-lock';
import { domTestAccuracy } from '../runs/mode-evaluation';
import { runProgress } from './run-progress';

export interface RunTreeItemData {
  id: string;
  label: string;
  description: string;
  /** Markdown. */
  tooltip: string;
  /** A codicon id (`sync~spin` spins) and a theme color id. */
  icon: { id: string; color: string };
  contextValue: string;
}

const ICONS: Record<LabRunStatus, { id: string; color: string }> = {
  queued: { id: 'clock', color: 'disabledForeground' },
  starting: { id: 'loading~spin', color: 'charts.blue' },
  running: { id: 'sync~spin', color: 'charts.blue' },
  stopping: { id: 'debug-stop', color: 'charts.yellow' },
  completed: { id: 'pass', color: 'testing.iconPassed' },
  stopped: { id: 'debug-pause', color: 'charts.yellow' },
  failed: { id: 'error', color: 'testing.iconFailed' },
  incomplete: { id: 'warning', color: 'charts.orange' },
};

const MODE_NAMES: Record<InferenceMode, string> = { aom: 'AOM', dom: 'DOM' };

export function runTreeItem(run: LabRun, mode: InferenceMode, now = Date.now()): RunTreeItemData {
  const record = run.record;
  const spec = run.job?.spec;
  const model = record?.model ?? spec?.model ?? '?';
  const dataset = record?.dataset ?? spec?.dataset ?? '?';
  const transform = record?.transform ?? spec?.transform;
  const label = `${model} · ${dataset}${transform ? ` · ${transform === 'none' ? 'plain' : transform}` : ''}`;
  const accuracy = accuracyText(run, mode);
  const description = [statusText(run, now), accuracy].filter((s) => s !== '').join(' · ');
  const lines = [
    `**${run.runId}**`,
    '',
    `Status: ${run.status}${run.reason ? ` (${run.reason})` : ''}`,
    run.lockedBy ? `Written by another process: ${describeOwner(run.lockedBy)}` : '',
    accuracy ? `Accuracy: ${accuracy}` : '',
    record?.baseline?.test ? `Baseline (plain model) test: ${percent(record.baseline.test.accuracy)}${record.baseline.gain ? `; WAS gain AOM ${points(record.baseline.gain.aom)}, DOM ${points(record.baseline.gain.dom)}` : ''}` : '',
    record && domTestAccuracy(record) !== null ? `Deterministic DOM (at most ${Math.round(100 * record.domFlopsTarget!)}% of the AOM FLOPs) test: ${percent(domTestAccuracy(record))}` : '',
    record?.preset ? `Preset: ${record.preset}` : '',
    `Folder: \`${run.dir}\``,
    ...(record?.problems ?? []).map((p) => `⚠ ${p}`),
  ];
  return {
    id: run.runId,
    label,
    description,
    tooltip: lines.filter((l, i) => l !== '' || i === 1).join('\n\n'),
    icon: ICONS[run.status],
    contextValue: `wasRun.${run.status}`,
  };
}

/** "DOM 97.90% · AOM 98.71% (test)": the chosen mode first; test numbers when measured, else the best selection-split epoch. */
export function accuracyText(run: LabRun, mode: InferenceMode): string {
  const record = run.record;
  const live = run.job && run.status !== 'completed' ? runProgress(run.job.events)?.lastEpoch : null;
  const numbers = record?.test
    ? { aom: record.test.aom, dom: record.test.dom, where: 'test' }
    : live
      ? { aom: live.aomAccuracy, dom: live.domAccuracy, where: live.selectionSplit === 'test' ? 'test, selection' : 'val' }
      : record?.best
        ? { aom: record.best.aom, dom: record.best.dom, where: record.best.split === 'test' ? 'test, selection' : 'val' }
        : null;
  if (numbers === null) return '';
  const other: InferenceMode = mode === 'aom' ? 'dom' : 'aom';
  return `${MODE_NAMES[mode]} ${percent(numbers[mode])} · ${MODE_NAMES[other]} ${percent(numbers[other])} (${numbers.where})`;
}

function statusText(run: LabRun, now: number): string {
  switch (run.status) {
    case 'queued':
      return 'queued';
    case 'starting':
      return 'starting';
    case 'running':
    case 'stopping': {
      if (run.lockedBy) return `running elsewhere (pid ${run.lockedBy.pid}${run.record?.epochs ? ` · epoch ${run.record.epochsCompleted}/${run.record.epochs} done` : ''})`;
      const p = run.job ? runProgress(run.job.events, now) : null;
      const where = p ? `epoch ${p.epoch}/${p.epochs} · ${Math.round(100 * p.fraction)}%` : '';
      return run.status === 'stopping' ? `stopping${where ? ` · ${where}` : ''}` : where;
    }
    case 'failed':
      return 'failed';
    case 'stopped':
      return 'stopped';
    case 'incomplete':
      return 'no summary';
    case 'completed':
      return '';
  }
}
