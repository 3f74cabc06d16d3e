/**
 * The `svasim compare --html FILE` page: two or more run reports side by side in one
 * self-contained page made as the run report's is (html.ts: inline SVG rendered in Node,
 * inline style sheet, no script, no URL) — which report is which, the totals and the latency
 * summaries with their relative differences against the first, and per latency kind the
 * reports' percentile curves overlaid.
 *
 * Not here: reading the reports and the figures compared (compare.ts).
 */

import { writeFile } from 'node:fs/promises';
import { escapeHtml } from './common.js';
import {
  type ComparedReport,
  type CompareRow,
  comparedKinds,
  latencyRows,
  relativeDifference,
  totalsRows,
} from './compare.js';
import { CSS } from './html.js';
import { percentilePoints, renderSvg } from './plots.js';
import { overlaidPercentileSpec } from './sweep-plots.js';

function table(name: string, list: readonly ComparedReport[], rows: readonly CompareRow[]): string {
  const e = escapeHtml;
  return [
    `<table data-table="${e(name)}">`,
    `<tr><th>${e(name)}</th>${list.map((c) => `<th>${e(c.label)}</th>`).join('')}</tr>`,
    ...rows.map((row) => {
      const base = row.values[0]!;
      const cells = row.values.map((v, i) => {
        const d = i === 0 ? '' : ` (${relativeDifference(base, v)})`;
        return `<td class="n">${e(row.text(v) + d)}</td>`;
      });
      return `<tr><th>${e(row.name)}</th>${cells.join('')}</tr>`;
    }),
    '</table>',
  ].join('\n');
}

/** The reports compared as one self-contained HTML page. */
export async function renderCompareHtml(list: readonly ComparedReport[]): Promise<string> {
  const e = escapeHtml;
  const parts: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>svasim compare: ${e(list.map((c) => c.label).join(' vs '))}</title>`,
    `<style>${CSS}td.n { white-space: nowrap; }\ntable + table { margin-top: 1.2em; }\n</style>`,
    '</head>',
    '<body>',
    `<h1>svasim compare: ${list.length} reports</h1>`,
    `<p class="run">Differences are against the first report, ${e(list[0]!.label)}. Latencies are modelled time.</p>`,
    '<table data-table="reports">',
    '<tr><th>label</th><th>file</th><th>scenario</th><th>profile</th><th>seed</th></tr>',
    ...list.map(
      (c) =>
        `<tr><th>${e(c.label)}</th><td>${e(c.file)}</td><td>${e(c.report.scenario.name)}</td>` +
        `<td>${e(c.report.profile)}</td><td class="n">${c.report.seed}</td></tr>`,
    ),
    '</table>',
    '<h2>Percentile curves</h2>',
  ];
  const kinds = comparedKinds(list);
  if (kinds.length === 0) parts.push('<p class="note">No latency value was recorded.</p>');
  for (const kind of kinds) {
    const curves = list.map((c) => ({
      label: c.label,
      points:
        (c.report.latency[kind]?.count ?? 0) > 0 ? percentilePoints(c.report.histograms[kind]) : [],
    }));
    const drawn = curves.filter((c) => c.points.length > 0).length;
    parts.push(
      `<figure class="plot" data-plot="percentiles" data-kind="${e(kind)}" data-lines="${drawn}">`,
      await renderSvg(overlaidPercentileSpec(kind, curves)),
      `<figcaption>${e(
        'How to read this plot: one curve per report; the point at percentile p is the ' +
          'latency p of the values did not exceed; the x axis gives 90%, 99% and 99.9% equal ' +
          'room, the last point of a curve is its maximum.',
      )}</figcaption>`,
      '</figure>',
    );
  }
  parts.push('<h2>Totals</h2>', table('totals', list, totalsRows(list)));
  parts.push('<h2>Latency summary</h2>');
  for (const kind of kinds) parts.push(table(kind, list, latencyRows(list, kind)));
  parts.push('</body>', '</html>', '');
  return parts.join('\n');
}

/** Writes `renderCompareHtml(list)` to `file`. */
export async function writeCompareHtml(
  file: string,
  list: readonly ComparedReport[],
): Promise<void> {
  await writeFile(file, await renderCompareHtml(list));
}
