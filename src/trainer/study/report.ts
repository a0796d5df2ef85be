// A study's results for people: the table printed at the end of `was-train study` and the
// report <study>/study.md (the table, the method in two sentences, the command that reproduces it,
// the versions and the machine). Both read only study.json's contents.

import { duration, percent, settingsText } from '../../shared/format';
import type { Gain, StudyCell, StudyResults, Summary } from '../../shared/study';

const HEADER = ['cell', 'settings', 'n', 'AOM', 'DOM (draw sd)', 'plain', 'gain AOM [95% t CI] {bootstrap}', 'p AOM', 'gain DOM [95% t CI] {bootstrap}', 'p DOM'];

function meanStd(s: Summary | null): string {
  if (s === null || s.n === 0) return '-';
  return Number.isNaN(s.std) ? percent(s.mean) : `${percent(s.mean)} ± ${(100 * s.std).toFixed(2)}`;
}

function pts(x: number): string {
  return Number.isNaN(x) ? '?' : `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
}

function interval([lo, hi]: readonly [number, number]): string | null {
  return Number.isNaN(lo) || Number.isNaN(hi) ? null : `${pts(lo)}, ${pts(hi)}`;
}

/** "+0.80 pts [+0.30, +1.30] {+0.35, +1.20}": the mean gain, its t interval, its bootstrap interval. */
function gainText(g: Gain | null): string {
  if (g === null || g.n === 0) return '-';
  const t = interval(g.tInterval);
  const boot = interval(g.bootstrapInterval);
  return `${pts(g.mean)} pts${t ? ` [${t}]` : ''}${boot ? ` {${boot}}` : ''}`;
}

function pText(g: Gain | null): string {
  if (g === null || Number.isNaN(g.pValue)) return '-';
  return g.pValue < 0.001 ? '<0.001' : g.pValue.toFixed(3);
}

function cellRow(cell: StudyCell, results: StudyResults): string[] {
  const runs = results.runs.filter((r) => r.cell === cell.id);
  const done = runs.filter((r) => r.state === 'completed').length;
  return [
    cell.id,
    settingsText(cell.settings),
    done === runs.length ? String(done) : `${done}/${runs.length}`,
    meanStd(cell.aom),
    `${meanStd(cell.dom)}${cell.domDrawStd === null || Number.isNaN(cell.domDrawStd) ? '' : ` (${(100 * cell.domDrawStd).toFixed(2)})`}`,
    meanStd(cell.baseline),
    gainText(cell.gain.aom),
    pText(cell.gain.aom),
    gainText(cell.gain.dom),
    pText(cell.gain.dom),
  ];
}

/** The cells as an aligned text table. */
export function studyTable(results: StudyResults): string {
  const rows = [HEADER, ...results.cells.map((c) => cellRow(c, results))];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => '  ' + r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

/** Counts of runs by state: "4 completed, 1 failed". */
export function stateCounts(results: StudyResults): string {
  const counts = new Map<string, number>();
  for (const run of results.runs) counts.set(run.state, (counts.get(run.state) ?? 0) + 1);
  return [...counts].map(([state, n]) => `${n} ${state}`).join(', ');
}

/** The runs that failed or stopped, with why. */
export function problemLines(results: StudyResults): string[] {
  return results.runs.filter((r) => r.state === 'failed' || r.state === 'stopped').map((r) => `${r.name}: ${r.state}${r.reason ? ` (${r.reason})` : ''}`);
}

function markdownTable(results: StudyResults): string {
  const escape = (text: string): string => text.replace(/\|/g, '\\|');
  const lines = [`| ${HEADER.join(' | ')} |`, `|${HEADER.map(() => '---').join('|')}|`];
  for (const cell of results.cells) lines.push(`| ${cellRow(cell, results).map(escape).join(' | ')} |`);
  return lines.join('\n');
}

/** study.md: written by the tool at the end of every session of the study. */
export function studyMarkdown(results: StudyResults): string {
  const m = results.machine;
  const problems = problemLines(results);
  const description = typeof results.study.description === 'string' ? `${results.study.description}\n\n` : '';
  return [
    `# Study ${results.name}`,
    '',
    `${description}State: **${results.state}** (${stateCounts(results)}), wall time ${duration(results.wallSec)} over every session, updated ${results.updatedAt}.`,
    '',
    markdownTable(results),
    '',
    'Accuracies are test accuracy at the selected epoch, mean ± sample standard deviation over seeds (n completed runs); ' +
      'DOM is the stochastic DOM, each run\'s number the mean over its evaluation draws (draw sd: the mean over runs of the standard deviation across one run\'s draws, in points); ' +
      '"plain" is the paired baseline, the same config and seed without weight augmentation. ' +
      'Gains are WAS minus plain per seed, in percentage points: mean, [95% Student t interval], {95% percentile bootstrap interval}, and the paired t test\'s two-sided p.',
    '',
    '## Method',
    '',
    'Every cell of the grid is trained once per seed, and each WAS run is paired with a plain run of the same seed ' +
      '(same data order, augmentation and initial weights), so the gain is measured per seed as WAS minus plain test accuracy. ' +
      'Each cell reports the mean of those paired differences with a 95% Student t interval and a percentile bootstrap interval beside it ' +
      'and the two-sided paired t test p-value; the stochastic DOM is the mean over its evaluation draws.',
    '',
    '## Reproduce',
    '',
    '```',
    `was-train study ${results.file}`,
    '```',
    '',
    `Versions: ${Object.entries(results.versions).map(([k, v]) => `${k} ${v}`).join(', ')}. ` +
      `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.platform}/${m.arch}. ` +
      `Executor: ${results.executor.kind}, ${results.executor.processes} processes × ${results.executor.threadsPerProcess} threads.`,
    ...(problems.length > 0 ? ['', '## Runs that did not complete', '', ...problems.map((p) => `- ${p}`)] : []),
    '',
  ].join('\n');
}
