// One metric of one run over time, and what is done to it before it is drawn: EMA smoothing
// (kept incrementally as points arrive) and min/max downsampling to about one bucket per pixel,
// so a series of 100k+ points costs chart.js only a few thousand. Pure: no DOM, no chart.js.

export interface Point {
  x: number;
  y: number;
}

/** Raw points in x order (x: fractional epochs), with the global step of each when it has one. */
export class Series {
  readonly points: Point[] = [];
  /** Global training step of each point; null for per-epoch values. */
  readonly steps: (number | null)[] = [];
  private smoothFactor = 0;
  private smoothed: Point[] = [];
  private emaValue = 0;
  private emaWeight = 0;

  get length(): number {
    return this.points.length;
  }

  push(x: number, y: number, step: number | null = null): void {
    this.points.push({ x, y });
    this.steps.push(step);
  }

  /** Forget the smoothed copy (the next call recomputes it from the start). */
  resetSmoothing(): void {
    this.smoothed = [];
    this.emaValue = 0;
    this.emaWeight = 0;
  }

  last(): Point | null {
    return this.points.length === 0 ? null : this.points[this.points.length - 1];
  }

  /**
   * The series smoothed with a debiased exponential moving average (TensorBoard's): factor 0 is
   * the raw series. Extends the cached result by the points added since the last call.
   * Non-finite values (a diverged loss) stay in place as gaps and do not enter the average.
   */
  smoothedPoints(factor: number): Point[] {
    if (factor <= 0) return this.points;
    if (factor !== this.smoothFactor || this.smoothed.length > this.points.length) {
      this.smoothFactor = factor;
      this.smoothed = [];
      this.emaValue = 0;
      this.emaWeight = 0;
    }
    for (let i = this.smoothed.length; i < this.points.length; i++) {
      const { x, y } = this.points[i];
      if (!Number.isFinite(y)) {
        this.smoothed.push({ x, y: Number.NaN });
        continue;
      }
      this.emaValue = this.emaValue * factor + (1 - factor) * y;
      this.emaWeight = this.emaWeight * factor + (1 - factor);
      this.smoothed.push({ x, y: this.emaValue / this.emaWeight });
    }
    return this.smoothed;
  }
}

/**
 * Min/max downsampling into `buckets` equal x intervals of [xMin, xMax]: each bucket keeps its
 * first, lowest, highest and last point (in x order), so peaks and the line's ends survive; a
 * non-finite value keeps a gap. Returns a new array (chart.js patches the arrays it is given;
 * the raw ones stay untouched). Short series are copied as they are.
 */
export function downsampleMinMax(points: readonly Point[], buckets: number, xMin: number, xMax: number): Point[] {
  const n = points.length;
  if (n <= buckets * 4 || !(xMax > xMin) || buckets < 1) return points.slice();
  const out: Point[] = [];
  const scale = buckets / (xMax - xMin);
  let bucket = -1;
  let first = -1;
  let last = -1;
  let min = -1;
  let max = -1;
  let gap = -1;
  const flush = (): void => {
    if (first < 0) return;
    const keep = [first, min, max, last, gap].filter((i) => i >= 0).sort((a, b) => a - b);
    let previous = -1;
    for (const i of keep) {
      if (i === previous) continue;
      out.push(i === gap ? { x: points[i].x, y: Number.NaN } : points[i]);
      previous = i;
    }
  };
  for (let i = 0; i < n; i++) {
    const { x, y } = points[i];
    const b = Math.min(buckets - 1, Math.max(0, Math.floor((x - xMin) * scale)));
    if (b !== bucket) {
      flush();
      bucket = b;
      first = last = i;
      min = max = gap = -1;
    }
    last = i;
    if (!Number.isFinite(y)) {
      if (gap < 0) gap = i;
      continue;
    }
    if (min < 0 || y < points[min].y) min = i;
    if (max < 0 || y > points[max].y) max = i;
  }
  flush();
  return out;
}
