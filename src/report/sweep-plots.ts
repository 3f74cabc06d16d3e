/**
 * Charts of `svasim merge --html` and `svasim compare --html`, as Vega-Lite specifications
 * rendered to inline SVG by plots.ts's `renderSvg` (no script, no network):
 *
 * - a metric against one varied parameter: a line per combination of the other parameters,
 *   a point at each merged value and a vertical bar from the smallest to the largest
 *   replicate's value; the x axis is logarithmic when the parameter's values span 10× or
 *   more, categorical when they are not all numbers;
 * - overlaid percentile curves, one line per merged point or per report, on the run report's
 *   percentile axis (x = 1/(1 − p), log, labels 50 %, 90 %, 99 %, …; plots.ts).
 *
 * Not here: the pages (sweep-html.ts, compare.ts), merging.
 */

import type { TopLevelSpec } from 'vega-lite';
import { CONFIG, PERCENTILE_TICKS, type PercentilePoint } from './plots.js';
import type { ParamValue, SweepAxis } from './sweep-folder.js';

/** One curve of an overlaid percentile plot. */
export interface PercentileCurve {
  readonly label: string;
  readonly points: readonly PercentilePoint[];
}

/** The percentile axis of `percentileSpec` for a plot whose last point is at `last`. */
function percentileX(last: number) {
  const xMax = 10 ** Math.max(1, Math.ceil(Math.log10(Math.max(last, 1))));
  const ticks = PERCENTILE_TICKS.filter(([x]) => x <= xMax);
  const labelExpr = ticks
    .map(([x, label]) => `datum.value == ${x} ? '${label}' : `)
    .join('')
    .concat("''");
  return {
    field: 'x',
    type: 'quantitative' as const,
    title: 'percentile',
    scale: { type: 'log' as const, domain: [1, xMax] },
    axis: { values: ticks.map(([x]) => x), labelExpr },
  };
}

/**
 * Percentile curves overlaid (latency in µs of modelled time against the percentile), one
 * colour per curve in the order given; curves without points are left out.
 */
export function overlaidPercentileSpec(
  title: string,
  curves: readonly PercentileCurve[],
): TopLevelSpec {
  const drawn = curves.filter((c) => c.points.length > 0);
  const last = Math.max(1, ...drawn.map((c) => c.points.at(-1)?.x ?? 1));
  return {
    title,
    width: 560,
    height: 260,
    config: CONFIG,
    data: {
      values: drawn.flatMap((c) =>
        c.points.map((p) => ({ x: p.x, us: p.valueNs / 1000, line: c.label })),
      ),
    },
    mark: { type: 'line', interpolate: 'linear', point: { size: 12 } },
    encoding: {
      x: percentileX(last),
      y: { field: 'us', type: 'quantitative', title: 'latency (µs, modelled)' },
      color: {
        field: 'line',
        type: 'nominal',
        scale: { domain: drawn.map((c) => c.label) },
        legend: { orient: 'right', title: null, labelLimit: 320 },
      },
    },
  };
}

/** One value of a metric-against-parameter plot. */
export interface MetricPoint {
  /** The parameter's value. */
  readonly x: ParamValue;
  /** The line it belongs to (the other parameters). */
  readonly line: string;
  /** The merged value, and the smallest and largest replicate's, in the plot's unit. */
  readonly value: number;
  readonly min: number;
  readonly max: number;
}

/** Whether a parameter's values are all numbers above 0 spanning 10× or more (log x axis). */
export function wantsLogAxis(values: readonly ParamValue[]): boolean {
  if (!values.every((v) => typeof v === 'number' && v > 0)) return false;
  const xs = values as readonly number[];
  return Math.max(...xs) / Math.min(...xs) >= 10;
}

/**
 * A metric against the parameter of `axis`: a line per entry of `lines` (in that order, the
 * legend hidden when there is one), a point per merged value and a bar over the replicates'
 * range. Numeric parameters on a linear or (spanning ≥ 10×) log axis with a tick at each
 * value; others as categories in the axis's order.
 */
export function metricVsParamSpec(
  title: string,
  yTitle: string,
  axis: SweepAxis,
  lines: readonly string[],
  points: readonly MetricPoint[],
): TopLevelSpec {
  const numeric = axis.values.every((v) => typeof v === 'number');
  const x = numeric
    ? {
        field: 'x',
        type: 'quantitative' as const,
        title: axis.path,
        // a log scale has no zero to leave out
        scale: wantsLogAxis(axis.values)
          ? { type: 'log' as const, nice: false, padding: 16 }
          : { type: 'linear' as const, zero: false, nice: false, padding: 16 },
        axis: { values: axis.values as number[], format: '~g' },
      }
    : {
        field: 'x',
        type: 'ordinal' as const,
        title: axis.path,
        sort: axis.values.map(String),
        axis: { labelAngle: 0 },
      };
  return {
    title,
    width: 560,
    height: 240,
    config: CONFIG,
    data: {
      values: points.map((p) => ({
        x: numeric ? p.x : String(p.x),
        v: p.value,
        lo: p.min,
        hi: p.max,
        line: p.line,
      })),
    },
    encoding: {
      x,
      color: {
        field: 'line',
        type: 'nominal',
        scale: { domain: [...lines] },
        legend: lines.length > 1 ? { orient: 'top', title: null, labelLimit: 400 } : null,
      },
    },
    layer: [
      {
        mark: { type: 'rule', strokeWidth: 2 },
        encoding: {
          y: { field: 'lo', type: 'quantitative' },
          y2: { field: 'hi' },
        },
      },
      {
        mark: { type: 'line', interpolate: 'linear', point: { size: 36 } },
        encoding: { y: { field: 'v', type: 'quantitative', title: yTitle } },
      },
    ],
  };
}
