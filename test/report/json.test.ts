import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LATENCY_KINDS } from '../../src/metrics/kinds.js';
import { toJsonReport, writeJsonReport } from '../../src/report/json.js';
import { exhaustedReport, reportWithSeries, smallReport } from './fixture.js';

/** DESIGN §7, transcribed: top-level names in order. */
const TOP = [
  'version',
  'scenario',
  'seed',
  'profile',
  'runtime',
  'threads',
  'simulatedNs',
  // the measurement window (what totals, latency and devices cover) and the phases around it
  'warmupNs',
  'windowNs',
  'drainNs',
  'wallMs',
  'windowWallMs',
  'eventsPerWallSecond',
  'totals',
  'latency',
  'devices',
  'invariants',
  // what failed inside the run (binds, allocations)
  'failures',
  // the whole run, and what finished in the drain
  'runTotals',
  'backlog',
  'drain',
];

/** DESIGN §7 `totals`, transcribed in order (`pageResponses` is an object). */
const TOTALS = [
  'translations',
  'iotlbHits',
  'iotlbMisses',
  'devtlbHits',
  'devtlbMisses',
  'walks',
  'pageRequests',
  'pageResponses',
  'autoResponses',
  'prqOverflows',
  'stopMarkers',
  'faultRecords',
  'dmaBytes',
  'dmaErrors',
  'jobs',
  'jobsFailed',
  'binds',
  'unbinds',
  'bindErrors',
  'invalidations',
  'jobsOffered',
  'allocFailures',
  'hostileRequests',
  'atsTrustBreaches',
  'staleByKernel',
];

const STATS = ['count', 'min', 'mean', 'p50', 'p90', 'p99', 'p999', 'max'];

function expectTotals(t: Record<string, unknown>, extraFirst: string[] = []): void {
  expect(Object.keys(t)).toEqual([...extraFirst, ...TOTALS]);
  for (const k of TOTALS) {
    if (k === 'pageResponses') continue;
    expect(typeof t[k], k).toBe('number');
  }
  const pr = t.pageResponses as Record<string, unknown>;
  expect(Object.keys(pr)).toEqual(['success', 'invalid', 'failure']);
  for (const v of Object.values(pr)) expect(typeof v).toBe('number');
}

describe('toJsonReport()', () => {
  it('has every DESIGN §7 name, in §7 order, with the right type', () => {
    const r = smallReport();
    // through JSON text, as a reader of the file sees it
    const j = JSON.parse(JSON.stringify(toJsonReport(r))) as Record<string, unknown>;
    // a run's report carries its time series between the §7 names and the histograms
    expect(Object.keys(j)).toEqual([...TOP, 'series', 'histograms']);
    for (const k of [
      'version',
      'seed',
      'threads',
      'simulatedNs',
      'wallMs',
      'eventsPerWallSecond',
    ]) {
      expect(typeof j[k], k).toBe('number');
    }
    expect(typeof j.profile).toBe('string');
    expect(['inline', 'threaded']).toContain(j.runtime);
    expect(typeof j.scenario).toBe('object');
    expect((j.scenario as { name: unknown }).name).toBe(r.scenario.name);

    expectTotals(j.totals as Record<string, unknown>);

    const latency = j.latency as Record<string, Record<string, unknown>>;
    expect(Object.keys(latency)).toEqual([...LATENCY_KINDS]);
    for (const k of LATENCY_KINDS) {
      expect(Object.keys(latency[k]!), k).toEqual(STATS);
      for (const s of STATS) expect(typeof latency[k]![s], `${k}.${s}`).toBe('number');
    }

    const devices = j.devices as Record<string, unknown>[];
    expect(devices.length).toBe(r.devices.length);
    expect(devices.length).toBeGreaterThan(0);
    for (const d of devices) {
      expect(typeof d.rid).toBe('number');
      expectTotals(d, ['rid']);
    }

    const inv = j.invariants as { checked: unknown; violations: unknown };
    expect(Object.keys(inv)).toEqual(['checked', 'violations']);
    expect(typeof inv.checked).toBe('number');
    expect(Array.isArray(inv.violations)).toBe(true);

    const h = j.histograms as Record<string, unknown>;
    expect(Object.keys(h)).toEqual([...LATENCY_KINDS]);
    for (const k of LATENCY_KINDS) expect(h[k]).toBe(r.histograms[k]);
  });

  it('carries what failed inside the run: the count, the causes and the first records', () => {
    const r = exhaustedReport();
    const j = JSON.parse(JSON.stringify(toJsonReport(r))) as { failures: Record<string, unknown> };
    expect(Object.keys(j.failures)).toEqual(['count', 'causes', 'first']);
    expect(j.failures).toEqual(r.failures);
    expect(j.failures.count).toBeGreaterThan(0);
    const first = (j.failures.first as Record<string, unknown>[])[0]!;
    expect(Object.keys(first)).toEqual(['tNs', 'kind', 'code', 'message', 'client', 'pid', 'rid']);
    expect(first.kind).toBe('bind');
    expect(first.code).toBe('ENOSPC');
  });

  it('marks a failed threaded run as partial, with its missing partitions and its failure', () => {
    const failure = {
      partition: 0,
      who: "the engine's worker (partition 0)",
      cause: 'died: exit code 1',
      code: 'ERR_WORKER_EXITED',
      exitCode: 1,
      ended: ['died', 'stopped'] as const,
    };
    const r = { ...smallReport(), partial: true, missingPartitions: [0], failure };
    const j = JSON.parse(JSON.stringify(toJsonReport(r))) as Record<string, unknown>;
    expect(j).toMatchObject({ partial: true, missingPartitions: [0], failure });
    expect(Object.keys(j).indexOf('partial')).toBeLessThan(Object.keys(j).indexOf('simulatedNs'));
    expect(Object.keys(toJsonReport(smallReport()))).not.toContain('partial');
  });

  it('keeps the values of the report', () => {
    const r = smallReport();
    const j = toJsonReport(r);
    expect(j.totals).toEqual(r.totals);
    expect(j.latency).toEqual(r.latency);
    expect(j.devices).toEqual(r.devices);
    expect(j.invariants).toEqual(r.invariants);
    expect(j.simulatedNs).toBe(r.simulatedNs);
  });

  it('puts the series between invariants and histograms when the report has one', () => {
    const r = reportWithSeries();
    const j = toJsonReport(r);
    expect(Object.keys(j)).toEqual([...TOP, 'series', 'histograms']);
    expect(Object.keys(j.series!)).toEqual([
      'intervalNs',
      'tNs',
      'requests',
      'jobs',
      'prqOccupancy',
      'prqOccupancyMax',
    ]);
    expect(j.series).toEqual(r.series);
  });
});

describe('writeJsonReport()', () => {
  it('writes the document as JSON text with a final newline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'svasim-json-'));
    try {
      const file = join(dir, 'report.json');
      const r = smallReport();
      await writeJsonReport(file, r);
      const text = readFileSync(file, 'utf8');
      expect(text.endsWith('}\n')).toBe(true);
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(toJsonReport(r))));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
