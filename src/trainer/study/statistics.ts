// replaced by study-stats: a minimal, honest stand-in with the agreed signatures so that the
// study command works end to end before the statistics land. Means, sample standard deviations
// and n are computed; the intervals and the p-value are NaN (not computed here).

import type { Gain, Summary } from '../../shared/study';

/** n, mean and sample standard deviation (NaN with n < 2) of `values`. */
export function summarize(values: number[]): Summary {
  const n = values.length;
  const mean = n === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / n;
  const std = n < 2 ? Number.NaN : Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  return { n, mean, std };
}

/** WAS minus plain per seed, in percentage points; intervals and p-value NaN (replaced by study-stats). */
export function pairedGain(pairs: { seed: number; was: number; plain: number }[], _options: { resamples?: number; seed?: number } = {}): Gain {
  const perSeed = pairs.map((p) => ({ seed: p.seed, gain: 100 * (p.was - p.plain) }));
  const { n, mean, std } = summarize(perSeed.map((p) => p.gain));
  return { n, mean, std, tInterval: [Number.NaN, Number.NaN], bootstrapInterval: [Number.NaN, Number.NaN], pValue: Number.NaN, perSeed };
}
