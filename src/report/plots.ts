/**
 * The charts of the HTML report (DESIGN §5 `--html`): the data each chart plots, its
 * Vega-Lite specification, and its rendering to an SVG string in Node (vega-lite compiles to
 * Vega, Vega renders headless with `renderer: 'none'`), so the page needs no script and no
 * network to show them.
 *
 * - Percentile plot per latency kind, the HdrHistogram way: x is 1/(1 − p) on a log axis
 *   (labels 50 %, 90 %, 99 %, …), y the latency in µs of modelled time. Points at HdrHistogram's
 *   percentile ticks (5 per halving of the remaining fraction, as in `.hgrm` files) while
 *   1/(1 − p) stays below the count, then the maximum at 1/(1 − p) = count.
 * - Time series from `report.series`: PRQ occupancy (end of interval and interval maximum),
 *   and throughput (requests and jobs per simulated second) per interval.
 *
 * Not here: the page around the charts (html.ts), interactivity (the SVG is static).
 */

import * as vega from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import * as vl from 'vega-lite';
import { decodeLatency } from '../metrics/recorder.js';
import { formatNs } from '../scenario/units.js';
import type { ReportSeries } from './types.js';

/** One point of a percentile plot. */
export interface PercentilePoint {
  /** Percentile, 0..100. */
  percentile: number;
  /** 1/(1 − percentile/100): the position on the plot's log x axis. */
  x: number;
  /** Latency at that percentile, modelled ns. */
  valueNs: number;
}

/** Percentile ticks per halving of the remaining fraction (HdrHistogram's default). */
const TICKS_PER_HALF_DISTANCE = 5;

/**
 * The points of a percentile plot of one HdrHistogram encoding (compressed base64, ns);
 * empty when the histogram is.
 */
export function percentilePoints(encoded: string): PercentilePoint[] {
  const h = decodeLatency(encoded);
  try {
    return percentileTicks(h);
  } finally {
    h.destroy();
  }
}

function percentileTicks(h: ReturnType<typeof decodeLatency>): PercentilePoint[] {
  const n = h.totalCount;
  if (n === 0) return [];
  const points: PercentilePoint[] = [];
  // Tick j of level L: p = 1 − 2^−L · (1 − j / (2·T)), j = 0..T−1 (what `.hgrm` files list).
  for (let level = 0; level < 64; level++) {
    let done = false;
    for (let j = 0; j < TICKS_PER_HALF_DISTANCE; j++) {
      const rest = 2 ** -level * (1 - j / (2 * TICKS_PER_HALF_DISTANCE));
      const x = 1 / rest;
      if (x >= n) {
        done = true;
        break;
      }
      const percentile = 100 * (1 - rest);
      points.push({ percentile, x, valueNs: h.getValueAtPercentile(percentile) });
    }
    if (done) break;
  }
  points.push({ percentile: 100 * (1 - 1 / n), x: n, valueNs: h.maxValue });
  return points;
}

/** Percentile axis labels: position 1/(1 − p) → label. */
export const PERCENTILE_TICKS: readonly (readonly [number, string])[] = [
  [1, '0%'],
  [2, '50%'],
  [10, '90%'],
  [100, '99%'],
  [1e3, '99.9%'],
  [1e4, '99.99%'],
  [1e5, '99.999%'],
  [1e6, '99.9999%'],
  [1e7, '99.99999%'],
  [1e8, '99.999999%'],
  [1e9, '99.9999999%'],
];

/** Look shared by every chart of the reports (background, font, label sizes). */
export const CONFIG = {
  background: 'white',
  font: 'sans-serif',
  axis: { labelFontSize: 10, titleFontSize: 11 },
  legend: { labelFontSize: 10 },
} as const;

/** The Vega-Lite specification of the percentile plot of `points` (from `percentilePoints`). */
export function percentileSpec(title: string, points: readonly PercentilePoint[]): TopLevelSpec {
  const last = points.at(-1)?.x ?? 1;
  const xMax = 10 ** Math.max(1, Math.ceil(Math.log10(last)));
  const ticks = PERCENTILE_TICKS.filter(([x]) => x <= xMax);
  const labelExpr = ticks
    .map(([x, label]) => `datum.value == ${x} ? '${label}' : `)
    .join('')
    .concat("''");
  return {
    title,
    width: 560,
    height: 220,
    config: CONFIG,
    data: {
      values: points.map((p) => ({
        x: p.x,
        us: p.valueNs / 1000,
        label: `${formatPercentile(p.percentile)}: ${formatNs(p.valueNs)}`,
      })),
    },
    mark: { type: 'line', interpolate: 'linear', point: { size: 16 } },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        title: 'percentile',
        scale: { type: 'log', domain: [1, xMax] },
        axis: { values: ticks.map(([x]) => x), labelExpr },
      },
      y: { field: 'us', type: 'quantitative', title: 'latency (µs, modelled)' },
      description: { field: 'label', type: 'nominal' },
    },
  };
}

/** A percentile for a label: up to 4 decimals, trailing zeros dropped (`'99.9%'`). */
function formatPercentile(p: number): string {
  return `${Number(p.toFixed(4))}%`;
}

/** Unit of a time axis: µs for runs shorter than 10 ms of simulated time, ms beyond. */
function timeAxis(series: ReportSeries): { div: number; unit: string } {
  const endNs = (series.tNs.at(-1) ?? 0) + series.intervalNs;
  return endNs < 10e6 ? { div: 1e3, unit: 'µs' } : { div: 1e6, unit: 'ms' };
}

/** Names of the lines of the PRQ occupancy plot, in drawing order. */
export const PRQ_LINES = ['at end of interval', 'interval maximum'] as const;

/** Names of the lines of the throughput plot, in drawing order. */
export const THROUGHPUT_LINES = ['requests', 'jobs'] as const;

function seriesSpec(
  title: string,
  yTitle: string,
  series: ReportSeries,
  lines: readonly string[],
  values: readonly (readonly number[])[],
  yFormat: string,
): TopLevelSpec {
  const { div, unit } = timeAxis(series);
  const rows: { t: number; v: number; line: string }[] = [];
  lines.forEach((line, li) => {
    const ys = values[li] ?? [];
    series.tNs.forEach((t, i) => {
      rows.push({ t: (t + series.intervalNs) / div, v: ys[i] ?? 0, line });
    });
  });
  return {
    title,
    width: 560,
    height: 200,
    config: CONFIG,
    data: { values: rows },
    mark: { type: 'line', interpolate: 'linear' },
    encoding: {
      x: {
        field: 't',
        type: 'quantitative',
        title: `simulated time (${unit}), end of interval`,
      },
      y: { field: 'v', type: 'quantitative', title: yTitle, axis: { format: yFormat } },
      color: {
        field: 'line',
        type: 'nominal',
        scale: { domain: [...lines] },
        legend: { orient: 'top', title: null },
      },
    },
  };
}

/** The Vega-Lite specification of the PRQ occupancy plot of a series. */
export function prqOccupancySpec(series: ReportSeries): TopLevelSpec {
  return seriesSpec(
    'PRQ occupancy',
    'page requests waiting',
    series,
    PRQ_LINES,
    [series.prqOccupancy, series.prqOccupancyMax],
    '~d',
  );
}

/** The Vega-Lite specification of the throughput plot of a series (per simulated second). */
export function throughputSpec(series: ReportSeries): TopLevelSpec {
  const perSec = (xs: readonly number[]) => xs.map((x) => (x * 1e9) / series.intervalNs);
  return seriesSpec(
    'Throughput',
    'per simulated second',
    series,
    THROUGHPUT_LINES,
    [perSec(series.requests), perSec(series.jobs)],
    '~s',
  );
}

/**
 * Renders a Vega-Lite specification to an SVG string fit to inline in HTML (namespace
 * declarations dropped: the HTML parser puts `<svg>` in the SVG namespace itself).
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return svg.replace(/\s+xmlns(?::\w+)?="[^"]*"/g, '');
  } finally {
    view.finalize();
  }
}
