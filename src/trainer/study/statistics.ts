// The statistics of a study, as pure functions: a summary (n, mean, sample standard deviation)
// and the paired gain of WAS over its plain baseline, seed by seed. The gain is read with the
// paired Student t test (interval and two-sided p-value, the t distribution from @stdlib, checked
// against SciPy in test/unit/study-statistics.test.ts) and, beside it, a percentile bootstrap
// interval that assumes no normality (seeded, so a study's report is the same every time).

import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import type { Gain, Summary } from '../../shared/study';
import { Rng } from '../rng';

/** Resamples of the bootstrap interval by default (its 2.5% quantile moves by ~0.002 of the spread between draws). */
export const BOOTSTRAP_RESAMPLES = 10_000;
/** The bootstrap's seed by default: fixed, so the same gains give the same interval. */
export const BOOTSTRAP_SEED = 20_261_206;
/** Both intervals are 95%. */
const LEVEL = 0.95;

/**
 * Gains in percentage points come from accuracies that are fractions of a test set, so seeds with
 * the same gain differ by rounding (~1e-14 points): a spread below this is no spread.
 */
const NO_SPREAD = 1e-9;

/** n, mean and sample standard deviation (n - 1 in the denominator); the std is NaN with n < 2, the mean with n = 0. */
export function summarize(values: readonly number[]): Summary {
  const n = values.length;
  const mean = n === 0 ? Number.NaN : values.reduce((sum, x) => sum + x, 0) / n;
  if (n < 2) return { n, mean, std: Number.NaN };
  const squares = values.reduce((sum, x) => sum + (x - mean) ** 2, 0);
  return { n, mean, std: Math.sqrt(squares / (n - 1)) };
}

export interface GainPair {
  seed: number;
  /** Test accuracies (fractions) of the WAS run and of its plain baseline with the same seed. */
  was: number;
  plain: number;
}

export interface GainOptions {
  /** Bootstrap resamples (default BOOTSTRAP_RESAMPLES). */
  resamples?: number;
  /** Bootstrap seed (default BOOTSTRAP_SEED). */
  seed?: number;
}

/**
 * The paired gain of WAS over plain: per seed 100 * (was - plain) percentage points; their mean,
 * std and n; the 95% Student t interval of the mean (n - 1 degrees of freedom); a 95% percentile
 * bootstrap interval; the two-sided p-value of the paired t test (H0: mean gain 0).
 * With n < 2 the intervals and p are NaN. With no spread between seeds the intervals collapse to
 * the mean, and p is 1 for a mean of 0 (nothing differs) and 0 otherwise (every seed gains the same).
 */
export function pairedGain(pairs: readonly GainPair[], options: GainOptions = {}): Gain {
  const perSeed = pairs.map(({ seed, was, plain }) => ({ seed, gain: 100 * (was - plain) }));
  const gains = perSeed.map((p) => p.gain);
  const { n, mean, std } = summarize(gains);
  const base = { n, mean, std, perSeed };
  if (n < 2) return { ...base, tInterval: [Number.NaN, Number.NaN], bootstrapInterval: [Number.NaN, Number.NaN], pValue: Number.NaN };
  if (std < NO_SPREAD) return { ...base, tInterval: [mean, mean], bootstrapInterval: [mean, mean], pValue: Math.abs(mean) < NO_SPREAD ? 1 : 0 };
  const df = n - 1;
  const standardError = std / Math.sqrt(n);
  const halfWidth = tQuantile(1 - (1 - LEVEL) / 2, df) * standardError;
  const t = mean / standardError;
  return {
    ...base,
    tInterval: [mean - halfWidth, mean + halfWidth],
    bootstrapInterval: bootstrapInterval(gains, options.resamples ?? BOOTSTRAP_RESAMPLES, options.seed ?? BOOTSTRAP_SEED),
    pValue: 2 * tCdf(-Math.abs(t), df),
  };
}

/**
 * The 95% percentile bootstrap interval of the mean: `resamples` means of n values drawn with
 * replacement (from the seeded stream of src/trainer/rng.ts), and their 2.5% and 97.5% quantiles,
 * interpolated between order statistics as numpy.quantile does by default.
 */
export function bootstrapInterval(values: readonly number[], resamples: number, seed: number): [number, number] {
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`bootstrap resamples must be a positive integer, got ${resamples}`);
  const n = values.length;
  const rng = new Rng(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[rng.int(n)];
    means[r] = sum / n;
  }
  means.sort();
  const tail = (1 - LEVEL) / 2;
  return [quantileOfSorted(means, tail), quantileOfSorted(means, 1 - tail)];
}

/** The q-quantile of sorted values, linear between order statistics (numpy's default, Hyndman-Fan type 7). */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
}
