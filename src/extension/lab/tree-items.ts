// What the Runs tree shows for a run, as plain data (the API layer turns it into a TreeItem):
// a label that tells runs of one setup apart by their start time, the chosen mode's accuracy
// leads the description, then the other's; the tooltip says it all in full; icons by status; a
// context value that the menus in package.json match (context-keys.ts).

import type { InferenceMode } from '../../shared/protocol';
import type { LabRun, LabRunStatus } from './lab-runs';
import { percent, points } from '../../shared/format';
import { describeOwner } from '../../shared/node/run-lock';
import { domTestAccuracy } from '../runs/mode-evaluation';
import { runProgress } from './run-progress';
import { runContextValue } from './context-keys';

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

/** A run's icon by its status (codicon and theme colour); a study's runs use the same ones. */
export const RUN_ICONS: Record<LabRunStatus, { id: string; color: string }> = {
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

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * `shownRunId`: the run the visible metrics panel follows (its context value says so). The label
 * is "lenet · mnist · shift · 09:07": the setup, then when the run started (local time; the date
 * too when not today), so runs of one setup tell apart.
 */
export function runTreeItem(run: LabRun, mode: InferenceMode, now = Date.now(), shownRunId: string | null = null): RunTreeItemData {
  const record = run.record;
  const setup = runSetup(run);
  const started = runStartMs(run);
  const label = started === null ? setup : `${setup} · ${shortTime(started, now)}`;
  const accuracy = accuracyText(run, mode);
  const description = [statusText(run, now), accuracy].filter((s) => s !== '').join(' · ');
  const lines = [
    `**${run.runId}**`,
    '',
    `${setup}${description ? ` · ${description}` : ''}`,
    started !== null ? `Started: ${longTime(started)}${run.record && run.status !== 'running' ? ` · last written ${longTime(run.record.lastWriteMs)}` : ''}` : '',
    run.record?.epochs ? `Epochs: ${run.record.epochsCompleted} of ${run.record.epochs} done` : '',
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
    icon: RUN_ICONS[run.status],
    contextValue: runContextValue(run, shownRunId),
  };
}

/** "lenet · mnist · shift": model, dataset and transform ("plain" without WAS), from the run or its job. */
export function runSetup(run: LabRun): string {
  const spec = run.job?.spec;
  const model = run.record?.model ?? spec?.model ?? '?';
  const dataset = run.record?.dataset ?? spec?.dataset ?? '?';
  const transform = run.record?.transform ?? spec?.transform;
  return `${model} · ${dataset}${transform ? ` · ${transform === 'none' ? 'plain' : transform}` : ''}`;
}

/** When the run started: its folder's creation (run-start), else its trainer's run-start event; null while queued. */
export function runStartMs(run: LabRun): number | null {
  if (run.record !== null && Number.isFinite(run.record.createdMs) && run.record.createdMs > 0) return run.record.createdMs;
  const start = run.job?.events.find((e) => e.type === 'run-start');
  return start ? start.time : null;
}

/** "09:07" today, "Dec 5 09:07" another day (local time). */
export function shortTime(ms: number, now: number): string {
  const at = new Date(ms);
  const today = new Date(now);
  const hm = `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
  const sameDay = at.getFullYear() === today.getFullYear() && at.getMonth() === today.getMonth() && at.getDate() === today.getDate();
  return sameDay ? hm : `${MONTHS[at.getMonth()]} ${at.getDate()}${at.getFullYear() === today.getFullYear() ? '' : ` ${at.getFullYear()}`} ${hm}`;
}

/** "2026-12-06 09:07:31" (local time). */
function longTime(ms: number): string {
  const at = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())} ${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`;
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
