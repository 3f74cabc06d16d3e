/**
 * The merge and compare pages opened in headless Chromium: no network request, no script,
 * no error in the console, and every plot an inline SVG with its lines and points drawn —
 * a line per combination of the other parameters in the metric plots, a line per grid point
 * (or report) in the percentile plots.
 *
 * Chromium comes from CHROMIUM_PATH or /usr/bin/chromium. Without it the test is skipped,
 * unless SVASIM_REQUIRE_CHROMIUM=1 (CI sets it), in which case it fails.
 */

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCompared } from '../../src/report/compare.js';
import { renderCompareHtml } from '../../src/report/compare-html.js';
import { percentilePoints } from '../../src/report/plots.js';
import { readSweepFolder } from '../../src/report/sweep-folder.js';
import { renderSweepHtml } from '../../src/report/sweep-html.js';
import { mergeSweep, type SweepMerge } from '../../src/report/sweep-merge.js';
import { parseMetric } from '../../src/report/sweep-metric.js';
import { writeSweepFolder } from './sweep-fixture.js';

const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const available = existsSync(executablePath);
const required = process.env.SVASIM_REQUIRE_CHROMIUM === '1';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** What one figure's SVG holds, read in the page. */
interface Drawn {
  isSvg: boolean;
  lines: number;
  symbols: number;
  rules: number;
  /** Drawn lines with an empty box (nothing visible). */
  emptyLines: number;
}

async function drawn(page: Page, selector: string): Promise<Drawn> {
  const fig = page.locator(selector);
  expect(await fig.count(), selector).toBe(1);
  const svg = fig.locator(':scope > svg');
  const ns = (await svg.count()) === 1 ? await svg.evaluate((e) => e.namespaceURI) : null;
  const boxes = await fig
    .locator('g.mark-line.role-mark > path')
    .evaluateAll((els) => els.map((e) => e.getBoundingClientRect().width));
  return {
    isSvg: ns === SVG_NS,
    lines: boxes.length,
    emptyLines: boxes.filter((w) => !(w > 0)).length,
    symbols: await fig.locator('g.mark-symbol.role-mark > path').count(),
    rules: await fig.locator('g.mark-rule.role-mark > line').count(),
  };
}

/** Opens `file`, aborting and recording every other request, and collecting console errors. */
async function open(
  context: BrowserContext,
  file: string,
): Promise<{ page: Page; blocked: string[]; errors: string[] }> {
  const url = pathToFileURL(file).href;
  const blocked: string[] = [];
  const errors: string[] = [];
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u === url) return route.continue();
    blocked.push(u);
    return route.abort();
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, blocked, errors };
}

describe('merge and compare pages in headless Chromium', () => {
  if (!available) {
    if (required) {
      it('finds Chromium', () => {
        throw new Error(
          `SVASIM_REQUIRE_CHROMIUM=1 but there is no Chromium at ${executablePath}: install it ` +
            '(apt-get install chromium) or set CHROMIUM_PATH',
        );
      });
    } else {
      it.skip(`skipped: no Chromium at ${executablePath} (install chromium or set CHROMIUM_PATH)`, () => {});
    }
    return;
  }

  let browser: Browser;
  let context: BrowserContext;
  let dir: string;
  let merged: SweepMerge;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'svasim-sweep-browser-'));
    // 2 profiles × 3 PRQ sizes × 2 seeds; one point left unrun
    writeSweepFolder(join(dir, 'sweep'), {
      scenario: 'default',
      overrides: { duration: '200us' },
      axes: [
        { path: 'profile', values: ['v5.8', 'current'] },
        { path: 'iommu.prqEntries', values: [64, 256, 1024] },
      ],
      seeds: 2,
      fate: (p) => (p.index === 11 ? 'missing' : 'run'),
    });
    merged = mergeSweep(readSweepFolder(join(dir, 'sweep')), parseMetric('job.latency.p99'));
    browser = await chromium.launch({ executablePath, headless: true });
    context = await browser.newContext({ serviceWorkers: 'block' });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('draws the metric against each parameter, a line per value of the other, with the replicates’ range', async () => {
    const file = join(dir, 'merge.html');
    writeFileSync(file, await renderSweepHtml(merged, 'sweep'));
    const { page, blocked, errors } = await open(context, file);
    expect(blocked).toEqual([]);
    expect(errors).toEqual([]);
    expect(await page.evaluate(() => performance.getEntriesByType('resource').length)).toBe(0);
    expect(await page.locator('script, link, img, iframe, object, embed').count()).toBe(0);
    expect(await page.title()).toBe('svasim sweep: default');

    // against iommu.prqEntries: one line per profile, a point and a range bar per grid point
    const prq = await drawn(page, 'figure[data-plot="metric"][data-axis="iommu.prqEntries"]');
    expect(prq).toEqual({ isSvg: true, lines: 2, emptyLines: 0, symbols: 6, rules: 6 });
    // against profile: one line per PRQ size
    const profile = await drawn(page, 'figure[data-plot="metric"][data-axis="profile"]');
    expect(profile).toEqual({ isSvg: true, lines: 3, emptyLines: 0, symbols: 6, rules: 6 });
    // the legend names the lines
    const legend = await page
      .locator('figure[data-axis="iommu.prqEntries"] g.role-legend-label text')
      .allTextContents();
    expect(legend).toEqual(['profile=v5.8', 'profile=current']);

    // percentile curves: the metric's kind first, a curve per grid point with data
    const kinds = await page
      .locator('figure[data-plot="percentiles"]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-kind')));
    expect(kinds[0]).toBe('job.latency');
    const jobs = await drawn(page, 'figure[data-plot="percentiles"][data-kind="job.latency"]');
    const points = merged.grid.reduce(
      (n, g) => n + percentilePoints(g.figures!.histograms['job.latency']).length,
      0,
    );
    expect(jobs).toEqual({ isSvg: true, lines: 6, emptyLines: 0, symbols: points, rules: 0 });

    // the table: a row per grid point, the unrun replicate listed
    expect(await page.locator('table[data-table="grid"] tr').count()).toBe(7);
    expect(await page.locator('ul[data-list="missing"] li').allTextContents()).toEqual([
      `points/0011: profile=current, iommu.prqEntries=1024, replicate 1, seed ${merged.missing[0]!.seed}`,
    ]);
    await page.close();
  }, 60_000);

  it('overlays the percentile curves of compared reports', async () => {
    const sweep = join(dir, 'sweep', 'points');
    const list = readCompared([join(sweep, '0000.json'), join(sweep, '0006.json')]);
    const file = join(dir, 'compare.html');
    writeFileSync(file, await renderCompareHtml(list));
    const { page, blocked, errors } = await open(context, file);
    expect(blocked).toEqual([]);
    expect(errors).toEqual([]);
    expect(await page.locator('script, link, img, iframe, object, embed').count()).toBe(0);
    const figures = page.locator('figure[data-plot="percentiles"]');
    expect(await figures.count()).toBeGreaterThan(2);
    const jobs = await drawn(page, 'figure[data-plot="percentiles"][data-kind="job.latency"]');
    expect(jobs.isSvg).toBe(true);
    expect(jobs.lines).toBe(2);
    expect(jobs.emptyLines).toBe(0);
    expect(jobs.symbols).toBe(
      list.reduce((n, c) => n + percentilePoints(c.report.histograms['job.latency']).length, 0),
    );
    expect(await page.locator('table[data-table="totals"] th').first().textContent()).toBe(
      'totals',
    );
    await page.close();
  }, 60_000);
});
