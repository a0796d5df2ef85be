// A k x k kernel plane drawn as a heatmap on a canvas: negative taps in the theme's blue, positive
// in its orange, the strength of the colour |value| / scale, zero the background. Planes shown side
// by side share one scale (the largest |value| among them), so their colours compare.

import type { KernelTransformDetail } from '../src/shared/protocol';
import { withAlpha, type ChartTheme } from './theme';

/** Pixels per kernel tap. */
export const TAP_PIXELS = 26;

/** The largest |value| of the planes (1 when all are zero, so nothing divides by zero). */
export function sharedScale(planes: readonly (readonly number[])[]): number {
  let max = 0;
  for (const plane of planes) for (const x of plane) max = Math.max(max, Math.abs(x));
  return max > 0 ? max : 1;
}

/** The fill of one tap: the sign's colour at |value| / scale opacity. */
export function tapColor(value: number, scale: number, theme: ChartTheme): string {
  const strength = Math.min(1, Math.abs(value) / scale);
  return withAlpha(value < 0 ? theme.colors.blue : theme.colors.orange, Number(strength.toFixed(3)));
}

export function drawHeatmap(canvas: HTMLCanvasElement, plane: readonly number[], k: number, scale: number, theme: ChartTheme): void {
  canvas.width = k * TAP_PIXELS;
  canvas.height = k * TAP_PIXELS;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.fillStyle = theme.background;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      ctx.fillStyle = tapColor(plane[i * k + j], scale, theme);
      ctx.fillRect(j * TAP_PIXELS, i * TAP_PIXELS, TAP_PIXELS, TAP_PIXELS);
    }
  ctx.strokeStyle = theme.grid;
  ctx.lineWidth = 1;
  for (let i = 0; i <= k; i++) {
    const at = Math.min(i * TAP_PIXELS + 0.5, canvas.width - 0.5);
    ctx.beginPath();
    ctx.moveTo(at, 0);
    ctx.lineTo(at, canvas.height);
    ctx.moveTo(0, at);
    ctx.lineTo(canvas.width, at);
    ctx.stroke();
  }
}

/** "shift down 1, left 1" / "crop 2x3 at row 0, col 1" / "identity". */
export function describeTransform(t: KernelTransformDetail, k: number): string {
  if (t.kind === 'shift') {
    if (t.dy === 0 && t.dx === 0) return 'shift (0, 0): identity';
    return `shift (${t.dy}, ${t.dx})`;
  }
  if (t.height === k && t.width === k) return 'crop: whole plane';
  return `crop ${t.height}x${t.width} at (${t.top}, ${t.left})`;
}

/** The plane's values as text, row by row, for screen readers and tooltips. */
export function planeText(plane: readonly number[], k: number): string {
  const rows: string[] = [];
  for (let i = 0; i < k; i++) rows.push(plane.slice(i * k, (i + 1) * k).map((x) => String(x)).join(' '));
  return rows.join('; ');
}
