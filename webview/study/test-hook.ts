// What the study page exposes for its tests (globalThis[STUDY_TEST_HOOK]): what the table shows,
// what the gains chart drew, and counts of host messages applied and renders. It only reads.
// DOM-free, so Node-side tests can import its types.

import type { GainChartInfo } from './gain-chart';

export const STUDY_TEST_HOOK = 'wasLabStudyTestHook';

export interface StudyTestHook {
  /** Valid host messages applied, and renders done. */
  messages(): number;
  renders(): number;
  /** The cell ids in table order (sorted, filtered). */
  rows(): string[];
  chart(): GainChartInfo;
}

export function installStudyTestHook(hook: StudyTestHook): void {
  (globalThis as Record<string, unknown>)[STUDY_TEST_HOOK] = hook;
}
