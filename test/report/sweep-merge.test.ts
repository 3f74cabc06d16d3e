import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, decodeFromCompressedBase64 } from 'hdr-histogram-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUNTER_NAMES, counterOf } from '../../src/metrics/counters.js';
import { LATENCY_KINDS } from '../../src/metrics/kinds.js';
import { LATENCY_MAX_NS } from '../../src/metrics/recorder.js';
import {
  type PointReport,
  readSweepFolder,
  type SweepFolder,
} from '../../src/report/sweep-folder.js';
import { formatMergeJson, mergeSweep } from '../../src/report/sweep-merge.js';
import { parseMetric } from '../../src/report/sweep-metric.js';
import { formatMergeTable } from '../../src/report/sweep-text.js';
import { type SweepSpec, writeSweepFolder } from './sweep-fixture.js';

/** Two axes, two replicates: 8 small runs of the default scenario. */
const SPEC: SweepSpec = {
  scenario: 'default',
  overrides: { duration: '200us' },
  axes: [
    { path: 'profile', values: ['v5.8', 'current'] },
    { path: 'iommu.prqEntries', values: [64, 256] },
  ],
  seeds: 2,
};

let root: string;
let dir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'svasim-sweep-merge-'));
  dir = join(root, 'sweep');
  writeSweepFolder(dir, SPEC);
}, 120_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

function report(index: number): PointReport {
  return JSON.parse(
    readFileSync(join(dir, 'points', `${String(index).padStart(4, '0')}.json`), 'utf8'),
  ) as PointReport;
}

/** A histogram with the recorders' layout holding the sum of `encodings` (built here, not by the code under test). */
function added(encodings: readonly string[]) {
  const h = build({
    bitBucketSize: 64,
    autoResize: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: LATENCY_MAX_NS,
    numberOfSignificantValueDigits: 3,
  });
  for (const e of encodings) h.add(decodeFromCompressedBase64(e, 64, false));
  return h;
}

describe('readSweepFolder()', () => {
  it('reads the manifest and every point report', () => {
    const f = readSweepFolder(dir);
    expect(f.manifest.points).toHaveLength(8);
    expect([...f.reports.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(f.failures.size).toBe(0);
    expect(f.problems).toEqual([]);
  });

  it('refuses a folder without sweep.json with ENOENT and says what the folder should be', () => {
    const empty = join(root, 'empty');
    mkdirSync(empty, { recursive: true });
    expect(() => readSweepFolder(empty)).toThrow(
      expect.objectContaining({
        code: 'ENOENT',
        message: `${empty} has no sweep.json: it is not a sweep folder (\`svasim sweep --out ${empty}\` writes sweep.json before any point runs)`,
      }),
    );
  });

  it('refuses a missing folder (ENOENT), a file (EINVAL) and a manifest of another format (EINVAL)', () => {
    expect(() => readSweepFolder(join(root, 'nope'))).toThrow(
      expect.objectContaining({ code: 'ENOENT', message: `no folder ${join(root, 'nope')}` }),
    );
    expect(() => readSweepFolder(join(dir, 'sweep.json'))).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    const other = join(root, 'other');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'sweep.json'), '{"format":"something","version":1}');
    expect(() => readSweepFolder(other)).toThrow(
      expect.objectContaining({
        code: 'EINVAL',
        message: `${join(other, 'sweep.json')}: format is "something", expected "svasim-sweep"; it is not a manifest \`svasim sweep\` wrote`,
      }),
    );
  });
});

describe('mergeSweep()', () => {
  it('adds the replicates’ histograms exactly: counts summed, percentiles of the added histogram', () => {
    const m = mergeSweep(readSweepFolder(dir), parseMetric('prq.service.p99'));
    expect(m.grid).toHaveLength(4);
    for (const [gi, g] of m.grid.entries()) {
      const a = report(2 * gi);
      const b = report(2 * gi + 1);
      expect(g.params).toEqual(a.point.params);
      expect(g.merged.map((p) => p.index)).toEqual([2 * gi, 2 * gi + 1]);
      const f = g.figures!;
      for (const k of LATENCY_KINDS) {
        const h = added([a.histograms[k], b.histograms[k]]);
        expect(f.latency[k].count, k).toBe(a.latency[k].count + b.latency[k].count);
        expect(f.latency[k].count, k).toBe(h.totalCount);
        if (h.totalCount === 0) continue;
        expect(f.latency[k].p50, k).toBe(h.getValueAtPercentile(50));
        expect(f.latency[k].p90, k).toBe(h.getValueAtPercentile(90));
        expect(f.latency[k].p99, k).toBe(h.getValueAtPercentile(99));
        expect(f.latency[k].p999, k).toBe(h.getValueAtPercentile(99.9));
        expect(f.latency[k].max, k).toBe(h.getValueAtPercentile(100));
        expect(f.latency[k].min, k).toBe(h.getValueAtPercentile(0));
        expect(f.latency[k].mean, k).toBe(h.mean);
        // the merged encoding holds the same histogram
        const back = decodeFromCompressedBase64(f.histograms[k], 64, false);
        expect(back.totalCount, k).toBe(h.totalCount);
        expect(back.getValueAtPercentile(99), k).toBe(h.getValueAtPercentile(99));
      }
    }
    // the runs recorded something to merge
    expect(m.grid[0]!.figures!.latency['job.latency'].count).toBeGreaterThan(10);
  });

  it('sums every counter and the windows', () => {
    const m = mergeSweep(readSweepFolder(dir), parseMetric('prqOverflows'));
    const g = m.grid[3]!;
    const a = report(6);
    const b = report(7);
    for (const name of COUNTER_NAMES) {
      expect(counterOf(g.figures!.totals, name), name).toBe(
        counterOf(a.totals, name) + counterOf(b.totals, name),
      );
    }
    expect(g.figures!.windowNs).toBe(a.windowNs! + b.windowNs!);
    expect(g.figures!.runs).toBe(2);
    expect(g.figures!.totals.jobs).toBeGreaterThan(0);
  });

  it('reads the metric from the merge and from each replicate alone (the spread)', () => {
    const m = mergeSweep(readSweepFolder(dir), parseMetric('job.latency.p99'));
    const g = m.grid[1]!;
    expect(g.value).toBe(g.figures!.latency['job.latency'].p99);
    expect(g.spread).toEqual([
      { replicate: 0, seed: report(2).point.seed, value: report(2).latency['job.latency'].p99 },
      { replicate: 1, seed: report(3).point.seed, value: report(3).latency['job.latency'].p99 },
    ]);
    // a count is per run: the merged count over the replicates
    const jobs = mergeSweep(readSweepFolder(dir), parseMetric('jobs'));
    expect(jobs.grid[1]!.value).toBe((report(2).totals.jobs + report(3).totals.jobs) / 2);
    expect(jobs.grid[1]!.spread.map((s) => s.value)).toEqual([
      report(2).totals.jobs,
      report(3).totals.jobs,
    ]);
    // a rate divides the merged count by the merged windows
    const rate = mergeSweep(readSweepFolder(dir), parseMetric('jobs.perSecond'));
    expect(rate.grid[1]!.value).toBe(
      (report(2).totals.jobs + report(3).totals.jobs) /
        ((report(2).windowNs! + report(3).windowNs!) / 1e9),
    );
  });

  it('gives a single replicate its own encoding back, byte for byte, and its own summary', () => {
    const one = join(root, 'one');
    cpSync(dir, one, { recursive: true });
    rmSync(join(one, 'points', '0001.json'));
    const m = mergeSweep(readSweepFolder(one), parseMetric('prq.service.p99'));
    const r = report(0);
    for (const k of LATENCY_KINDS) {
      expect(m.grid[0]!.figures!.histograms[k], k).toBe(r.histograms[k]);
      expect(m.grid[0]!.figures!.latency[k], k).toEqual(r.latency[k]);
    }
  });
});

describe('formatMergeJson()', () => {
  it('is byte-identical whatever the wall-clock figures, runtime and file order of the reports', () => {
    const metric = parseMetric('prq.service.p99');
    const first = formatMergeJson(mergeSweep(readSweepFolder(dir), metric));

    // the same runs as another machine would report them: other wall times, thread stats,
    // runtime and key order
    const other = join(root, 'other-machine');
    cpSync(dir, other, { recursive: true });
    for (const name of readdirSync(join(other, 'points'))) {
      const file = join(other, 'points', name);
      const r = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      r.wallMs = 12345.6;
      r.windowWallMs = 999.9;
      r.eventsPerWallSecond = 1;
      r.runtime = 'threaded';
      r.threads = 7;
      r.runtimeChoice = 'auto: 7 cores';
      r.threadStats = [{ partition: 0, accelerators: 0, quanta: 1, workMs: 3, waitMs: 4 }];
      const reversed = Object.fromEntries(Object.entries(r).reverse());
      writeFileSync(file, JSON.stringify(reversed));
    }
    const second = formatMergeJson(mergeSweep(readSweepFolder(other), metric));
    expect(second).toBe(first);
    expect(first).not.toMatch(/wallMs|eventsPerWallSecond|threadStats|runtimeChoice/);

    // the same reports in another order
    const f = readSweepFolder(dir);
    const reversed: SweepFolder = { ...f, reports: new Map([...f.reports].reverse()) };
    expect(formatMergeJson(mergeSweep(reversed, metric))).toBe(first);
  });

  it('holds per grid point the merged counters, summaries, encodings and the spread', () => {
    const m = mergeSweep(readSweepFolder(dir), parseMetric('prq.service.p99'));
    const doc = JSON.parse(formatMergeJson(m));
    expect(Object.keys(doc)).toEqual([
      'format',
      'version',
      'scenario',
      'baseSeed',
      'overrides',
      'axes',
      'seeds',
      'metric',
      'points',
      'missing',
      'failed',
      'problems',
    ]);
    expect(doc.format).toBe('svasim-sweep-merge');
    expect(doc.points).toHaveLength(4);
    const p = doc.points[2];
    expect(p.params).toEqual({ profile: 'current', 'iommu.prqEntries': 64 });
    expect(p.replicates.map((r: { index: number }) => r.index)).toEqual([4, 5]);
    expect(p.metric.value).toBe(m.grid[2]!.value);
    expect(p.metric.perReplicate.map((r: { value: number }) => r.value)).toEqual([
      report(4).latency['prq.service'].p99,
      report(5).latency['prq.service'].p99,
    ]);
    expect(p.metric.min).toBe(
      Math.min(...p.metric.perReplicate.map((r: { value: number }) => r.value)),
    );
    expect(p.merged.totals.jobs).toBe(report(4).totals.jobs + report(5).totals.jobs);
    expect(p.merged.histograms['prq.service']).toBe(m.grid[2]!.figures!.histograms['prq.service']);
  });
});

describe('missing and failed points', () => {
  let partial: string;

  beforeAll(() => {
    partial = join(root, 'partial');
    // point 1 not run, 2 and 3 failed (a whole grid point), 5 not run
    writeSweepFolder(partial, {
      ...SPEC,
      axes: [{ path: 'iommu.prqEntries', values: [64, 256, 1024] }],
      fate: (p) =>
        p.index === 1 || p.index === 5
          ? 'missing'
          : p.index <= 3 && p.index >= 2
            ? 'failed'
            : 'run',
    });
    writeFileSync(join(partial, 'points', 'notes.txt'), 'x');
    writeFileSync(join(partial, 'points', '.0005.json.tmp'), '{');
  }, 120_000);

  it('lists them, merges what finished and leaves a grid point without runs empty', () => {
    const m = mergeSweep(readSweepFolder(partial), parseMetric('prq.service.p99'));
    expect(m.missing.map((p) => p.index)).toEqual([1, 5]);
    expect(m.failed.map((x) => [x.point.index, x.error.code])).toEqual([
      [2, 'EINVAL'],
      [3, 'EINVAL'],
    ]);
    expect(m.grid.map((g) => g.merged.length)).toEqual([1, 0, 1]);
    expect(m.grid[1]!.value).toBeUndefined();
    expect(m.grid[1]!.figures).toBeUndefined();
    expect(m.problems).toEqual([
      {
        file: 'points/notes.txt',
        problem: 'not a point file (<index>.json or <index>.error.json)',
      },
    ]);

    const text = formatMergeTable(m);
    expect(text.split('\n')[0]).toBe(
      'svasim merge: default, 3 grid points × 2 seeds; 2 of 6 points merged, 2 not run, 2 failed',
    );
    expect(text).toContain(
      '\nnot run yet: 2\n  points/0001  iommu.prqEntries=64, replicate 1, seed ',
    );
    expect(text).toContain('\nfailed: 2\n  points/0002  iommu.prqEntries=256, replicate 0, seed ');
    expect(text).toContain(': EINVAL: point 2: bad scenario');
    expect(text).toContain('left out: 1\n  points/notes.txt: not a point file');
    // the grid point without runs: a row of dashes
    expect(text).toMatch(/\n256 +0\/2 +- +- +- +- +- +-\n/);

    const doc = JSON.parse(formatMergeJson(m));
    expect(doc.points[1].metric).toBeNull();
    expect(doc.points[1].merged).toBeNull();
    expect(doc.points[1].failed).toEqual([2, 3]);
    expect(doc.missing.map((p: { index: number }) => p.index)).toEqual([1, 5]);
    expect(doc.failed[0].error).toEqual({
      code: 'EINVAL',
      message: 'point 2: bad scenario',
      exitStatus: 2,
    });
  });

  it('leaves out a point file that does not match the manifest, and says why', () => {
    const wrong = join(root, 'wrong');
    cpSync(partial, wrong, { recursive: true });
    const file = join(wrong, 'points', '0000.json');
    const r = JSON.parse(readFileSync(file, 'utf8'));
    r.point.seed = 1;
    writeFileSync(file, JSON.stringify(r));
    const stopped = join(wrong, 'points', '0004.json');
    writeFileSync(
      stopped,
      JSON.stringify({ ...JSON.parse(readFileSync(stopped, 'utf8')), interrupted: true }),
    );
    const f = readSweepFolder(wrong);
    expect(f.reports.has(0)).toBe(false);
    expect(f.reports.has(4)).toBe(false);
    expect(f.problems.map((p) => p.file)).toEqual([
      'points/0000.json',
      'points/0004.json',
      'points/notes.txt',
    ]);
    expect(f.problems[1]!.problem).toBe(
      'the run was stopped before the end of its window: run the point again',
    );
    // left out, not taken for points that have not run
    const m = mergeSweep(f, parseMetric('jobs'));
    expect(m.leftOut.map((p) => p.index)).toEqual([0, 4]);
    expect(m.missing.map((p) => p.index)).toEqual([1, 5]);
    expect(m.grid.map((g) => g.merged.length)).toEqual([0, 0, 0]);
    expect(formatMergeTable(m).split('\n')[0]).toBe(
      'svasim merge: default, 3 grid points × 2 seeds; 0 of 6 points merged, 2 not run, 2 failed, 2 left out',
    );
    expect(f.problems[0]!.problem).toMatch(
      /^its point .* is not point 0 of sweep\.json .*: a file of another sweep\?$/,
    );
  });
});
