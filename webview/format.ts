// Number and file-name formatting for the panel (percentages and durations: src/shared/format.ts). Pure.

import { accuracyInterval } from '../src/shared/accuracy';
import { percent } from '../src/shared/format';

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

/** "88.6–93.3%, n = 128": the 95% Wilson interval of an accuracy measured on n images; '' when unknown. */
export function intervalText(accuracy: number | null | undefined, n: number | null): string {
  if (accuracy === null || accuracy === undefined || n === null) return '';
  const ci = accuracyInterval(accuracy, n);
  if (!ci) return '';
  const pct = (x: number) => (100 * x).toFixed(1);
  return `${pct(ci.low)}–${pct(ci.high)}%, n = ${n}`;
}

/** "91.20% [88.6–93.3%, n = 128]": an accuracy on a split with its 95% interval and n. */
export function accuracyWithInterval(accuracy: number | null | undefined, n: number | null): string {
  const value = percent(accuracy ?? Number.NaN, '—');
  const ci = intervalText(accuracy, n);
  return ci === '' ? value : `${value} [${ci}]`;
}
