import { describe, expect, it } from 'vitest';
import type { CounterTotals } from '../../src/metrics/counters.js';
import type { Report } from '../../src/report/types.js';
import {
  evaluateThresholds,
  resolveScenario,
  unallowedFailures,
  unallowedFailuresMessage,
} from '../../src/scenario/index.js';

function totals(over: Partial<CounterTotals> = {}): CounterTotals {
  return {
    translations: 100,
    iotlbHits: 60,
    iotlbMisses: 40,
    devtlbHits: 0,
    devtlbMisses: 0,
    walks: 40,
    pageRequests: 12,
    pageResponses: { success: 9, invalid: 1, failure: 2 },
    autoResponses: 0,
    prqOverflows: 3,
    stopMarkers: 0,
    jobsOffered: 0,
    allocFailures: 0,
    hostileRequests: 0,
    atsTrustBreaches: 0,
    staleByKernel: 0,
    faultRecords: 0,
    dmaBytes: 4096,
    dmaErrors: 0,
    jobs: 10,
    jobsFailed: 1,
    binds: 2,
    unbinds: 2,
    bindErrors: 0,
    invalidations: 4,
    ...over,
  };
}

const latency = {
  'prq.service': {
    count: 10,
    min: 1000,
    mean: 9000,
    p50: 5000,
    p90: 20_000,
    p99: 50_000,
    p999: 60_000,
    max: 60_000,
  },
  'job.latency': { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 },
};

describe('evaluateThresholds()', () => {
  it('reads latency stats and dotted counter names, in the order given', () => {
    const s = resolveScenario({
      thresholds: {
        'prq.service.p99': '50us',
        'pageResponses.failure': 1,
        prqOverflows: 3,
        'prq.service.max': '50us',
        'job.latency.p50': 0,
      },
    });
    expect(evaluateThresholds(s.thresholds, { latency, totals: totals() })).toEqual([
      { key: 'prq.service.p99', op: '<=', limit: 50_000, actual: 50_000, ok: true },
      { key: 'pageResponses.failure', op: '<=', limit: 1, actual: 2, ok: false },
      { key: 'prqOverflows', op: '<=', limit: 3, actual: 3, ok: true },
      { key: 'prq.service.max', op: '<=', limit: 50_000, actual: 60_000, ok: false },
      { key: 'job.latency.p50', op: '<=', limit: 0, actual: 0, ok: true },
    ]);
  });

  it('bounds from below with >=, and bounds hit rates and rates over the window', () => {
    const s = resolveScenario({
      thresholds: {
        'iotlb.hitRate': '>= 50%',
        'jobs.perSecond': '>= 1M/s',
        'requests.perSecond': '<= 200k/s',
        prqOverflows: { atLeast: 1 },
        'prq.service.p99': '>= 60us',
      },
    });
    expect(s.thresholds).toEqual({
      'iotlb.hitRate': { atLeast: 0.5 },
      'jobs.perSecond': { atLeast: 1_000_000 },
      'requests.perSecond': 200_000,
      prqOverflows: { atLeast: 1 },
      'prq.service.p99': { atLeast: 60_000 },
    });
    // the resolved form resolves to itself (a report's scenario can be run again)
    expect(resolveScenario({ thresholds: s.thresholds as never }).thresholds).toEqual(s.thresholds);
    const r = { latency, totals: totals({ jobs: 500 }), windowNs: 1_000_000 };
    expect(evaluateThresholds(s.thresholds, r)).toEqual([
      { key: 'iotlb.hitRate', op: '>=', limit: 0.5, actual: 0.6, ok: true },
      { key: 'jobs.perSecond', op: '>=', limit: 1_000_000, actual: 500_000, ok: false },
      { key: 'requests.perSecond', op: '<=', limit: 200_000, actual: 112_000, ok: true },
      { key: 'prqOverflows', op: '>=', limit: 1, actual: 3, ok: true },
      { key: 'prq.service.p99', op: '>=', limit: 60_000, actual: 50_000, ok: false },
    ]);
  });

  it('fails a value only when it exceeds the limit', () => {
    const at = (n: number) =>
      evaluateThresholds({ jobsFailed: 1 }, { latency, totals: totals({ jobsFailed: n }) })[0]!.ok;
    expect(at(0)).toBe(true);
    expect(at(1)).toBe(true);
    expect(at(1.5)).toBe(false);
    expect(at(Number.NaN)).toBe(false);
  });

  it('gives no results for no thresholds', () => {
    expect(evaluateThresholds({}, { latency, totals: totals() })).toEqual([]);
  });

  it('throws EINVAL for a key the report does not hold', () => {
    for (const key of ['iommu.walk.p99', 'prq.service.p95', 'pageResponses', 'nothing']) {
      let err: (Error & { code?: string }) | undefined;
      try {
        evaluateThresholds({ [key]: 1 }, { latency, totals: totals() });
      } catch (e) {
        err = e as Error & { code?: string };
      }
      expect(err?.code, key).toBe('EINVAL');
      expect(err?.message).toContain(`threshold '${key}'`);
    }
  });

  it('accepts the run report', () => {
    // type-level: a Report is what the CLI passes
    const check = (r: Report) => evaluateThresholds({ prqOverflows: 0 }, r);
    expect(typeof check).toBe('function');
  });
});

describe('unallowedFailures()', () => {
  const causes = [
    { kind: 'bind', code: 'ENOSPC', count: 7 },
    { kind: 'pageFault', code: 'ENOMEM', count: 3 },
  ];
  const run = { totals: totals(), runTotals: totals({ bindErrors: 7, allocFailures: 10 }) };

  it('lists the failure counters above 0 over the whole run that no threshold bounds', () => {
    const list = unallowedFailures({}, { ...run, failures: { causes } });
    expect(list).toEqual([
      { key: 'bindErrors', count: 7, codes: ['ENOSPC'] },
      { key: 'allocFailures', count: 10, codes: ['ENOSPC', 'ENOMEM'] },
    ]);
    expect(unallowedFailuresMessage(list)).toBe(
      '7 binds failed (ENOSPC) and 10 allocations failed (ENOSPC, ENOMEM) in the run; ' +
        'set thresholds `bindErrors: 7, allocFailures: 10` to allow them',
    );
  });

  it('leaves a counter a threshold bounds to the threshold, whatever its limit', () => {
    const list = unallowedFailures({ bindErrors: 0 }, { ...run, failures: { causes } });
    expect(list.map((f) => f.key)).toEqual(['allocFailures']);
    expect(unallowedFailuresMessage(list)).toBe(
      '10 allocations failed (ENOSPC, ENOMEM) in the run; set a threshold `allocFailures: 10` to allow them',
    );
    expect(unallowedFailures({ bindErrors: 1000, allocFailures: 50 }, run)).toEqual([]);
  });

  it('reads the window totals when the report has no whole-run totals, and words one failure', () => {
    const list = unallowedFailures({}, { totals: totals({ allocFailures: 1 }) });
    expect(list).toEqual([{ key: 'allocFailures', count: 1, codes: [] }]);
    expect(unallowedFailuresMessage(list)).toBe(
      '1 allocation failed in the run; set a threshold `allocFailures: 1` to allow it',
    );
    expect(unallowedFailures({}, { totals: totals() })).toEqual([]);
  });
});
