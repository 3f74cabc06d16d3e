/**
 * Terminal text of `svasim merge` and `svasim compare`: aligned tables in the style of the
 * run summary (summary.ts: first column left-aligned, the others right-aligned, three spaces
 * between columns, the header's first cell bold when colour is on), the merge table (one row
 * per grid point: the varied parameters, replicates merged, the metric, its spread across
 * replicates and a few key figures) and the lists of missing and failed points.
 *
 * Not here: merging (sweep-merge.ts), comparing (compare.ts), HTML.
 */

import { styleText } from 'node:util';
import { formatNs, formatRate } from '../scenario/units.js';
import { formatPercent } from './common.js';
import { pointFileName } from './sweep-folder.js';
import { type GridPoint, paramText, type SweepMerge, spreadRange } from './sweep-merge.js';
import { type Metric, type MetricUnit, parseMetric } from './sweep-metric.js';

/** Styles a table cell may carry. */
export type Style = 'bold' | 'good' | 'bad';

/** A table cell: text, optionally styled (styles are applied after padding). */
export type Cell = string | readonly [string, Style];

const STYLE: Record<Style, 'bold' | 'green' | 'red'> = { bold: 'bold', good: 'green', bad: 'red' };

/** Paints `text` in `style` when `color` (the caller decided colour for the stream). */
export function paint(color: boolean, text: string, style: Style | undefined): string {
  return color && style !== undefined
    ? styleText(STYLE[style], text, { validateStream: false })
    : text;
}

function textOf(c: Cell): string {
  return typeof c === 'string' ? c : c[0];
}

/**
 * Rows as aligned lines: the first column left-aligned, the others right-aligned; the first
 * row is a header whose first cell is bold.
 */
export function textTable(rows: readonly (readonly Cell[])[], color = false): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, textOf(c).length);
    });
  }
  return rows.map((row, ri) =>
    row
      .map((c, i) => {
        const text = textOf(c);
        const w = widths[i] ?? 0;
        const padded = i === 0 ? text.padEnd(w) : text.padStart(w);
        const style = ri === 0 && i === 0 ? 'bold' : typeof c === 'string' ? undefined : c[1];
        return paint(color, padded, style);
      })
      .join('   ')
      .trimEnd(),
  );
}

/** A count: whole numbers as they are, a mean per run with one decimal. */
function countText(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** A value of a metric in its unit: `70.3us`, `17639`, `1.2M/s`, `97.3%`. */
export function formatMetricValue(unit: MetricUnit, v: number): string {
  switch (unit) {
    case 'ns':
      return formatNs(v);
    case 'count':
      return countText(v);
    case 'perSecond':
      return formatRate(v);
    case 'fraction':
      return formatPercent(v);
  }
}

/** The spread of a grid point's replicates: `min–max`, or the one value. */
export function spreadText(unit: MetricUnit, g: GridPoint): string {
  const r = spreadRange(g);
  if (r === undefined) return '-';
  if (g.spread.length === 1) return `${formatMetricValue(unit, r.min)} (1 run)`;
  return `${formatMetricValue(unit, r.min)}–${formatMetricValue(unit, r.max)}`;
}

/** Figures every merge table shows beside the metric (the metric itself is not repeated). */
export const KEY_FIGURES = [
  'requests.perSecond',
  'jobs.perSecond',
  'prqOverflows',
  'prq.service.p99',
  'job.latency.p99',
] as const;

/** Options of `formatMergeTable`. */
export interface MergeTextOptions {
  readonly color?: boolean;
  /** The sweep folder as given on the command line (for the headline). */
  readonly dir?: string;
}

/** What the metric's value is, in words (`per run`, `of the merged histogram`). */
export function metricNote(m: Metric): string {
  switch (m.unit) {
    case 'ns':
      return 'of the merged histogram, modelled time';
    case 'count':
      return 'per run: the merged count over the replicates';
    case 'perSecond':
      return 'per simulated second of the merged windows';
    case 'fraction':
      return 'of the merged counters';
  }
}

/** The headline of a merge: the sweep, how many points merged, the metric. */
export function mergeHeadline(m: SweepMerge, dir?: string): string {
  const man = m.manifest;
  const total = man.points.length;
  const done = m.grid.reduce((n, g) => n + g.merged.length, 0);
  const gridPoints = m.grid.length;
  return (
    `svasim merge${dir === undefined ? '' : ` ${dir}`}: ${man.scenario}, ${gridPoints} grid point${gridPoints === 1 ? '' : 's'} × ${man.seeds} seed${man.seeds === 1 ? '' : 's'}; ` +
    `${done} of ${total} points merged` +
    (m.missing.length > 0 ? `, ${m.missing.length} not run` : '') +
    (m.failed.length > 0 ? `, ${m.failed.length} failed` : '') +
    (m.leftOut.length > 0 ? `, ${m.leftOut.length} left out` : '')
  );
}

/**
 * The merge as terminal text: the headline, one row per grid point (the varied parameters,
 * replicates merged, the metric, its spread, the key figures), then the points not run, the
 * failed ones and the files left out.
 */
export function formatMergeTable(m: SweepMerge, options: MergeTextOptions = {}): string {
  const color = options.color === true;
  const unit = m.metric.unit;
  const axes = m.manifest.axes.map((a) => a.path);
  const keys = KEY_FIGURES.filter((k) => k !== m.metric.name).map(parseMetric);
  const lines = [paint(color, mergeHeadline(m, options.dir), 'bold')];
  lines.push(`  metric ${m.metric.name}: ${metricNote(m.metric)}; spread: min–max over replicates`);
  lines.push('');
  const head: Cell[] = [
    axes.length > 0 ? axes[0]! : 'point',
    ...axes.slice(1),
    'runs',
    m.metric.name,
    'spread',
    ...keys.map((k) => k.name),
  ];
  const rows: Cell[][] = [head];
  for (const g of m.grid) {
    const f = g.figures;
    const runs = `${g.merged.length}/${g.merged.length + g.missing.length + g.failed.length + g.leftOut.length}`;
    rows.push([
      ...(axes.length > 0 ? axes.map((a) => paramText(g.params[a]!)) : ['all']),
      g.merged.length < m.manifest.seeds ? [runs, 'bad'] : runs,
      g.value === undefined ? '-' : formatMetricValue(unit, g.value),
      spreadText(unit, g),
      ...keys.map((k) => (f === undefined ? '-' : formatMetricValue(k.unit, k.value(f)))),
    ]);
  }
  lines.push(...textTable(rows, color));
  lines.push(...notRunLines(m, color));
  return lines.join('\n');
}

/** The missing points, the failed ones and the files left out, as lines (none when all ran). */
function notRunLines(m: SweepMerge, color: boolean): string[] {
  const lines: string[] = [];
  const params = (p: { params: Readonly<Record<string, unknown>> }): string =>
    Object.entries(p.params)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(', ');
  if (m.missing.length > 0) {
    lines.push('', paint(color, `not run yet: ${m.missing.length}`, 'bold'));
    for (const p of m.missing) {
      lines.push(
        `  points/${pointFileName(p.index)}  ${params(p)}${params(p) ? ', ' : ''}replicate ${p.replicate}, seed ${p.seed}`,
      );
    }
  }
  if (m.failed.length > 0) {
    lines.push('', paint(color, `failed: ${m.failed.length}`, 'bad'));
    for (const x of m.failed) {
      const p = x.point;
      lines.push(
        `  points/${pointFileName(p.index)}  ${params(p)}${params(p) ? ', ' : ''}replicate ${p.replicate}, seed ${p.seed}: ${x.error.code}: ${x.error.message}`,
      );
    }
  }
  if (m.problems.length > 0) {
    lines.push('', paint(color, `left out: ${m.problems.length}`, 'bad'));
    for (const x of m.problems) lines.push(`  ${x.file}: ${x.problem}`);
  }
  return lines;
}
