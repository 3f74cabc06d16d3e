import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { LATENCY_KINDS } from '../../src/metrics/kinds.js';
import { formatPercentileDistribution } from '../../src/report/hlog.js';
import { renderHtml, scenarioYaml, writeHtml } from '../../src/report/html.js';
import { percentilePoints } from '../../src/report/plots.js';
import type { Report } from '../../src/report/types.js';
import { resolveScenario } from '../../src/scenario/defaults.js';
import { exhaustedReport, reportWithoutSeries, reportWithSeries, smallReport } from './fixture.js';

/** Every element `<tag ... attr="value" ...>` of the page with the attribute, and its text up to `</tag>`. */
function elements(html: string, tag: string, attr: string): { value: string; body: string }[] {
  const re = new RegExp(`<${tag}\\b[^>]*\\b${attr}="([^"]*)"[^>]*>([\\s\\S]*?)</${tag}>`, 'g');
  return [...html.matchAll(re)].map((m) => ({ value: m[1]!, body: m[2]! }));
}

function unescapeHtml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

describe('percentilePoints()', () => {
  it('walks HdrHistogram percentile ticks from the minimum up to the maximum at x = count', () => {
    const r = smallReport();
    for (const k of LATENCY_KINDS) {
      const s = r.latency[k];
      const pts = percentilePoints(r.histograms[k]);
      if (s.count === 0) {
        expect(pts).toEqual([]);
        continue;
      }
      if (s.count === 1) {
        // one value: the single point is the top of its bucket
        expect(pts).toEqual([{ percentile: 0, x: 1, valueNs: s.max }]);
        continue;
      }
      expect(pts[0]).toEqual({ percentile: 0, x: 1, valueNs: s.min });
      expect(pts.at(-1)).toEqual({
        percentile: 100 * (1 - 1 / s.count),
        x: s.count,
        valueNs: s.max,
      });
      for (let i = 1; i < pts.length; i++) {
        expect(pts[i]!.x).toBeGreaterThan(pts[i - 1]!.x);
        expect(pts[i]!.valueNs).toBeGreaterThanOrEqual(pts[i - 1]!.valueNs);
        expect(pts[i]!.x).toBeCloseTo(1 / (1 - pts[i]!.percentile / 100), 6);
      }
      // below the maximum: the percentile ticks of HdrHistogram's own .hgrm output, in order
      // (the .hgrm iterator jumps to 100% once every value is counted: compare up to there)
      const hgrm = formatPercentileDistribution(r, k)
        .split('\n')
        .filter((l) => /^\s+[\d.]+\s+[\d.]+\s+\d+/.test(l))
        .map((l) => Number(l.trim().split(/\s+/)[1]) * 100);
      const below = pts.slice(0, -1);
      expect(below.length).toBeGreaterThan(0);
      below.forEach((p, i) => {
        if (i < hgrm.length - 1) expect(p.percentile).toBeCloseTo(hgrm[i]!, 8);
        expect(p.x).toBeLessThan(s.count);
      });
    }
  });
});

describe('renderHtml()', () => {
  it('refers to no resource at all: no URL, no script, no external style or font', async () => {
    const html = await renderHtml(reportWithSeries());
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/<script\b/i);
    expect(html).not.toMatch(/<(link|img|iframe|object|embed)\b/i);
    expect(html).not.toMatch(/\s(src|href|srcset|xlink:href)\s*=/i);
    expect(html).not.toMatch(/url\(|@import|@font-face/i);
  });

  it('says who failed and what the figures are before any figure, for a failed run only', async () => {
    const r: Report = {
      ...smallReport(),
      threads: 2,
      partial: true,
      missingPartitions: [1],
      failure: {
        partition: 1,
        who: 'accelerator partition 1 (devices 0, 1)',
        cause: 'died: exit code 3',
        code: 'ERR_WORKER_EXITED',
        exitCode: 3,
        ended: ['stopped', 'died'],
      },
    };
    const html = await renderHtml(r);
    expect(html).toContain('2 threads, partition 1 died, seed');
    const failedLines = elements(html, 'p', 'class').filter((x) => x.value === 'failed');
    expect(failedLines.map((x) => unescapeHtml(x.body))).toEqual([
      'FAILED: accelerator partition 1 (devices 0, 1) died: exit code 3',
      expect.stringMatching(/^partial: partition 1 reported nothing: /),
    ]);
    expect(html.indexOf('class="failed"')).toBeLessThan(html.indexOf('<h2>'));
    expect(await renderHtml(smallReport())).not.toContain('class="failed"');
  });

  it('has one percentile plot per kind with data, as inline SVG with the plotted point count', async () => {
    const r = smallReport();
    const html = await renderHtml(r);
    const figs = elements(html, 'figure', 'data-kind');
    const kinds = LATENCY_KINDS.filter((k) => r.latency[k].count > 0);
    expect(figs.map((f) => f.value)).toEqual(kinds);
    for (const f of figs) {
      const n = percentilePoints(r.histograms[f.value as (typeof kinds)[number]]).length;
      expect(html).toContain(`data-kind="${f.value}" data-points="${n}"`);
      expect(f.body.trim()).toMatch(/^<svg\b[\s\S]*<\/svg>/);
      const symbols = f.body.match(/aria-roledescription="point"/g) ?? [];
      expect(symbols.length, f.value).toBe(n);
    }
  });

  it('leaves out kinds that recorded nothing', async () => {
    const r = smallReport();
    const zero = { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
    const html = await renderHtml({ ...r, latency: { ...r.latency, 'inv.devtlb': zero } });
    expect(html).not.toContain('data-kind="inv.devtlb"');
    expect(html).toContain('data-kind="inv.iotlb"');
  });

  it('says there is no time series when the report has none', async () => {
    const html = await renderHtml(reportWithoutSeries());
    expect(html).toContain('No time series in this report.');
    expect(html).not.toContain('data-plot="prq-occupancy"');
    expect(html).not.toContain('data-plot="throughput"');
  });

  it('plots PRQ occupancy and throughput over simulated time when it has one', async () => {
    const r = reportWithSeries(12);
    const n = r.series!.tNs.length;
    const html = await renderHtml(r);
    expect(html).not.toContain('No time series');
    for (const plot of ['prq-occupancy', 'throughput']) {
      const [fig] = elements(html, 'figure', 'data-plot').filter((f) => f.value === plot);
      expect(fig, plot).toBeDefined();
      const lines = [...fig!.body.matchAll(/aria-roledescription="line mark" d="([^"]*)"/g)];
      expect(lines, plot).toHaveLength(2);
      for (const [, d] of lines) expect(d!.match(/[ML]/g)).toHaveLength(n);
    }
  });

  it('contains the totals, per-device and latency tables and the invariants', async () => {
    const r = smallReport();
    const html = await renderHtml(r);
    const totals = elements(html, 'table', 'data-table').find((t) => t.value === 'totals');
    expect(totals?.body).toContain(
      `<tr><th>translations</th><td class="n">${r.totals.translations}</td>`,
    );
    expect(totals?.body).toContain(
      `<tr><th>pageResponses.invalid</th><td class="n">${r.totals.pageResponses.invalid}</td>`,
    );
    const devices = elements(html, 'table', 'data-table').find((t) => t.value === 'devices');
    expect(devices?.body.match(/<tr>/g)).toHaveLength(r.devices.length + 1);
    expect(html).toContain('data-table="latency"');
    expect(html).toContain(`${r.invariants.checked} checks, <span class="ok">no violations</span>`);
  });

  it('lists invariant violations, escaped', async () => {
    const r: Report = {
      ...smallReport(),
      invariants: { checked: 3, violations: [{ what: 'bonds', detail: '<1> handle & more' }] },
    };
    const html = await renderHtml(r);
    expect(html).toContain('<li><span class="bad">bonds</span>: &lt;1&gt; handle &amp; more</li>');
  });

  it('shows what failed inside the run, when anything did: causes, then the first records', async () => {
    const r = exhaustedReport();
    const f = r.failures!;
    const html = await renderHtml(r);
    expect(html).toContain('<h2>Failures</h2>');
    expect(html).toContain(`<p data-failures="${f.count}">${f.count} binds and allocations failed`);
    const tables = elements(html, 'table', 'data-table');
    expect(tables.find((t) => t.value === 'failure-causes')?.body).toContain(
      `<tr><th>bind</th><td>ENOSPC</td><td class="n">${f.count}</td></tr>`,
    );
    const rows = tables.find((t) => t.value === 'failures')!.body.match(/<tr>/g);
    expect(rows).toHaveLength(f.first.length + 1);
    const x = f.first[0]!;
    expect(html).toContain(
      `<td>bind</td><td>ENOSPC</td><td class="n">${x.client}</td><td class="n">${x.pid}</td><td>${x.rid!.toString(16).padStart(4, '0')}</td><td class="n"></td><td>ENOSPC: PASID space [1, 3] exhausted`,
    );
    expect(await renderHtml(smallReport())).not.toContain('<h2>Failures</h2>');
  });

  it('shows the scenario as YAML that resolves to the same scenario', async () => {
    const r = smallReport();
    const html = await renderHtml(r);
    const pre = /<pre data-scenario>([\s\S]*?)<\/pre>/.exec(html)?.[1];
    expect(pre).toBeDefined();
    const yaml = unescapeHtml(pre!);
    expect(yaml).toBe(scenarioYaml(r));
    expect(yaml).toContain(`name: ${r.scenario.name}`);
    expect(resolveScenario(parseYaml(yaml))).toEqual(r.scenario);
  });
});

describe('writeHtml()', () => {
  it('writes the page', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'svasim-html-'));
    try {
      const file = join(dir, 'report.html');
      const r = smallReport();
      await writeHtml(file, r);
      expect(readFileSync(file, 'utf8')).toBe(await renderHtml(r));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
