// What the page exposes for its tests: a read-only view of what the charts hold, and counts and
// timings of messages and renders. It is installed on every page (it only reads); tests reach
// it as globalThis[PANEL_TEST_HOOK]. This file is DOM-free so Node-side tests can import it.

export const PANEL_TEST_HOOK = 'wasLabPanelTestHook';

export interface TestSeriesInfo {
  key: string;
  label: string;
  runId: string;
  part: string;
  /** Points in the series, and points handed to chart.js after smoothing and downsampling. */
  rawCount: number;
  drawnCount: number;
  hidden: boolean;
  faint: boolean;
  /** The resolved CSS colour and dash pattern of the line. */
  color: string;
  dash: number[];
  last: { x: number; y: number } | null;
  /** The drawn y values, when there are at most 500 of them. */
  drawnY: number[] | null;
}

export interface TestChartInfo {
  id: string;
  title: string;
  yScale: 'linear' | 'logarithmic';
  /** The axis titles as drawn ('' when none). */
  xTitle: string;
  yTitle: string;
  /** The y axis's drawn range. */
  yRange: [number, number] | null;
  /** Zoomed or panned by the user (chartjs-plugin-zoom), and the note above the chart. */
  zoomed: boolean;
  axisNote: string;
  /** Theme colours the chart uses for grid lines and tick labels. */
  gridColor: string;
  tickColor: string;
  series: TestSeriesInfo[];
}

/** The DOM search chart: its series (x: % of AOM FLOPs, y: accuracy), axis titles and note. */
export interface TestDomChartInfo {
  series: { label: string; kind: string; points: { x: number; y: number }[] }[];
  xTitle: string;
  yTitle: string;
  axisNote: string;
}

export interface PanelTestHook {
  charts(): TestChartInfo[];
  domChart(): TestDomChartInfo;
  /** How many renders have run, and how long the last one took (ms). */
  renders(): number;
  /** Host messages applied (valid ones), and how many of them the last render showed. */
  messages(): number;
  renderedMessages(): number;
  lastRenderMs(): number;
  /** Drop every cached smoothing/downsampling result, render everything now; returns the ms it took. */
  fullRender(): number;
}

/** The counts the hook reports; app.ts bumps them as it applies messages and renders. */
export class PanelCounters {
  private renderCount = 0;
  private appliedMessages = 0;
  private renderedMessages = 0;
  private lastRenderMs = 0;

  messageApplied(): void {
    this.appliedMessages++;
  }

  /** A render that began at `startMs` (performance.now()) has ended, showing every message so far. */
  rendered(startMs: number): void {
    this.renderCount++;
    this.renderedMessages = this.appliedMessages;
    this.lastRenderMs = performance.now() - startMs;
  }

  /** The hook over these counts, the shown charts, and a full render. */
  hook(charts: () => TestChartInfo[], domChart: () => TestDomChartInfo, fullRender: () => void): PanelTestHook {
    return {
      charts,
      domChart,
      renders: () => this.renderCount,
      messages: () => this.appliedMessages,
      renderedMessages: () => this.renderedMessages,
      lastRenderMs: () => this.lastRenderMs,
      fullRender: () => {
        const t0 = performance.now();
        fullRender();
        return performance.now() - t0;
      },
    };
  }
}

export function installTestHook(hook: PanelTestHook): void {
  (globalThis as Record<string, unknown>)[PANEL_TEST_HOOK] = hook;
}
