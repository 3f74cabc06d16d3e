import { describe, expect, it } from 'vitest';
import { ADVERSARY_KINDS, type AdversaryKind } from '../../src/device/adversary.js';
import { createScenarioRun } from '../../src/machine/run.js';
import { Counter } from '../../src/metrics/counters.js';
import { formatSummary } from '../../src/report/summary.js';
import type { ScenarioInput } from '../../src/scenario/types.js';

/**
 * Two honest accelerators and two hostile ones, 8 clients with fast churn (exits while bound
 * included) but no munmap or mprotect, so an honest job never fails for its own reasons.
 */
function hostile(kinds?: AdversaryKind[], over: ScenarioInput = {}): ScenarioInput {
  return {
    seed: 5,
    duration: '300us',
    devices: [
      { count: 2, workQueue: { depth: 8 } },
      {
        count: 2,
        workQueue: { depth: 8 },
        adversary: { rate: '1M/s', ...(kinds ? { kinds } : {}) },
      },
    ],
    clients: {
      count: 8,
      buffers: { count: 2, size: '64KiB' },
      churn: { bindLifetime: '80us', exitWhileBound: 0.3, munmapFraction: 0, mprotectFraction: 0 },
    },
    workload: { arrival: { closedLoop: { queueDepth: 4 } } },
    memory: { frames: 8192 },
    ...over,
  };
}

const TRANSLATED = ADVERSARY_KINDS.indexOf('translatedDma');

describe('a run with hostile accelerators (scenario devices[].adversary)', () => {
  it('keeps every invariant and the honest devices untouched; counts what the hostile ones sent and reached', () => {
    const run = createScenarioRun(hostile());
    const r = run.execute();
    expect(r.invariants.violations).toEqual([]);
    expect(run.adversaries.map((a) => a.device.rid)).toEqual([0x102, 0x103]);
    // the whole run's counters (window and drain) against what the streams themselves saw
    const all = run.sys.counters;
    const sent = run.adversaries.reduce((n, a) => n + a.stats.total, 0);
    const reached = run.adversaries.reduce((n, a) => n + a.stats.dmaOk[TRANSLATED]!, 0);
    expect(sent).toBeGreaterThan(200);
    expect(all.get(Counter.hostileRequests)).toBe(sent);
    expect(reached).toBeGreaterThan(0);
    expect(all.get(Counter.atsTrustBreaches)).toBe(reached);
    for (const a of run.adversaries) {
      const dc = run.sys.deviceCounters[a.device.index]!;
      expect(dc.get(Counter.hostileRequests)).toBe(a.stats.total);
      expect(dc.get(Counter.atsTrustBreaches)).toBe(a.stats.dmaOk[TRANSLATED]);
      expect([a.outstandingGroups, a.unexpectedResponses, a.busy]).toEqual([0, 0, false]);
    }
    // the report's totals cover the window
    expect(r.totals.hostileRequests).toBeGreaterThan(0);
    expect(r.totals.hostileRequests).toBeLessThanOrEqual(sent);
    expect(r.totals.atsTrustBreaches).toBeLessThanOrEqual(reached);
    // honest devices: nothing hostile, no fault, no UR, no failed job
    for (const d of r.devices.slice(0, 2)) {
      expect(d).toMatchObject({
        hostileRequests: 0,
        atsTrustBreaches: 0,
        faultRecords: 0,
        dmaErrors: 0,
        jobsFailed: 0,
      });
      expect(d.jobs).toBeGreaterThan(0);
    }
  });

  it('counts no ATS trust breach without translatedDma', () => {
    const kinds = ADVERSARY_KINDS.filter((k) => k !== 'translatedDma');
    const run = createScenarioRun(hostile(kinds));
    const r = run.execute();
    expect(r.invariants.violations).toEqual([]);
    expect(run.sys.counters.get(Counter.hostileRequests)).toBeGreaterThan(200);
    expect(run.sys.counters.get(Counter.atsTrustBreaches)).toBe(0);
  });

  it('a flood of LPIG=0 requests fills the shared PRQ: honest devices get hardware Success, no violation', () => {
    const run = createScenarioRun(hostile(['lpigFlood'], { iommu: { prqEntries: 16 } }));
    const r = run.execute();
    expect(r.invariants.violations).toEqual([]);
    expect(r.totals.prqOverflows).toBeGreaterThan(0);
    const honestAuto = r.devices.slice(0, 2).reduce((n, d) => n + d.autoResponses, 0);
    expect(honestAuto).toBeGreaterThan(0);
    expect(r.devices.slice(0, 2).every((d) => d.jobsFailed === 0)).toBe(true);
  });

  it('gives the same counters and histograms for the same seed', () => {
    const a = createScenarioRun(hostile()).execute();
    const b = createScenarioRun(hostile()).execute();
    expect(b.totals).toEqual(a.totals);
    expect(b.devices).toEqual(a.devices);
    expect(b.histograms).toEqual(a.histograms);
  });

  it('shows hostile requests and ATS trust breaches in the summary only when there are some', () => {
    const r = createScenarioRun(hostile()).execute();
    const text = formatSummary(r);
    expect(text).toMatch(new RegExp(`^ {2}hostile requests +${r.totals.hostileRequests}$`, 'm'));
    expect(text).toMatch(new RegExp(`^ {2}ATS trust breaches +${r.totals.atsTrustBreaches}$`, 'm'));
    const honest = createScenarioRun({ ...hostile(), devices: [{ count: 2 }] }).execute();
    expect(formatSummary(honest)).not.toMatch(/hostile requests|ATS trust breaches/);
  });
});
