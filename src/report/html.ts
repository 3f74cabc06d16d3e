/**
 * The `--html FILE` report (DESIGN §5): one self-contained HTML page — title and run line,
 * a percentile plot per latency kind that recorded anything, PRQ occupancy and throughput
 * over simulated time (when the report has a time series), the totals, the per-device totals,
 * what failed inside the run (binds, allocations: when any did), the invariants, and the
 * scenario that produced the run as YAML.
 *
 * Self-contained means the page opens with no network and no script: the charts are inline
 * SVG rendered in Node (plots.ts), the style sheet is inline, fonts are the browser's own
 * `sans-serif` / `monospace`, and the page refers to no URL at all. Not here: interactivity
 * (tooltips, zoom), figures the report does not hold.
 */

import { writeFile } from 'node:fs/promises';
import { stringify as toYaml } from 'yaml';
import { COUNTER_NAMES, type CounterTotals, counterOf } from '../metrics/counters.js';
import { formatBytes, formatNs, formatRate } from '../scenario/units.js';
import {
  escapeHtml,
  failureHeadline,
  formatPercent,
  hitRate,
  kindsWithData,
  perSecond,
  requestsOf,
  runFailureLines,
  slowdownOf,
  threadsText,
  windowOf,
  windowText,
} from './common.js';
import {
  percentilePoints,
  percentileSpec,
  prqOccupancySpec,
  renderSvg,
  throughputSpec,
} from './plots.js';
import type { Report } from './types.js';

/** The style sheet of the report pages (inline: the pages refer to no URL). */
export const CSS = `
body { font: 14px/1.45 sans-serif; color: #222; margin: 1.5em auto; max-width: 70em; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
.run { color: #444; margin-top: 0; }
figure { margin: 1.2em 0; }
figcaption { color: #555; font-size: 0.9em; max-width: 46em; }
.note { color: #555; font-style: italic; }
.failed { color: #b00020; font-weight: bold; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { padding: 0.15em 0.7em; border-bottom: 1px solid #eee; }
th { text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.wide { overflow-x: auto; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.ok { color: #176317; }
.bad { color: #b00020; font-weight: bold; }
`;

/** Renders the report as one self-contained HTML page. */
export async function renderHtml(r: Report): Promise<string> {
  const e = escapeHtml;
  const t = r.totals;
  const ns = windowOf(r);
  const parts: string[] = [];
  const slowdown = slowdownOf(r);
  parts.push(
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>svasim: ${e(r.scenario.name)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    `<h1>svasim run: ${e(r.scenario.name)}</h1>`,
    `<p class="run">${e(
      `${r.runtime} runtime${r.runtimeChoice ? ` (${r.runtimeChoice})` : ''}, ${threadsText(r.threads)}${r.failure ? `, ${failureHeadline(r.failure)}` : ''}, seed ${r.seed}, profile ${r.profile}. ` +
        `Measurement ${windowText(r)} in ${formatNs(r.wallMs * 1e6)} of wall time ` +
        `(slowdown ${Number.isFinite(slowdown) ? `${slowdown.toPrecision(3)}x` : '-'}, ` +
        `${formatRate(r.eventsPerWallSecond).replace('/s', ' events/s')}). ` +
        `${formatRate(perSecond(requestsOf(t), ns))} requests and ` +
        `${formatRate(perSecond(t.jobs, ns))} jobs per simulated second; ` +
        `IOTLB hit rate ${formatPercent(hitRate(t.iotlbHits, t.iotlbMisses))}, ` +
        `device TLB hit rate ${formatPercent(hitRate(t.devtlbHits, t.devtlbMisses))}.`,
    )}</p>`,
  );

  // a failed threaded run: who failed and what its figures are, before any figure
  for (const line of runFailureLines(r)) parts.push(`<p class="failed">${e(line)}</p>`);

  parts.push('<h2>Latency percentiles</h2>');
  const kinds = kindsWithData(r);
  if (kinds.length === 0) parts.push('<p class="note">No latency value was recorded.</p>');
  for (const kind of kinds) {
    const s = r.latency[kind];
    const points = percentilePoints(r.histograms[kind]);
    const svg = await renderSvg(percentileSpec(kind, points));
    parts.push(
      `<figure class="plot" data-kind="${e(kind)}" data-points="${points.length}">`,
      svg,
      `<figcaption>${e(
        `${s.count} values; p50 ${formatNs(s.p50)}, p99 ${formatNs(s.p99)}, max ${formatNs(s.max)}. ` +
          'How to read this plot: the point at percentile p is the latency p of the values did ' +
          'not exceed; the x axis gives 90%, 99% and 99.9% equal room, so the tail is visible. ' +
          'The last point is the maximum. Modelled time, not wall time.',
      )}</figcaption>`,
      '</figure>',
    );
  }

  parts.push('<h2>Over simulated time</h2>');
  const series = r.series;
  if (series === undefined || series.tNs.length === 0) {
    parts.push('<p class="note" data-plot="none">No time series in this report.</p>');
  } else {
    const interval = formatNs(series.intervalNs);
    const capacity = r.scenario.iommu.prqEntries * r.scenario.iommu.units;
    parts.push(
      `<figure class="plot" data-plot="prq-occupancy" data-points="${series.tNs.length}">`,
      await renderSvg(prqOccupancySpec(series)),
      `<figcaption>${e(
        `How to read this plot: page requests waiting in the page request queues of all ` +
          `VT-d units, at the end of each ${interval} interval and the largest number seen ` +
          `during it. The queues hold ${capacity} entries in all; a queue that fills up ` +
          `overflows (PRQ overflows in this run: ${t.prqOverflows}, hardware ` +
          `auto-responses: ${t.autoResponses}).`,
      )}</figcaption>`,
      '</figure>',
      `<figure class="plot" data-plot="throughput" data-points="${series.tNs.length}">`,
      await renderSvg(throughputSpec(series)),
      `<figcaption>${e(
        `How to read this plot: requests reaching the VT-d units (ATS translation requests, ` +
          `page requests, untranslated DMA requests) and jobs completed, each averaged over ` +
          `a ${interval} interval and scaled to one second of simulated time.`,
      )}</figcaption>`,
      '</figure>',
    );
  }

  parts.push('<h2>Totals</h2>', totalsTable(t, ns));
  parts.push('<h2>Per device</h2>', devicesTable(r.devices));

  parts.push('<h2>Latency summary</h2>', latencyTable(r));

  const f = r.failures;
  if (f !== undefined && f.count > 0) parts.push('<h2>Failures</h2>', failuresTable(f));

  const v = r.invariants.violations;
  parts.push(
    '<h2>Invariants</h2>',
    `<p data-invariants="${v.length}">${r.invariants.checked} checks, ${
      v.length === 0
        ? '<span class="ok">no violations</span>'
        : `<span class="bad">${v.length} violation${v.length === 1 ? '' : 's'}</span>`
    }.</p>`,
  );
  if (v.length > 0) {
    parts.push(
      '<ul>',
      ...v.map((x) => `<li><span class="bad">${e(x.what)}</span>: ${e(x.detail)}</li>`),
      '</ul>',
    );
  }

  parts.push(
    '<h2>Scenario</h2>',
    '<p class="note">The resolved scenario of this run: every default filled in, durations ' +
      'in ns, sizes in bytes, rates per second. Saved as a scenario file, it resolves to ' +
      'this same scenario.</p>',
    `<pre data-scenario>${e(scenarioYaml(r))}</pre>`,
    '</body>',
    '</html>',
    '',
  );
  return parts.join('\n');
}

/** Writes `renderHtml(report)` to `file`. */
export async function writeHtml(file: string, r: Report): Promise<void> {
  await writeFile(file, await renderHtml(r));
}

/** The resolved scenario of the report as YAML, with a comment stating the units. */
export function scenarioYaml(r: Report): string {
  return `# svasim scenario (resolved): durations in ns, sizes in bytes, rates per second\n${toYaml(r.scenario)}`;
}

function totalsTable(t: CounterTotals, ns: number): string {
  const rows = COUNTER_NAMES.map((name) => {
    const n = counterOf(t, name);
    const rate =
      name === 'dmaBytes' ? `${formatBytes(perSecond(n, ns))}/s` : formatRate(perSecond(n, ns));
    return `<tr><th>${escapeHtml(name)}</th><td class="n">${n}</td><td class="n">${rate}</td></tr>`;
  });
  return [
    '<table data-table="totals">',
    '<tr><th>counter</th><th>total</th><th>per simulated second</th></tr>',
    ...rows,
    '</table>',
  ].join('\n');
}

function devicesTable(devices: Report['devices']): string {
  if (devices.length === 0) return '<p class="note">No device.</p>';
  const head = ['rid (hex)', ...COUNTER_NAMES].map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const rows = devices.map(
    (d) =>
      `<tr><th>${d.rid.toString(16).padStart(4, '0')}</th>${COUNTER_NAMES.map(
        (name) => `<td class="n">${counterOf(d, name)}</td>`,
      ).join('')}</tr>`,
  );
  return [
    '<div class="wide"><table data-table="devices">',
    `<tr>${head}</tr>`,
    ...rows,
    '</table></div>',
  ].join('\n');
}

/**
 * The failures of the run: the count per kind and code, then the first ones logged with their
 * simulated time, who was involved and the message.
 */
function failuresTable(f: NonNullable<Report['failures']>): string {
  const e = escapeHtml;
  const opt = (n: number | undefined, text: (n: number) => string): string =>
    n === undefined ? '' : e(text(n));
  return [
    `<p data-failures="${f.count}">${f.count} binds and allocations failed in the run ` +
      '(warm-up, window and drain), each answered as the kernel or the client would: a client ' +
      'whose bind failed waits and retries, a page fault that cannot be served fails its job, ' +
      'a client that cannot prefault exits and a new one tries later.</p>',
    '<table data-table="failure-causes">',
    '<tr><th>kind</th><th>code</th><th>count</th></tr>',
    ...f.causes.map(
      (c) => `<tr><th>${e(c.kind)}</th><td>${e(c.code)}</td><td class="n">${c.count}</td></tr>`,
    ),
    '</table>',
    `<p class="note">The first ${f.first.length} of them:</p>`,
    '<div class="wide"><table data-table="failures">',
    '<tr><th>simulated time</th><th>kind</th><th>code</th><th>client</th><th>pid</th>' +
      '<th>rid (hex)</th><th>PASID</th><th>message</th></tr>',
    ...f.first.map(
      (x) =>
        `<tr><td class="n">${e(formatNs(x.tNs))}</td><td>${e(x.kind)}</td><td>${e(x.code)}</td>` +
        `<td class="n">${opt(x.client, String)}</td><td class="n">${opt(x.pid, String)}</td>` +
        `<td>${opt(x.rid, (n) => n.toString(16).padStart(4, '0'))}</td>` +
        `<td class="n">${opt(x.pasid, String)}</td><td>${e(x.message)}</td></tr>`,
    ),
    '</table></div>',
  ].join('\n');
}

function latencyTable(r: Report): string {
  const kinds = kindsWithData(r);
  if (kinds.length === 0) return '<p class="note">No latency value was recorded.</p>';
  const stats = ['min', 'mean', 'p50', 'p90', 'p99', 'p999', 'max'] as const;
  return [
    '<table data-table="latency">',
    `<tr><th>kind (modelled time)</th><th>count</th>${stats.map((s) => `<th>${s}</th>`).join('')}</tr>`,
    ...kinds.map((k) => {
      const s = r.latency[k];
      return `<tr><th>${escapeHtml(k)}</th><td class="n">${s.count}</td>${stats
        .map((st) => `<td class="n">${formatNs(s[st])}</td>`)
        .join('')}</tr>`;
    }),
    '</table>',
  ].join('\n');
}
