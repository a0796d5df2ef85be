// The statistics of a study against numbers computed elsewhere: Student's own paired example
// (the sleep data) and SciPy's t distribution and paired t test, each written in as a constant
// with where it came from; the bootstrap interval against the exact bootstrap distribution
// (every resample enumerated); the degenerate cases; and the table of cells.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import type { StudyRun } from '../../src/shared/study';
import { summarizeCells } from '../../src/trainer/study/cells';
import { bootstrapInterval, pairedGain, quantileOfSorted, summarize, type GainPair } from '../../src/trainer/study/statistics';

function close(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual}, expected ${expected} (within ${tolerance})`);
}

/** Pairs from lists of accuracies in percent (the gain then equals was - plain in points). */
function pairsOf(was: number[], plain: number[]): GainPair[] {
  return was.map((w, i) => ({ seed: i + 1, was: w / 100, plain: plain[i] / 100 }));
}

// Student (1908), "The probable error of a mean", Biometrika 6(1), p. 20: Cushny and Peebles'
// hours of extra sleep of 10 patients under two drugs (R's `sleep` data set). The paired t test of
// drug 2 over drug 1: R's `t.test(extra ~ group, data = sleep, paired = TRUE)` prints t = -4.0621,
// df = 9, p-value = 0.002833, 95% CI -2.4598858 -0.7001142, mean difference -1.58 (group 1 minus
// group 2); the constants below are SciPy 1.17.1's for group 2 minus group 1:
// `scipy.stats.ttest_rel(drug2, drug1)` -> statistic 4.062127683382037, pvalue 0.002832890197384273,
// `.confidence_interval(0.95)` -> (0.7001142367230175, 2.459885763276983);
// `numpy.std(drug2 - drug1, ddof=1)` -> 1.2299954832798732.
const DRUG1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
const DRUG2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];

test("paired gain: Student's sleep data, as R and SciPy compute it", () => {
  const gain = pairedGain(pairsOf(DRUG2, DRUG1));
  assert.equal(gain.n, 10);
  close(gain.mean, 1.58, 1e-12, 'mean difference');
  close(gain.std, 1.2299954832798732, 1e-12, 'std of the differences');
  close(gain.tInterval[0], 0.7001142367230175, 1e-10, 't interval low');
  close(gain.tInterval[1], 2.459885763276983, 1e-10, 't interval high');
  close(gain.pValue, 0.002832890197384273, 1e-12, 'p-value');
  assert.deepEqual(
    gain.perSeed.map((p) => p.seed),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  close(gain.perSeed[9].gain, 1.4, 1e-12, 'seed 10: 3.4 - 2.0');
  // The bootstrap interval of the same differences lies near the t interval and holds the mean.
  const [low, high] = gain.bootstrapInterval;
  assert.ok(low < gain.mean && gain.mean < high, `bootstrap [${low}, ${high}] around ${gain.mean}`);
  assert.ok(Math.abs(low - gain.tInterval[0]) < 0.4 && Math.abs(high - gain.tInterval[1]) < 0.4, `bootstrap [${low}, ${high}] near t [${gain.tInterval}]`);
});

// A study-sized example, five seeds of MNIST-like accuracies (fractions). SciPy 1.17.1:
// `scipy.stats.ttest_rel(100*was, 100*plain)` -> statistic 1.268672417517702, pvalue 0.2733627852773488,
// `.confidence_interval(0.95)` -> (-0.12122342380886567, 0.32522342380886204);
// `numpy.mean(g)`, `numpy.std(g, ddof=1)` of g = 100*(was - plain) -> 0.10199999999999987, 0.17977764043395414;
// `numpy.mean(was)`, `numpy.std(was, ddof=1)` -> 0.9800999999999999, 0.0018668154702594524.
const WAS = [0.9812, 0.979, 0.9825, 0.9801, 0.9777];
const PLAIN = [0.9795, 0.9801, 0.979, 0.9788, 0.978];

test('paired gain: five seeds of accuracies, in percentage points, as SciPy computes it', () => {
  const gain = pairedGain(WAS.map((was, i) => ({ seed: 10 + i, was, plain: PLAIN[i] })));
  assert.equal(gain.n, 5);
  close(gain.mean, 0.10199999999999987, 1e-12, 'mean gain');
  close(gain.std, 0.17977764043395414, 1e-12, 'std of the gains');
  close(gain.tInterval[0], -0.12122342380886567, 1e-10, 't interval low');
  close(gain.tInterval[1], 0.32522342380886204, 1e-10, 't interval high');
  close(gain.pValue, 0.2733627852773488, 1e-12, 'p-value');
  assert.deepEqual(
    gain.perSeed.map((p) => p.seed),
    [10, 11, 12, 13, 14],
  );
  const summary = summarize(WAS);
  assert.equal(summary.n, 5);
  close(summary.mean, 0.9800999999999999, 1e-15, 'mean accuracy');
  close(summary.std, 0.0018668154702594524, 1e-15, 'sample std of the accuracies');
});

// `scipy.stats.t.ppf(0.975, df)` (SciPy 1.17.1) for df 1, 2, 4, 9, 29; printed tables agree to their
// digits (e.g. t(0.975, 4) = 2.776, df 9: 2.262, df 29: 2.045). `scipy.stats.t.cdf(-2.5, 9)` = 0.016930913841492867.
const T_975: [number, number][] = [
  [1, 12.706204736174694],
  [2, 4.302652729749462],
  [4, 2.7764451051977934],
  [9, 2.262157162798205],
  [29, 2.045229642132703],
];

test('the t distribution the intervals use agrees with SciPy', () => {
  for (const [df, t] of T_975) close(tQuantile(0.975, df), t, 1e-12, `t(0.975, ${df})`);
  close(tCdf(-2.5, 9), 0.016930913841492867, 1e-14, 't cdf(-2.5, 9)');
  // Two seeds gaining 1 and 4 points: std 1.5 * sqrt(2), so the half width is t(0.975, 1) * std / sqrt(2) = t * 1.5.
  const gain = pairedGain(pairsOf([2, 5], [1, 1]));
  close(gain.tInterval[1] - gain.mean, 12.706204736174694 * 1.5, 1e-10, 'half width, n = 2');
});

test('summarize: n, mean, sample std; NaN where undefined', () => {
  assert.deepEqual(summarize([2, 4, 4, 4, 5, 5, 7, 9]), { n: 8, mean: 5, std: Math.sqrt(32 / 7) });
  const one = summarize([0.97]);
  assert.equal(one.n, 1);
  assert.equal(one.mean, 0.97);
  assert.ok(Number.isNaN(one.std));
  const none = summarize([]);
  assert.equal(none.n, 0);
  assert.ok(Number.isNaN(none.mean) && Number.isNaN(none.std));
});

test('paired gain: degenerate cases (one seed, none, no spread)', () => {
  const single = pairedGain([{ seed: 3, was: 0.99, plain: 0.98 }]);
  assert.equal(single.n, 1);
  close(single.mean, 1, 1e-12, 'one seed: its gain');
  for (const x of [single.std, ...single.tInterval, ...single.bootstrapInterval, single.pValue]) assert.ok(Number.isNaN(x));
  const none = pairedGain([]);
  assert.equal(none.n, 0);
  assert.ok(Number.isNaN(none.mean) && Number.isNaN(none.pValue));
  assert.deepEqual(none.perSeed, []);

  // Every seed the same gain (up to the rounding of accuracies that are fractions of a test set).
  const same = pairedGain([
    { seed: 1, was: 0.95, plain: 0.9 },
    { seed: 2, was: 0.85, plain: 0.8 },
    { seed: 3, was: 0.75, plain: 0.7 },
  ]);
  close(same.mean, 5, 1e-12, 'constant gain');
  assert.equal(same.pValue, 0);
  assert.deepEqual(same.tInterval, [same.mean, same.mean]);
  assert.deepEqual(same.bootstrapInterval, [same.mean, same.mean]);

  const nothing = pairedGain([
    { seed: 1, was: 0.9, plain: 0.9 },
    { seed: 2, was: 0.8, plain: 0.8 },
  ]);
  assert.equal(nothing.mean, 0);
  assert.equal(nothing.std, 0);
  assert.equal(nothing.pValue, 1);
  assert.deepEqual(nothing.tInterval, [0, 0]);
});

test('bootstrap interval: deterministic for a seed, another seed draws another, the mean inside', () => {
  const pairs = pairsOf(DRUG2, DRUG1);
  const a = pairedGain(pairs, { seed: 7 });
  const b = pairedGain(pairs, { seed: 7 });
  const c = pairedGain(pairs, { seed: 8 });
  assert.deepEqual(a.bootstrapInterval, b.bootstrapInterval);
  assert.notDeepEqual(a.bootstrapInterval, c.bootstrapInterval);
  assert.deepEqual(pairedGain(pairs).bootstrapInterval, pairedGain(pairs).bootstrapInterval, 'the default seed is fixed');
  for (const g of [a, c]) assert.ok(g.bootstrapInterval[0] < g.mean && g.mean < g.bootstrapInterval[1]);
  // The t statistics do not depend on the bootstrap.
  assert.deepEqual([a.tInterval, a.pValue], [c.tInterval, c.pValue]);
  assert.throws(() => bootstrapInterval([1, 2], 0, 1), /resamples must be a positive integer, got 0/);
});

/** Every resample of n values (n^n of them, equally likely): the exact bootstrap distribution of the mean. */
function exactBootstrapMeans(values: number[]): number[] {
  const n = values.length;
  const means: number[] = [];
  const index = new Array<number>(n).fill(0);
  for (let k = 0; k < n ** n; k++) {
    means.push(index.reduce((sum, i) => sum + values[i], 0) / n);
    for (let d = 0; d < n && ++index[d] === n; d++) index[d] = 0;
  }
  return means;
}

test('bootstrap interval: its ends are the 2.5% and 97.5% quantiles of the exact bootstrap distribution', () => {
  const values = [0.17, -0.11, 0.35, 0.13, -0.03, 0.41];
  const exact = exactBootstrapMeans(values);
  const [low, high] = bootstrapInterval(values, 10_000, 12345);
  const below = (x: number) => exact.filter((m) => m < x - 1e-12).length / exact.length;
  const atOrBelow = (x: number) => exact.filter((m) => m <= x + 1e-12).length / exact.length;
  // With 10,000 resamples a 2.5% quantile lands within ~0.0016 (one standard error) of its level.
  for (const [end, level] of [
    [low, 0.025],
    [high, 0.975],
  ] as const) {
    assert.ok(below(end) <= level + 0.006 && atOrBelow(end) >= level - 0.006, `end ${end}: P(mean* < end) ${below(end)}, P(mean* <= end) ${atOrBelow(end)}, level ${level}`);
  }
  const sorted = Float64Array.from(exact).sort();
  close(low, quantileOfSorted(sorted, 0.025), 0.02, 'low end near the exact quantile');
  close(high, quantileOfSorted(sorted, 0.975), 0.02, 'high end near the exact quantile');
});

test('quantileOfSorted interpolates as numpy.quantile does', () => {
  // numpy.quantile([1, 2, 3, 4], [0, 0.025, 0.5, 0.975, 1]) -> [1, 1.075, 2.5, 3.925, 4]
  const sorted = [1, 2, 3, 4];
  const expected = [1, 1.075, 2.5, 3.925, 4];
  [0, 0.025, 0.5, 0.975, 1].forEach((q, i) => close(quantileOfSorted(sorted, q), expected[i], 1e-12, `q ${q}`));
});

function studyRun(cell: string, seed: number, state: StudyRun['state'], result: { aom: number; draws: number[]; baseline: number | null } | null): StudyRun {
  const dom = result ? result.draws.reduce((a, b) => a + b, 0) / result.draws.length : 0;
  return {
    name: `${cell}-s${seed}`,
    cell,
    seed,
    state,
    reason: null,
    epochsCompleted: 1,
    epochs: 1,
    result: result && {
      aom: result.aom,
      dom,
      domDraws: result.draws,
      baseline: result.baseline,
      gain: result.baseline === null ? null : { aom: 100 * (result.aom - result.baseline), dom: 100 * (dom - result.baseline) },
      durationSec: 1,
    },
  };
}

test('summarizeCells: per cell over its completed runs, gains paired by seed, null where nothing was measured', () => {
  const cells = [
    { id: 'c1', settings: { 'was.transform': 'shift' } },
    { id: 'c2', settings: { 'was.transform': 'crop' } },
    { id: 'c3', settings: { 'was.transform': 'mixed' } },
  ];
  const runs = [
    ...WAS.map((aom, i) => studyRun('c1', 10 + i, 'completed', { aom, draws: [aom - 0.001, aom + 0.001], baseline: PLAIN[i] })),
    studyRun('c1', 20, 'failed', null),
    studyRun('c1', 21, 'stopped', { aom: 0.1, draws: [0.1], baseline: 0.1 }),
    studyRun('c2', 1, 'completed', { aom: 0.9, draws: [0.88], baseline: null }),
    studyRun('c2', 2, 'completed', { aom: 0.92, draws: [0.9], baseline: null }),
    studyRun('c3', 1, 'running', null),
  ];
  const [c1, c2, c3] = summarizeCells(cells, runs);

  assert.equal(c1.id, 'c1');
  assert.deepEqual(c1.settings, { 'was.transform': 'shift' });
  assert.equal(c1.aom?.n, 5);
  close(c1.aom?.mean ?? NaN, 0.9800999999999999, 1e-15, 'c1 AOM mean');
  close(c1.aom?.std ?? NaN, 0.0018668154702594524, 1e-15, 'c1 AOM std');
  close(c1.dom?.mean ?? NaN, 0.9800999999999999, 1e-12, 'c1 DOM mean (draws symmetric about the AOM)');
  assert.equal(c1.baseline?.n, 5);
  close(c1.domDrawStd ?? NaN, 0.001 * Math.SQRT2, 1e-12, 'c1 DOM draw std: two draws 0.002 apart');
  const gainAom = c1.gain.aom;
  assert.ok(gainAom);
  close(gainAom.pValue, 0.2733627852773488, 1e-12, 'c1 AOM gain p-value (SciPy, above)');
  assert.deepEqual(
    gainAom.perSeed.map((p) => p.seed),
    [10, 11, 12, 13, 14],
  );
  close(c1.gain.dom?.mean ?? NaN, 0.102, 1e-10, 'c1 DOM gain mean');

  assert.equal(c2.aom?.n, 2);
  close(c2.dom?.mean ?? NaN, 0.89, 1e-15, 'c2 DOM mean');
  assert.equal(c2.baseline, null, 'no baseline, no baseline summary');
  assert.deepEqual(c2.gain, { aom: null, dom: null });
  assert.equal(c2.domDrawStd, null, 'one draw per run: no spread measured');

  assert.deepEqual(c3, { id: 'c3', settings: { 'was.transform': 'mixed' }, aom: null, dom: null, baseline: null, domDrawStd: null, gain: { aom: null, dom: null } });
});
