import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFromCompressedBase64, type Histogram, HistogramLogReader } from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/machine/run.js';
import { LATENCY_KINDS } from '../../src/metrics/kinds.js';
import {
  formatHlog,
  formatPercentileDistribution,
  hgrmPath,
  type ReportWithIntervals,
  writeHlog,
} from '../../src/report/hlog.js';
import { smallReport } from './fixture.js';

/** Every interval histogram of a log, read back with HdrHistogram's own reader. */
function readLog(log: string): Histogram[] {
  const reader = new HistogramLogReader(log, 64, false);
  const out: Histogram[] = [];
  for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) {
    out.push(h);
  }
  return out;
}

function intervalLines(log: string): string[][] {
  return log
    .split('\n')
    .filter((l) => l.startsWith('Tag='))
    .map((l) => l.split(','));
}

describe('interval histograms of a run', () => {
  it('cut the window into intervals a reader sees one by one, adding up to the window', async () => {
    const sc = { duration: '250us', devices: [{ count: 3 }] };
    const r = runScenario(sc, { warmupNs: 20_000, hlogIntervalNs: 100_000 });
    const iv = r.intervalHistograms!;
    // 20–120, 120–220, 220–270 us: contiguous, the last one shorter
    expect(iv.map((x) => [x.startNs, x.endNs])).toEqual([
      [20_000, 120_000],
      [120_000, 220_000],
      [220_000, 270_000],
    ]);
    const hs = readLog(formatHlog(r));
    const jobs = hs.filter((h) => h.tag === 'job.latency');
    expect(jobs).toHaveLength(3);
    expect(jobs.map((h) => Math.round(h.startTimeStampMsec * 1000))).toEqual([20, 120, 220]);
    expect(jobs.reduce((n, h) => n + h.totalCount, 0)).toBe(r.latency['job.latency'].count);
    // the threaded runtime cuts the same intervals with the same values
    const { runScenarioThreaded } = await import('../../src/runtime/threaded.js');
    const t = await runScenarioThreaded(sc, { warmupNs: 20_000, hlogIntervalNs: 100_000 });
    expect(t.intervalHistograms).toEqual(iv);
  });
});

describe('formatHlog()', () => {
  it('writes the HistogramLogWriter header: version, start time, legend, unit comment', () => {
    const log = formatHlog(smallReport(), { startTimeMs: 1_700_000_000_123 });
    const lines = log.split('\n');
    expect(lines).toContain('#[Histogram log format version 1.3]');
    expect(lines).toContain(
      '#[StartTime: 1700000000.123 (seconds since epoch), 2023-11-14T22:13:20.123Z]',
    );
    expect(lines).toContain('#[BaseTime: 1700000000.123 (seconds since epoch)]');
    expect(lines).toContain(
      '"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"',
    );
    expect(log).toMatch(/^#\[Values are modelled ns; Interval_Max in us \(value \/ 1000\)/m);
  });

  it('reads back through HistogramLogReader with every kind’s count and max of the report', () => {
    const r = smallReport();
    const log = formatHlog(r);
    const hs = readLog(log);
    const kinds = LATENCY_KINDS.filter((k) => r.latency[k].count > 0);
    expect(kinds.length).toBeGreaterThan(0);
    expect(hs.map((h) => h.tag)).toEqual(kinds);
    for (const h of hs) {
      const s = r.latency[h.tag as (typeof kinds)[number]];
      expect(h.totalCount, h.tag).toBe(s.count);
      expect(h.maxValue, h.tag).toBe(s.max);
      expect(h.startTimeStampMsec).toBe(0);
      expect(h.endTimeStampMsec).toBeCloseTo(r.simulatedNs / 1e6, 6);
    }
    // the columns: one interval [0, simulatedNs] in seconds, max in µs, the report's encoding
    for (const [tag, start, length, max, base64] of intervalLines(log)) {
      const kind = tag!.slice('Tag='.length) as (typeof kinds)[number];
      expect(start).toBe('0.000000000');
      expect(Number(length)).toBe(r.simulatedNs / 1e9);
      expect(max).toBe((r.latency[kind].max / 1000).toFixed(3));
      expect(base64).toBe(r.histograms[kind]);
    }
  });

  it('is the same text for the same report', () => {
    expect(formatHlog(smallReport())).toBe(formatHlog(smallReport()));
  });

  it('writes one line per interval per kind from intervalHistograms, empty where a kind had none', () => {
    const a = smallReport();
    const b = runScenario({ duration: '300us', seed: 2 });
    const { 'unbind.drain': _gone, ...bWithoutDrain } = b.histograms;
    const r: ReportWithIntervals = {
      ...a,
      intervalHistograms: [
        { startNs: 1_000_000, endNs: 2_500_000, histograms: bWithoutDrain },
        { startNs: 0, endNs: 1_000_000, histograms: a.histograms },
      ],
    };
    const log = formatHlog(r);
    const lines = intervalLines(log);
    const kinds = LATENCY_KINDS.filter((k) => a.latency[k].count > 0 || b.latency[k].count > 0);
    expect(lines).toHaveLength(2 * kinds.length);
    // intervals in time order
    expect(lines.slice(0, kinds.length).every((l) => l[1] === '0.000000000')).toBe(true);
    expect(lines.slice(kinds.length).every((l) => l[1] === '0.001000000')).toBe(true);
    expect(lines.slice(kinds.length).every((l) => l[2] === '0.001500000')).toBe(true);
    // merged per tag, the log holds both runs' values; unbind.drain only the first interval's
    const merged = new Map<string, { count: number; max: number }>();
    for (const h of readLog(log)) {
      const m = merged.get(h.tag) ?? { count: 0, max: 0 };
      merged.set(h.tag, { count: m.count + h.totalCount, max: Math.max(m.max, h.maxValue) });
    }
    for (const k of kinds) {
      const bCount = k === 'unbind.drain' ? 0 : b.latency[k].count;
      const bMax = k === 'unbind.drain' ? 0 : b.latency[k].max;
      expect(merged.get(k), k).toEqual({
        count: a.latency[k].count + bCount,
        max: Math.max(a.latency[k].max, bMax),
      });
    }
    const drainLater = lines.find((l) => l[0] === 'Tag=unbind.drain' && l[1] === '0.001000000');
    expect(drainLater?.[3]).toBe('0.000');
    expect(decodeFromCompressedBase64(drainLater![4]!, 64, false).totalCount).toBe(0);
  });
});

describe('formatPercentileDistribution()', () => {
  it('is HdrHistogram’s .hgrm text in µs with the kind’s count and max', () => {
    const r = smallReport();
    const text = formatPercentileDistribution(r, 'job.latency');
    expect(text.split('\n')[0]).toBe('       Value     Percentile TotalCount 1/(1-Percentile)');
    const s = r.latency['job.latency'];
    const m = /#\[Max\s+=\s+([\d.]+), Total count\s+=\s+(\d+)\]/.exec(text);
    expect(Number(m?.[1])).toBe(Number((s.max / 1000).toFixed(3)));
    expect(Number(m?.[2])).toBe(s.count);
  });
});

describe('writeHlog()', () => {
  it('writes the log and one .hgrm per kind with data beside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'svasim-hlog-'));
    try {
      const r = smallReport();
      const file = join(dir, 'run.hlog');
      const written = await writeHlog(file, r);
      const kinds = LATENCY_KINDS.filter((k) => r.latency[k].count > 0);
      expect(written).toEqual([file, ...kinds.map((k) => join(dir, `run.${k}.hgrm`))]);
      expect(readFileSync(file, 'utf8')).toBe(formatHlog(r));
      for (const k of kinds) {
        expect(readFileSync(hgrmPath(file, k), 'utf8')).toBe(formatPercentileDistribution(r, k));
      }
      expect(existsSync(join(dir, 'run.hgrm'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names .hgrm files after the log minus its extension', () => {
    expect(hgrmPath('/x/a.b/run.hlog', 'iommu.walk')).toBe('/x/a.b/run.iommu.walk.hgrm');
    expect(hgrmPath('/x/a.b/run', 'iommu.walk')).toBe('/x/a.b/run.iommu.walk.hgrm');
  });
});
