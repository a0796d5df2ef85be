// Number formats shared by the terminal, log.txt and the extension's tree and status bar.

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

/** A difference of accuracies, in percentage points. */
export function points(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(2)} points`;
}
