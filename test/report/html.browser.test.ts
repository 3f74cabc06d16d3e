/**
 * The HTML report opened in headless Chromium: no network request at all, and every plot an
 * inline SVG with drawn marks, one per data point.
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
import { LATENCY_KINDS } from '../../src/metrics/kinds.js';
import { renderHtml } from '../../src/report/html.js';
import { percentilePoints } from '../../src/report/plots.js';
import { reportWithoutSeries, reportWithSeries } from './fixture.js';

const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const available = existsSync(executablePath);
const required = process.env.SVASIM_REQUIRE_CHROMIUM === '1';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Vertices of a line path as Vega writes it (`M x,y L x,y …`). */
function vertices(d: string): number {
  return (d.match(/[ML]/g) ?? []).length;
}

/** What a plot's SVG holds, read in the page. */
interface Drawn {
  count: number;
  isSvg: boolean;
  lines: { d: string; width: number; height: number }[];
  symbols: { d: string; width: number; height: number }[];
}

async function drawn(page: Page, selector: string): Promise<Drawn> {
  const fig = page.locator(selector);
  const count = await fig.count();
  const svg = fig.locator(':scope > svg');
  const ns = (await svg.count()) === 1 ? await svg.evaluate((e) => e.namespaceURI) : null;
  // runs in the page (serialised): only its parameter, no closure
  const read = (
    els: {
      getAttribute(name: string): string | null;
      getBoundingClientRect(): { width: number; height: number };
    }[],
  ) =>
    els.map((e) => {
      const b = e.getBoundingClientRect();
      return { d: e.getAttribute('d') ?? '', width: b.width, height: b.height };
    });
  return {
    count,
    isSvg: ns === SVG_NS,
    lines: await fig.locator('g.mark-line.role-mark > path').evaluateAll(read),
    symbols: await fig.locator('g.mark-symbol.role-mark > path').evaluateAll(read),
  };
}

/** A page whose every request is recorded, and aborted unless it is the page file itself. */
async function openRecorded(
  context: BrowserContext,
  url: string | null,
): Promise<{ page: Page; requests: string[]; blocked: string[] }> {
  const requests: string[] = [];
  const blocked: string[] = [];
  const page = await context.newPage();
  page.on('request', (req) => requests.push(req.url()));
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u === url) return route.continue();
    blocked.push(u);
    return route.abort();
  });
  return { page, requests, blocked };
}

describe('HTML report in headless Chromium', () => {
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

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'svasim-html-browser-'));
    browser = await chromium.launch({ executablePath, headless: true });
    context = await browser.newContext({ serviceWorkers: 'block' });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('records and blocks a network request (self-check of the recorder)', async () => {
    const { page, requests, blocked } = await openRecorded(context, null);
    await page.setContent('<img src="http://svasim.invalid/x.png">', { waitUntil: 'load' });
    expect(blocked).toEqual(['http://svasim.invalid/x.png']);
    expect(requests).toContain('http://svasim.invalid/x.png');
    await page.close();
  }, 60_000);

  it('opens from a file with no network request and draws every plot with one mark per point', async () => {
    const r = reportWithSeries(12);
    const file = join(dir, 'report.html');
    writeFileSync(file, await renderHtml(r));
    const url = pathToFileURL(file).href;
    const { page, requests, blocked } = await openRecorded(context, url);
    await page.goto(url, { waitUntil: 'load' });

    expect(blocked).toEqual([]);
    expect(requests.filter((u) => u !== url)).toEqual([]);
    expect(await page.evaluate(() => performance.getEntriesByType('resource').length)).toBe(0);
    expect(await page.locator('script, link, img, iframe, object, embed').count()).toBe(0);
    expect(await page.title()).toBe(`svasim: ${r.scenario.name}`);

    const kinds = LATENCY_KINDS.filter((k) => r.latency[k].count > 0);
    expect(kinds.length).toBeGreaterThan(0);
    expect(await page.locator('[data-kind]').count()).toBe(kinds.length);
    for (const kind of kinds) {
      const n = percentilePoints(r.histograms[kind]).length;
      const p = await drawn(page, `figure[data-kind="${kind}"]`);
      expect(p.count, kind).toBe(1);
      expect(p.isSvg, kind).toBe(true);
      expect(p.lines, kind).toHaveLength(1);
      expect(vertices(p.lines[0]!.d), kind).toBe(n);
      if (n > 1) expect(p.lines[0]!.width, kind).toBeGreaterThan(0);
      expect(p.symbols, kind).toHaveLength(n);
      for (const s of p.symbols) {
        expect(s.d).not.toBe('');
        expect(s.width * s.height).toBeGreaterThan(0);
      }
    }

    const n = r.series!.tNs.length;
    for (const plot of ['prq-occupancy', 'throughput']) {
      const p = await drawn(page, `figure[data-plot="${plot}"]`);
      expect(p.count, plot).toBe(1);
      expect(p.isSvg, plot).toBe(true);
      expect(p.lines, plot).toHaveLength(2);
      for (const line of p.lines) {
        expect(vertices(line.d), plot).toBe(n);
        expect(line.width, plot).toBeGreaterThan(0);
      }
    }

    expect(await page.locator('pre[data-scenario]').textContent()).toContain(
      `name: ${r.scenario.name}`,
    );
    await page.close();
  }, 60_000);

  it('shows the no-series note instead of time plots when the report has no series', async () => {
    const file = join(dir, 'no-series.html');
    writeFileSync(file, await renderHtml(reportWithoutSeries()));
    const url = pathToFileURL(file).href;
    const { page, blocked } = await openRecorded(context, url);
    await page.goto(url, { waitUntil: 'load' });
    expect(blocked).toEqual([]);
    expect(await page.locator('[data-plot="none"]').textContent()).toBe(
      'No time series in this report.',
    );
    expect(
      await page.locator('[data-plot="prq-occupancy"], [data-plot="throughput"]').count(),
    ).toBe(0);
    await page.close();
  }, 60_000);
});
