import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { writeSweepFolder } from '../report/sweep-fixture.js';
import { captureIo } from './io.js';

let root: string;
let dir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'svasim-cli-merge-'));
  dir = join(root, 'd');
  writeSweepFolder(dir, {
    scenario: 'default',
    overrides: { duration: '200us' },
    axes: [{ path: 'iommu.prqEntries', values: [64, 1024] }],
    seeds: 2,
    fate: (p) => (p.index === 3 ? 'failed' : 'run'),
  });
}, 120_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('svasim merge', () => {
  it('prints one row per grid point and lists the failed point; exit status 0', async () => {
    const o = captureIo();
    expect(await runCli(['merge', dir, '--metric', 'jobs'], o)).toBe(0);
    const lines = o.text().split('\n');
    expect(lines[0]).toBe(
      `svasim merge ${dir}: default, 2 grid points × 2 seeds; 3 of 4 points merged, 1 failed`,
    );
    expect(lines[1]).toBe(
      '  metric jobs: per run: the merged count over the replicates; spread: min–max over replicates',
    );
    expect(lines[3]).toMatch(
      /^iommu\.prqEntries +runs +jobs +spread +requests\.perSecond +jobs\.perSecond +prqOverflows +prq\.service\.p99 +job\.latency\.p99$/,
    );
    expect(lines[4]).toMatch(/^64 +2\/2 /);
    expect(lines[5]).toMatch(/^1024 +1\/2 /);
    expect(o.text()).toContain('\nfailed: 1\n  points/0003  iommu.prqEntries=1024, replicate 1');
  });

  it('--json FILE writes the same bytes every time; --json alone writes it to stdout', async () => {
    const a = join(root, 'a.json');
    const b = join(root, 'b.json');
    expect(await runCli(['merge', dir, '--json', a], captureIo())).toBe(0);
    expect(await runCli(['merge', dir, '--json', b], captureIo())).toBe(0);
    expect(readFileSync(b, 'utf8')).toBe(readFileSync(a, 'utf8'));
    const o = captureIo();
    expect(await runCli(['merge', dir, '--json'], o)).toBe(0);
    expect(`${o.text()}\n`).toBe(readFileSync(a, 'utf8'));
    // the table went to stderr
    expect(o.errors()).toMatch(/^svasim merge /);
    const doc = JSON.parse(readFileSync(a, 'utf8'));
    expect(doc.metric).toBe('prq.service.p99');
    expect(doc.failed.map((p: { index: number }) => p.index)).toEqual([3]);
  });

  it('writes the HTML page', async () => {
    const page = join(root, 'm.html');
    const o = captureIo();
    expect(await runCli(['merge', dir, '--html', page], o)).toBe(0);
    expect(o.text()).toContain(`written: ${page}`);
    const html = readFileSync(page, 'utf8');
    expect(html).toContain('<title>svasim sweep: default</title>');
    expect(html).toContain('data-plot="metric" data-axis="iommu.prqEntries"');
  });

  it('exits 2 with a clear message for a folder without sweep.json or an unknown metric', async () => {
    const empty = join(root, 'empty');
    mkdirSync(empty, { recursive: true });
    let o = captureIo();
    expect(await runCli(['merge', empty], o)).toBe(2);
    expect(o.errors()).toBe(
      `svasim: ${empty} has no sweep.json: it is not a sweep folder (\`svasim sweep --out ${empty}\` writes sweep.json before any point runs)`,
    );
    o = captureIo();
    expect(await runCli(['merge', dir, '--metric', 'p99'], o)).toBe(2);
    expect(o.errors()).toMatch(
      /^svasim: unknown metric 'p99': give a latency kind and a statistic/,
    );
  });
});

describe('svasim compare', () => {
  it('shows two point reports side by side and writes the page', async () => {
    const page = join(root, 'c.html');
    const o = captureIo();
    const a = join(dir, 'points', '0000.json');
    const b = join(dir, 'points', '0002.json');
    expect(await runCli(['compare', a, b, '--html', page], o)).toBe(0);
    expect(o.text().split('\n')[0]).toBe(
      'svasim compare: 2 reports; differences against the first (iommu.prqEntries=64 #0)',
    );
    expect(o.text()).toContain(`written: ${page}`);
    expect(readFileSync(page, 'utf8')).toContain('data-plot="percentiles"');
  });

  it('exits 2 for one report, or a file that is not a report', async () => {
    let o = captureIo();
    expect(await runCli(['compare', join(dir, 'points', '0000.json')], o)).toBe(2);
    expect(o.errors()).toBe('svasim: compare takes two or more reports, got 1');
    const junk = join(root, 'junk.json');
    writeFileSync(junk, '[1, 2]');
    o = captureIo();
    expect(await runCli(['compare', junk, join(dir, 'points', '0000.json')], o)).toBe(2);
    expect(o.errors()).toMatch(
      /^svasim: .*junk\.json: not a svasim run report \(the top level is not an object\)/,
    );
    o = captureIo();
    expect(await runCli(['compare', join(root, 'none.json'), junk], o)).toBe(2);
    expect(o.errors()).toBe(`svasim: cannot read ${join(root, 'none.json')}: no such file`);
  });
});
