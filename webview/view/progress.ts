// The progress section's top: the bar, "Epoch 2 / 3 · step 9 / 18 (50%) · ETA 12s", and why the
// run stopped or failed. The facts under it (facts.ts) are passed in to sit in the same section.

import { duration } from '../../src/shared/format';
import { h } from '../dom';
import type { RunModel } from '../run-model';
import type { Scene, View } from './view';

export interface ProgressView extends View {
  readonly element: HTMLElement;
}

export function progressView(facts: HTMLElement): ProgressView {
  const bar = h('vscode-progress-bar', { id: 'progress-bar', 'aria-label': 'Training progress' });
  const text = h('p', { id: 'progress-text', class: 'progress-text' });
  const reason = h('p', { id: 'run-reason', class: 'run-reason' });
  const element = h('section', { class: 'progress', 'aria-label': 'Progress' }, bar, text, reason, facts);
  return {
    element,
    deps: ({ active }) => [active, active.version],
    render({ active }: Scene): void {
      const progress = active.progress();
      bar.max = 100;
      bar.indeterminate = progress === null && active.isLive();
      bar.value = progress ? Math.round(progress.fraction * 1000) / 10 : 0;
      text.textContent = progressText(active);
      reason.textContent = active.reason ?? active.end?.reason ?? '';
      reason.hidden = reason.textContent === '';
    },
  };
}

/** "Epoch 2 / 3 · step 9 / 18 (50%) · train · ETA 12s" */
export function progressText(run: RunModel): string {
  const progress = run.progress();
  const parts: string[] = [];
  if (progress) {
    parts.push(`Epoch ${progress.epoch} / ${progress.epochs}`);
    parts.push(`step ${progress.step.toLocaleString('en-US')} / ${progress.totalSteps.toLocaleString('en-US')} (${Math.floor(progress.fraction * 100)}%)`);
  }
  if (run.isLive() && run.phase) parts.push(run.phase.replace('-', ' '));
  const eta = run.etaSeconds();
  if (eta !== null) parts.push(`ETA ${duration(eta, '—')}`);
  if (!progress) parts.push(run.isLive() ? 'starting…' : 'no training data');
  return parts.join(' · ');
}
