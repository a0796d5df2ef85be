// Number and file-name formatting for the panel (percentages and durations: src/shared/format.ts). Pure.

/** A metric value for tooltips and tables: 4 significant digits, scientific when tiny or huge. */
export function metric(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  if (!Number.isFinite(value)) return String(value);
  const a = Math.abs(value);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}

export function rate(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1);
}

/** A file name the host accepts (see panel-protocol's save-file): letters, digits, _ . ( ) + - and spaces. */
export function fileName(base: string, extension: 'csv' | 'png'): string {
  let name = base.replace(/[^A-Za-z0-9_.() +-]+/g, '-').replace(/^[^A-Za-z0-9_]+/, '').slice(0, 200);
  if (name === '') name = 'was-lab';
  return `${name}.${extension}`;
}
