import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/machine/run.js';
import { small } from './scenarios.js';

describe('runScenario() (inline runtime)', () => {
  it('gives identical counters and histogram encodings for the same seed', () => {
    const a = runScenario(small());
    const b = runScenario(small());
    expect(a.totals).toEqual(b.totals);
    expect(a.histograms).toEqual(b.histograms);
    expect(a.devices).toEqual(b.devices);
    expect(a.simulatedNs).toBe(b.simulatedNs);
    expect(a.totals.jobs).toBeGreaterThan(0);
    expect(a.totals.binds).toBeGreaterThan(6); // churn replaced clients
    const c = runScenario(small({ seed: 4 }));
    expect(c.histograms).not.toEqual(a.histograms);
  });

  it('reports every DESIGN §7 name', () => {
    const r = runScenario(small());
    expect(Object.keys(r)).toEqual(
      expect.arrayContaining([
        'version',
        'scenario',
        'seed',
        'profile',
        'runtime',
        'threads',
        'simulatedNs',
        'wallMs',
        'eventsPerWallSecond',
        'totals',
        'latency',
        'devices',
        'invariants',
      ]),
    );
    expect(Object.keys(r.latency).sort()).toEqual(
      [
        'ats.translate',
        'inv.devtlb',
        'inv.iotlb',
        'iommu.walk',
        'job.latency',
        'pri.roundtrip',
        'prq.service',
        'unbind.drain',
      ].sort(),
    );
    expect(r.devices).toHaveLength(2);
    expect(r.devices[0]!.jobs + r.devices[1]!.jobs).toBe(r.totals.jobs);
    expect(r.latency['unbind.drain'].count).toBeGreaterThan(0);
    expect(r.latency['prq.service'].count).toBe(
      r.totals.pageResponses.success + r.totals.pageResponses.invalid,
    );
  });

  it.each([
    [
      'churn with exits while bound',
      small({
        clients: {
          count: 6,
          buffers: { count: 2, size: '64KiB' },
          churn: { bindLifetime: '60us', exitWhileBound: 1 },
        },
      }),
    ],
    [
      'munmap of a buffer with jobs in flight',
      small({
        clients: {
          count: 6,
          buffers: { count: 2, size: '64KiB' },
          churn: { bindLifetime: '60us', munmapFraction: 1, mprotectFraction: 0 },
        },
      }),
    ],
    [
      'mprotect to read-only',
      small({
        clients: {
          count: 6,
          buffers: { count: 2, size: '64KiB' },
          churn: { bindLifetime: '60us', munmapFraction: 0, mprotectFraction: 1 },
        },
      }),
    ],
    [
      'no block-on-fault (client touches pages and resubmits)',
      small({ devices: [{ count: 2, blockOnFault: false }] }),
    ],
    [
      'devices without ATS (untranslated DMA)',
      small({
        devices: [{ count: 2, ats: false, pri: false }],
        clients: { count: 4, buffers: { count: 2, size: '64KiB', prefault: 'all' } },
      }),
    ],
    [
      'fill, zipf, open loop',
      small({ workload: { op: 'fill', pattern: 'zipf', arrival: { openLoop: { rate: '2M/s' } } } }),
    ],
    [
      'compare, strided, no churn',
      small({
        workload: { op: 'compare', pattern: 'strided' },
        clients: { count: 4, buffers: { count: 2, size: '64KiB' }, churn: { enabled: false } },
      }),
    ],
    ['a PRQ of 8 entries that overflows', small({ iommu: { prqEntries: 8 } })],
  ])('%s: runs to the end with no invariant violation', (_name, scenario) => {
    const r = runScenario(scenario);
    expect(r.invariants.violations).toEqual([]);
    expect(r.invariants.checked).toBeGreaterThan(0);
    expect(r.totals.jobs).toBeGreaterThan(0);
    expect(r.runTotals!.binds).toBe(r.runTotals!.unbinds);
  });

  it('fails the jobs whose pages disappear under them', () => {
    const r = runScenario(
      small({
        clients: {
          count: 6,
          buffers: { count: 2, size: '64KiB' },
          churn: { bindLifetime: '60us', munmapFraction: 1, mprotectFraction: 0 },
        },
      }),
    );
    expect(r.totals.pageResponses.invalid + r.totals.jobsFailed).toBeGreaterThan(0);
  });

  it('overflows a small PRQ: auto responses and no lost group', () => {
    const r = runScenario(
      small({
        iommu: { prqEntries: 4 },
        devices: [{ count: 2, engines: 8, workQueue: { depth: 16 } }],
        workload: { arrival: { closedLoop: { queueDepth: 8 } } },
      }),
    );
    expect(r.invariants.violations).toEqual([]);
    expect(r.totals.prqOverflows).toBeGreaterThan(0);
    expect(r.totals.autoResponses).toBeGreaterThan(0);
  });
});

describe('frames freed by munmap while devices still hold translations', () => {
  it('are reused only after the IOMMU flush: no device write lands in a recycled frame', () => {
    // Before frames were held until the notifier flush completed, seed 5 of this scenario
    // had a device write a client's fill pattern into a frame reused as a page table.
    for (const seed of [5, 6]) {
      const r = runScenario({
        seed,
        duration: '400us',
        devices: [{ count: 2, engines: 4, workQueue: { depth: 16 }, devtlb: { entries: 64 } }],
        clients: {
          count: 8,
          buffers: { count: 2, size: '64KiB', prefault: 'all' },
          churn: { bindLifetime: '40us', munmapFraction: 1, mprotectFraction: 0 },
        },
        workload: { arrival: { closedLoop: { queueDepth: 8 } } },
        memory: { frames: 16384 },
      });
      expect(r.invariants.violations).toEqual([]);
    }
  });
});

describe('stop markers (spec §4.7; v5.8 quirk of §4.3)', () => {
  it('a device stops each PASID with a marker; v5.8 answers it and the device discards the answer', () => {
    let devices: { stopMarkerResponses: number; unexpectedResponses: number }[] = [];
    const r = runScenario(small(), { onSystem: (s) => (devices = s.devices) });
    const all = r.runTotals!; // stop markers come with unbinds, most of them in the drain
    expect(all.stopMarkers).toBe(all.binds); // one per client lifetime
    expect(all.pageResponses.invalid).toBeGreaterThanOrEqual(all.stopMarkers);
    expect(devices.reduce((n, d) => n + d.stopMarkerResponses, 0)).toBe(all.stopMarkers);
    expect(devices.every((d) => d.unexpectedResponses === 0)).toBe(true);
    expect(r.invariants.violations).toEqual([]);
  });

  it('checks every untranslated DMA too when asked (checkUntranslatedDma), without changing the run', () => {
    const sc = small({
      devices: [{ count: 2, ats: false, pri: false }],
      clients: { count: 4, buffers: { count: 2, size: '64KiB', prefault: 'all' } },
    });
    const plain = runScenario(sc);
    const all = runScenario(sc, { checkUntranslatedDma: true });
    // each untranslated DMA is one translation at the unit; each one allowed is one more check
    const t = all.runTotals!;
    expect(t.translations - t.dmaErrors).toBeGreaterThan(100);
    expect(all.invariants.checked - plain.invariants.checked).toBe(t.translations - t.dmaErrors);
    expect(all.invariants.violations).toEqual([]);
    expect(all.runTotals).toEqual(plain.runTotals);
  });
});
