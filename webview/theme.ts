// Colours and fonts from the VS Code theme. VS Code sets --vscode-* variables on <html> and a
// vscode-light / vscode-dark / vscode-high-contrast class on <body>, and changes them in place
// when the user switches themes; watchTheme calls back after such a change.

import type { ColorRole } from './chart-series';

export interface ChartTheme {
  colors: Record<ColorRole, string>;
  foreground: string;
  grid: string;
  background: string;
  fontFamily: string;
  fontSize: number;
}

/** Fallbacks (VS Code's Dark+/Light+ chart colours) for a page shown outside VS Code. */
const FALLBACK: Record<'dark' | 'light', Record<ColorRole, string>> = {
  dark: { blue: '#3794ff', orange: '#d18616', green: '#89d185', purple: '#b180d7', red: '#f14c4c', yellow: '#cca700', muted: '#9d9d9d' },
  light: { blue: '#1a85ff', orange: '#d18616', green: '#388a34', purple: '#652d90', red: '#e51400', yellow: '#bf8803', muted: '#717171' },
};

function cssVar(style: CSSStyleDeclaration, name: string): string {
  return style.getPropertyValue(name).trim();
}

export function readTheme(): ChartTheme {
  const style = getComputedStyle(document.documentElement);
  const kind = document.body.classList.contains('vscode-light') ? 'light' : 'dark';
  const pick = (name: string, fallback: string): string => cssVar(style, name) || fallback;
  const f = FALLBACK[kind];
  const foreground = pick('--vscode-charts-foreground', pick('--vscode-foreground', kind === 'light' ? '#616161' : '#cccccc'));
  const size = Number.parseFloat(pick('--vscode-font-size', '13'));
  return {
    colors: {
      blue: pick('--vscode-charts-blue', f.blue),
      orange: pick('--vscode-charts-orange', f.orange),
      green: pick('--vscode-charts-green', f.green),
      purple: pick('--vscode-charts-purple', f.purple),
      red: pick('--vscode-charts-red', f.red),
      yellow: pick('--vscode-charts-yellow', f.yellow),
      muted: pick('--vscode-descriptionForeground', f.muted),
    },
    foreground,
    grid: pick('--vscode-charts-lines', kind === 'light' ? 'rgba(0, 0, 0, 0.12)' : 'rgba(255, 255, 255, 0.12)'),
    background: pick('--vscode-editor-background', getComputedStyle(document.body).backgroundColor || (kind === 'light' ? '#ffffff' : '#1e1e1e')),
    fontFamily: pick('--vscode-font-family', 'system-ui, sans-serif'),
    fontSize: Number.isFinite(size) && size > 0 ? size : 13,
  };
}

/** Calls `changed` (at most once per frame) when the theme's variables or body class change. */
export function watchTheme(changed: () => void): () => void {
  let queued = false;
  const observer = new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      changed();
    });
  });
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  observer.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-kind'] });
  return () => observer.disconnect();
}

/** A colour made translucent (for raw lines under smoothed ones). Works for #rgb, #rrggbb, #rrggbbaa and rgb(). */
export function withAlpha(color: string, alpha: number): string {
  const rgb = rgbOf(color);
  return rgb ? `rgba(${rgb.join(', ')}, ${alpha})` : color;
}

/** A colour's red, green and blue (0-255) from #rgb, #rrggbb, #rrggbbaa or rgb()/rgba(); null for other forms. */
export function rgbOf(color: string): [number, number, number] | null {
  const hex = /^#([0-9a-f]{3,8})$/i.exec(color.trim());
  if (hex) {
    let h = hex[1];
    if (h.length === 3 || h.length === 4) h = [...h].map((c) => c + c).join('');
    const [r, g, b] = [0, 2, 4].map((i) => Number.parseInt(h.slice(i, i + 2), 16));
    return [r, g, b];
  }
  const rgb = /^rgba?\(([^)]+)\)$/i.exec(color.trim());
  if (rgb) {
    const [r, g, b] = rgb[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    if ([r, g, b].every(Number.isFinite)) return [r, g, b];
  }
  return null;
}

/** WCAG 2 relative luminance of an sRGB colour. */
function luminance([r, g, b]: readonly number[]): number {
  const linear = (v: number) => (v / 255 <= 0.04045 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

/** WCAG 2 contrast ratio of two luminances (1 to 21). */
function contrast(a: number, b: number): number {
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}

/**
 * The text colour for a cell filled with `fill` at `alpha` over `background`: `text` (the theme's
 * foreground) where it reads at WCAG AA's 4.5:1 or better, else black or white, whichever reads
 * better (one of them always reaches 4.58:1). Null when a colour cannot be read (keep the default).
 */
export function readableText(fill: string, alpha: number, background: string, text: string): string | null {
  const [f, b, t] = [rgbOf(fill), rgbOf(background), rgbOf(text)];
  if (!f || !b || !t) return null;
  const mixed = luminance(f.map((v, i) => alpha * v + (1 - alpha) * b[i]));
  if (contrast(mixed, luminance(t)) >= 4.5) return text;
  return contrast(mixed, 0) >= contrast(mixed, 1) ? '#000000' : '#ffffff';
}
