/**
 * The `svasim merge --html FILE` page: one self-contained HTML page for a sweep, made the
 * way the run report's page is (html.ts: inline SVG rendered in Node, inline style sheet, no
 * script, no URL) — the metric against each varied parameter (a line per combination of the
 * other parameters, the replicates' range as a bar), the merged percentile curves of every
 * grid point overlaid per latency kind, the table of grid points, and the points not run,
 * failed or left out.
 *
 * Not here: merging (sweep-merge.ts), interactivity, time series (a sweep's points each have
 * their own).
 */

import { writeFile } from 'node:fs/promises';
import { LATENCY_KINDS, type LatencyKind } from '../metrics/kinds.js';
import { formatNs } from '../scenario/units.js';
import { escapeHtml } from './common.js';
import { CSS } from './html.js';
import { percentilePoints, renderSvg } from './plots.js';
import { pointFileName } from './sweep-folder.js';
import {
  type GridPoint,
  paramsLabel,
  paramText,
  type SweepMerge,
  spreadRange,
} from './sweep-merge.js';
import { type MetricUnit, parseMetric } from './sweep-metric.js';
import { type MetricPoint, metricVsParamSpec, overlaidPercentileSpec } from './sweep-plots.js';
import {
  formatMetricValue,
  KEY_FIGURES,
  mergeHeadline,
  metricNote,
  spreadText,
} from './sweep-text.js';

/** A metric's value in the unit its plot's y axis uses (µs, %, or as it is). */
function plotValue(unit: MetricUnit, v: number): number {
  if (unit === 'ns') return v / 1000;
  if (unit === 'fraction') return 100 * v;
  return v;
}

function yTitle(name: string, unit: MetricUnit): string {
  switch (unit) {
    case 'ns':
      return `${name} (µs, modelled)`;
    case 'count':
      return `${name} (per run)`;
    case 'perSecond':
      return `${name} (per simulated s)`;
    case 'fraction':
      return `${name} (%)`;
  }
}

/** Label of a grid point in legends: its parameters, or `all` for a sweep of seeds only. */
function pointLabel(m: SweepMerge, g: GridPoint): string {
  const paths = m.manifest.axes.map((a) => a.path);
  return paths.length === 0 ? 'all' : paramsLabel(g.params, paths);
}

/** The merged percentile curves of one latency kind, one per grid point that recorded any. */
async function percentileFigure(m: SweepMerge, kind: LatencyKind): Promise<string> {
  const curves = m.grid.flatMap((g) =>
    g.figures !== undefined && g.figures.latency[kind].count > 0
      ? [{ label: pointLabel(m, g), points: percentilePoints(g.figures.histograms[kind]) }]
      : [],
  );
  const svg = await renderSvg(overlaidPercentileSpec(`${kind}, replicates merged`, curves));
  return [
    `<figure class="plot" data-plot="percentiles" data-kind="${escapeHtml(kind)}" data-lines="${curves.length}">`,
    svg,
    `<figcaption>${escapeHtml(
      `How to read this plot: one curve per grid point, from the histogram of all its ` +
        'replicates added together; the point at percentile p is the latency p of the values ' +
        'did not exceed, the x axis gives 90%, 99% and 99.9% equal room, the last point of a ' +
        'curve is its maximum. Modelled time.',
    )}</figcaption>`,
    '</figure>',
  ].join('\n');
}

/** The metric against the parameter of axis `ai`, one line per combination of the others. */
async function metricFigure(m: SweepMerge, ai: number): Promise<string> {
  const axis = m.manifest.axes[ai]!;
  const others = m.manifest.axes.filter((_, i) => i !== ai).map((a) => a.path);
  const unit = m.metric.unit;
  const lines: string[] = [];
  const points: MetricPoint[] = [];
  for (const g of m.grid) {
    const range = spreadRange(g);
    if (g.value === undefined || range === undefined) continue;
    const line = others.length === 0 ? m.metric.name : paramsLabel(g.params, others);
    if (!lines.includes(line)) lines.push(line);
    points.push({
      x: g.params[axis.path]!,
      line,
      value: plotValue(unit, g.value),
      min: plotValue(unit, range.min),
      max: plotValue(unit, range.max),
    });
  }
  const e = escapeHtml;
  if (points.length === 0) {
    return `<p class="note" data-plot="none">No grid point has finished: nothing to plot against ${e(axis.path)}.</p>`;
  }
  const svg = await renderSvg(
    metricVsParamSpec(
      `${m.metric.name} against ${axis.path}`,
      yTitle(m.metric.name, unit),
      axis,
      lines,
      points,
    ),
  );
  return [
    `<figure class="plot" data-plot="metric" data-axis="${e(axis.path)}" data-lines="${lines.length}" data-points="${points.length}">`,
    svg,
    `<figcaption>${e(
      `How to read this plot: ${m.metric.name} (${metricNote(m.metric)}) at each value of ` +
        `${axis.path}` +
        (others.length > 0 ? `, one line per combination of ${others.join(', ')}` : '') +
        '; the bar through a point spans the smallest to the largest value of its replicates ' +
        'alone.',
    )}</figcaption>`,
    '</figure>',
  ].join('\n');
}

function gridTable(m: SweepMerge): string {
  const e = escapeHtml;
  const axes = m.manifest.axes.map((a) => a.path);
  const unit = m.metric.unit;
  const keys = KEY_FIGURES.filter((k) => k !== m.metric.name).map(parseMetric);
  const head = [
    ...(axes.length > 0 ? axes : ['point']),
    'runs',
    m.metric.name,
    'spread (min–max)',
    'per replicate',
    ...keys.map((k) => k.name),
  ];
  const rows = m.grid.map((g) => {
    const f = g.figures;
    const cells = [
      ...(axes.length > 0
        ? axes.map((a) => `<th>${e(paramText(g.params[a]!))}</th>`)
        : ['<th>all</th>']),
      `<td class="n">${g.merged.length}/${g.merged.length + g.missing.length + g.failed.length + g.leftOut.length}</td>`,
      `<td class="n">${g.value === undefined ? '-' : e(formatMetricValue(unit, g.value))}</td>`,
      `<td class="n">${e(spreadText(unit, g))}</td>`,
      `<td class="n">${e(g.spread.map((s) => formatMetricValue(unit, s.value)).join(', ') || '-')}</td>`,
      ...keys.map(
        (k) =>
          `<td class="n">${f === undefined ? '-' : e(formatMetricValue(k.unit, k.value(f)))}</td>`,
      ),
    ];
    return `<tr>${cells.join('')}</tr>`;
  });
  return [
    '<div class="wide"><table data-table="grid">',
    `<tr>${head.map((h) => `<th>${e(h)}</th>`).join('')}</tr>`,
    ...rows,
    '</table></div>',
  ].join('\n');
}

function notRunSection(m: SweepMerge): string[] {
  const e = escapeHtml;
  const params = (p: { params: Readonly<Record<string, unknown>> }): string =>
    Object.entries(p.params)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(', ');
  const parts: string[] = [];
  if (m.missing.length > 0) {
    parts.push(
      `<h2>Not run yet (${m.missing.length})</h2>`,
      '<ul data-list="missing">',
      ...m.missing.map(
        (p) =>
          `<li>points/${pointFileName(p.index)}: ${e(params(p))}${params(p) ? ', ' : ''}replicate ${p.replicate}, seed ${p.seed}</li>`,
      ),
      '</ul>',
    );
  }
  if (m.failed.length > 0) {
    parts.push(
      `<h2>Failed (${m.failed.length})</h2>`,
      '<ul data-list="failed">',
      ...m.failed.map(
        (x) =>
          `<li><span class="bad">points/${pointFileName(x.point.index)}</span>: ${e(params(x.point))}${params(x.point) ? ', ' : ''}replicate ${x.point.replicate}, seed ${x.point.seed}: ${e(`${x.error.code}: ${x.error.message}`)}</li>`,
      ),
      '</ul>',
    );
  }
  if (m.problems.length > 0) {
    parts.push(
      `<h2>Files left out (${m.problems.length})</h2>`,
      '<ul data-list="problems">',
      ...m.problems.map((x) => `<li>${e(x.file)}: ${e(x.problem)}</li>`),
      '</ul>',
    );
  }
  return parts;
}

/** The merge as one self-contained HTML page; `dir` is the folder as given (for the headline). */
export async function renderSweepHtml(m: SweepMerge, dir?: string): Promise<string> {
  const e = escapeHtml;
  const man = m.manifest;
  const parts: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>svasim sweep: ${e(man.scenario)}</title>`,
    `<style>${CSS}td.n { white-space: nowrap; }\n</style>`,
    '</head>',
    '<body>',
    `<h1>svasim sweep: ${e(man.scenario)}</h1>`,
    `<p class="run">${e(
      `${mergeHeadline(m, dir)}. Varied: ${
        man.axes.length === 0
          ? 'nothing (seeds only)'
          : man.axes.map((a) => `${a.path} = ${a.values.map(paramText).join(', ')}`).join('; ')
      }. Base seed ${man.baseSeed}` +
        (Object.keys(man.overrides).length > 0
          ? `; for every point ${Object.entries(man.overrides)
              .map(([k, v]) => `${k} = ${typeof v === 'string' ? v : JSON.stringify(v)}`)
              .join(', ')}`
          : '') +
        `. Replicates are merged exactly: counters summed, HdrHistograms added.`,
    )}</p>`,
    `<h2>${e(m.metric.name)} against each varied parameter</h2>`,
  ];
  if (man.axes.length === 0) {
    parts.push('<p class="note" data-plot="none">No parameter was varied.</p>');
  }
  for (let ai = 0; ai < man.axes.length; ai++) parts.push(await metricFigure(m, ai));

  parts.push('<h2>Percentile curves</h2>');
  const withData = LATENCY_KINDS.filter((k) =>
    m.grid.some((g) => g.figures !== undefined && g.figures.latency[k].count > 0),
  );
  // the metric's kind first
  const kinds =
    m.metric.kind !== undefined && withData.includes(m.metric.kind)
      ? [m.metric.kind, ...withData.filter((k) => k !== m.metric.kind)]
      : withData;
  if (kinds.length === 0) parts.push('<p class="note">No latency value was recorded.</p>');
  for (const kind of kinds) parts.push(await percentileFigure(m, kind));

  parts.push(
    '<h2>Grid points</h2>',
    `<p class="note">${e(
      `${m.metric.name}: ${metricNote(m.metric)}; the spread is the smallest and largest value of the ` +
        `replicates alone. Rates per simulated second of the merged windows; latencies modelled ` +
        `(e.g. ${formatNs(1500)} = 1.5 µs).`,
    )}</p>`,
    gridTable(m),
    ...notRunSection(m),
    '</body>',
    '</html>',
    '',
  );
  return parts.join('\n');
}

/** Writes `renderSweepHtml(m, dir)` to `file`. */
export async function writeSweepHtml(file: string, m: SweepMerge, dir?: string): Promise<void> {
  await writeFile(file, await renderSweepHtml(m, dir));
}
