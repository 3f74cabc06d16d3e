import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario } from '../../src/machine/run.js';
import {
  type ComparedReport,
  formatCompare,
  latencyRows,
  readCompared,
  readRunReport,
  relativeDifference,
  reportLabels,
  totalsRows,
} from '../../src/report/compare.js';
import { type JsonReport, toJsonReport } from '../../src/report/json.js';

let dir: string;
let a: JsonReport;
let b: JsonReport;
let files: string[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'svasim-compare-'));
  a = toJsonReport(runScenario({ duration: '200us', seed: 1, profile: 'v5.8' }));
  b = toJsonReport(runScenario({ duration: '200us', seed: 1, profile: 'current' }));
  files = [join(dir, 'a.json'), join(dir, 'b.json')];
  writeFileSync(files[0]!, JSON.stringify(a));
  writeFileSync(files[1]!, JSON.stringify(b));
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The relative difference, worked out here from the two numbers. */
function pct(base: number, x: number): string {
  if (x === base) return '=';
  const d = ((x - base) / base) * 100;
  return `${d >= 0 ? '+' : '-'}${Math.abs(d).toFixed(1)} %`;
}

describe('relativeDifference()', () => {
  it('gives the signed difference against the first with one decimal', () => {
    expect(relativeDifference(100, 112.3)).toBe('+12.3 %');
    expect(relativeDifference(200, 150)).toBe('-25.0 %');
    expect(relativeDifference(3, 3)).toBe('=');
    expect(relativeDifference(0, 5)).toBe('from 0');
    expect(relativeDifference(1000, 1000.4)).toBe('+0.0 %');
  });
});

describe('formatCompare()', () => {
  it('shows two real reports side by side with each figure against the first', () => {
    const list = readCompared(files);
    expect(list.map((c) => c.label)).toEqual(['default/v5.8', 'default/current']);
    const text = formatCompare(list);
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      'svasim compare: 2 reports; differences against the first (default/v5.8)',
    );
    expect(lines[1]).toBe(
      `  default/v5.8      ${files[0]}: scenario default, profile v5.8, seed 1`,
    );

    const reqA = a.totals.translations + a.totals.pageRequests;
    const reqB = b.totals.translations + b.totals.pageRequests;
    expect(text).toMatch(
      new RegExp(`\\n  requests +${reqA} +${reqB} \\(${reEscape(pct(reqA, reqB))}\\)\\n`),
    );
    expect(text).toMatch(
      new RegExp(
        `\\n  jobs +${a.totals.jobs} +${b.totals.jobs} \\(${reEscape(pct(a.totals.jobs, b.totals.jobs))}\\)\\n`,
      ),
    );
    // the latency rows: the report's own figures, and the difference of the numbers
    const rows = latencyRows(list, 'job.latency');
    const p99 = rows.find((r) => r.name === 'p99')!;
    expect(p99.values).toEqual([a.latency['job.latency'].p99, b.latency['job.latency'].p99]);
    expect(text).toContain('job.latency (modelled)');
    expect(a.latency['job.latency'].count).toBeGreaterThan(0);
  });

  it('lists exactly the counters that differ', () => {
    const list = readCompared(files);
    const names = totalsRows(list).map((r) => r.name);
    expect(names.slice(0, 5)).toEqual([
      'window',
      'requests',
      'jobs',
      'requests per simulated s',
      'jobs per simulated s',
    ]);
    const same = readCompared([files[0]!, files[0]!]);
    expect(totalsRows(same).map((r) => r.name)).toHaveLength(5);
    expect(formatCompare(same)).toContain('every counter is the same in all reports');
    for (const row of totalsRows(list).slice(5)) {
      expect(row.values[0], row.name).not.toBe(row.values[1]);
    }
  });
});

describe('readRunReport()', () => {
  it('refuses what is not a readable run report with a code and what to give instead', () => {
    expect(() => readRunReport(join(dir, 'none.json'))).toThrow(
      expect.objectContaining({
        code: 'ENOENT',
        message: `cannot read ${join(dir, 'none.json')}: no such file`,
      }),
    );
    const sub = join(dir, 'sub');
    mkdirSync(sub, { recursive: true });
    expect(() => readRunReport(sub)).toThrow(expect.objectContaining({ code: 'EISDIR' }));
    const text = join(dir, 'text.json');
    writeFileSync(text, 'not json');
    expect(() => readRunReport(text)).toThrow(
      expect.objectContaining({
        code: 'EINVAL',
        message: expect.stringMatching(
          /: not JSON \(.*\); give reports `svasim run --json FILE` wrote/,
        ),
      }),
    );
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify({ scenario: { name: 'x' }, latency: {} }));
    expect(() => readRunReport(other)).toThrow(
      expect.objectContaining({
        code: 'EINVAL',
        message: `${other}: not a svasim run report (no totals); give reports \`svasim run --json FILE\` wrote, or point reports of a sweep (DIR/points/<index>.json)`,
      }),
    );
  });
});

describe('reportLabels()', () => {
  it('uses scenario/profile when distinct, else basenames, else the paths', () => {
    expect(reportLabels(files, [a, b])).toEqual(['default/v5.8', 'default/current']);
    expect(reportLabels(files, [a, a])).toEqual(['a.json', 'b.json']);
    expect(reportLabels(['x/r.json', 'y/r.json'], [a, a])).toEqual(['x/r.json', 'y/r.json']);
  });

  it('uses the grid point and replicate of point reports', () => {
    const p = (prq: number, replicate: number): ComparedReport['report'] => ({
      ...a,
      point: { index: 0, params: { 'iommu.prqEntries': prq }, replicate, seed: 1 },
    });
    expect(reportLabels(['0.json', '1.json'], [p(64, 0), p(256, 1)])).toEqual([
      'iommu.prqEntries=64 #0',
      'iommu.prqEntries=256 #1',
    ]);
  });
});

function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
