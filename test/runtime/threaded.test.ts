import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/machine/run.js';
import { formatSummary } from '../../src/report/summary.js';
import { runScenarioThreaded } from '../../src/runtime/threaded.js';
import { small } from '../machine/scenarios.js';

describe('threaded runtime (engine side and device side in two workers)', () => {
  it.each([
    ['churn with exits while bound', small()],
    [
      'munmap with jobs in flight',
      small({
        clients: {
          count: 6,
          buffers: { count: 2, size: '64KiB' },
          churn: { bindLifetime: '60us', munmapFraction: 1, mprotectFraction: 0 },
        },
      }),
    ],
    [
      'PRQ overflow, fail-on-fault',
      small({
        iommu: { prqEntries: 4 },
        devices: [{ count: 2, engines: 8, workQueue: { depth: 16 }, blockOnFault: false }],
        workload: { arrival: { closedLoop: { queueDepth: 8 } } },
      }),
    ],
    [
      'two VT-d units, open loop',
      small({
        iommu: { units: 2 },
        devices: [{ count: 3 }],
        workload: { arrival: { openLoop: { rate: '2M/s' } } },
      }),
    ],
  ])('%s: counters and histogram encodings equal the inline run', async (_name, sc) => {
    const inline = runScenario(sc);
    const threaded = await runScenarioThreaded(sc);
    expect(threaded.runtime).toBe('threaded');
    expect(threaded.invariants.violations).toEqual([]);
    expect(threaded.totals).toEqual(inline.totals);
    expect(threaded.devices).toEqual(inline.devices);
    expect(threaded.histograms).toEqual(inline.histograms);
    expect(threaded.simulatedNs).toBe(inline.simulatedNs);
    expect(threaded.invariants.checked).toBe(inline.invariants.checked);
  });

  it.each([
    ['2 threads, separate', 2, 'separate'],
    ['3 threads, separate', 3, 'separate'],
    ['3 threads, balanced (accelerators on the engine thread too)', 3, [0, 1, 2, 0, 1, 2]],
  ] as const)('%s: equals the inline run', async (_name, threads, placement) => {
    const sc = small({ devices: [{ count: 6 }], clients: { count: 8 } });
    const inline = runScenario(sc);
    const threaded = await runScenarioThreaded(sc, { threads, placement });
    expect(threaded.threads).toBe(threads);
    expect(threaded.invariants.violations).toEqual([]);
    expect(threaded.totals).toEqual(inline.totals);
    expect(threaded.devices).toEqual(inline.devices);
    expect(threaded.histograms).toEqual(inline.histograms);
  });

  it('reports how each thread spent its wall time', async () => {
    const sc = small({ devices: [{ count: 6 }], clients: { count: 8 } });
    const r = await runScenarioThreaded(sc, { threads: 3, placement: [0, 1, 2, 1, 2, 2] });
    const stats = r.threadStats ?? [];
    expect(stats.map((s) => s.partition)).toEqual([0, 1, 2]);
    expect(stats.map((s) => s.accelerators)).toEqual([1, 2, 3]);
    // every thread crosses the same barrier rounds
    expect(new Set(stats.map((s) => s.quanta)).size).toBe(1);
    expect(stats[0]!.quanta).toBeGreaterThan(10);
    for (const s of stats) {
      expect(s.workMs).toBeGreaterThan(0);
      expect(s.waitMs).toBeGreaterThanOrEqual(0);
      expect(s.workSdUs).toBeGreaterThanOrEqual(0);
      expect(s.sentRecords).toBeGreaterThan(0);
    }
    expect(formatSummary(r)).toMatch(
      /^threads +accelerators +quanta +work +waiting +waiting share$/m,
    );
    expect(formatSummary(r)).toMatch(/^ {2}0 \(engine\) +1 +\d+ /m);
    expect(stats[0]!.quantumWorkUs).toBeUndefined();
  });

  it("keeps each quantum's work when asked, with a longer spin, and still equals the inline run", async () => {
    const sc = small({ devices: [{ count: 4 }], clients: { count: 8 } });
    const inline = runScenario(sc);
    const r = await runScenarioThreaded(sc, { threads: 2, recordQuanta: true, spinUs: 200 });
    expect(r.totals).toEqual(inline.totals);
    expect(r.histograms).toEqual(inline.histograms);
    for (const s of r.threadStats ?? []) {
      const q = s.quantumWorkUs!;
      expect(q).toHaveLength(s.quanta);
      // the first round only agrees on where to start: no work before it
      expect(q[0]).toBe(0);
      const sumMs = q.reduce((a, b) => a + b, 0) / 1000;
      expect(sumMs).toBeCloseTo(s.workMs, 0);
    }
  });

  it('64 accelerators on 3 threads, balanced: equals the inline run', async () => {
    const sc = small({
      duration: '40us',
      devices: [{ count: 64 }],
      clients: { count: 64, buffers: { count: 2, size: '16KiB' } },
    });
    const inline = runScenario(sc);
    const threaded = await runScenarioThreaded(sc, { threads: 3, placement: 'balanced' });
    expect(threaded.invariants.violations).toEqual([]);
    expect(threaded.totals).toEqual(inline.totals);
    expect(threaded.devices).toEqual(inline.devices);
    expect(threaded.histograms).toEqual(inline.histograms);
  });
});

describe('threaded runtime, postMessage data plane (the benchmark baseline)', () => {
  it('carries the same records by postMessage and gives the inline result', async () => {
    const sc = small({ devices: [{ count: 3 }] });
    const inline = runScenario(sc);
    const r = await runScenarioThreaded(sc, { threads: 3, transport: 'postMessage' });
    expect(r.invariants.violations).toEqual([]);
    expect(r.totals).toEqual(inline.totals);
    expect(r.histograms).toEqual(inline.histograms);
  });
});
