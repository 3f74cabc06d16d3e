import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/machine/run.js';
import type { CounterTotals } from '../../src/metrics/counters.js';
import { runScenarioThreaded } from '../../src/runtime/threaded.js';
import { presets } from '../../src/scenario/index.js';
import { small } from './scenarios.js';

const sum = (a: CounterTotals, b: CounterTotals): Record<string, number> => ({
  jobs: a.jobs + b.jobs,
  translations: a.translations + b.translations,
  pageRequests: a.pageRequests + b.pageRequests,
  binds: a.binds + b.binds,
});

describe('the measurement window', () => {
  it('is exactly the duration; the drain is simulated and reported apart', () => {
    const r = runScenario({ ...presets['gpu-far-faults']!.scenario, duration: '2ms' });
    expect(r.windowNs).toBe(2_000_000);
    expect(r.warmupNs).toBe(0);
    expect(r.drainNs).toBe(r.simulatedNs - 2_000_000);
    expect(r.drainNs).toBeGreaterThan(0);
    // window + drain = the whole run
    const all = r.runTotals!;
    expect(sum(r.totals, r.drain!.totals)).toEqual({
      jobs: all.jobs,
      translations: all.translations,
      pageRequests: all.pageRequests,
      binds: all.binds,
    });
    expect(r.drain!.jobs).toBe(all.jobs - r.totals.jobs);
    // no series point outside the window
    expect(r.series!.tNs.every((t) => t < 2_000_000)).toBe(true);
    expect(r.invariants.violations).toEqual([]);
  });

  it('counts latencies of what completed inside it only', () => {
    const r = runScenario(
      small({
        duration: '100us',
        clients: { count: 4, buffers: { count: 2, size: '64KiB' }, churn: { enabled: false } },
      }),
    );
    // every job that completes records one latency and counts once, in the same event
    expect(r.latency['job.latency'].count).toBe(r.totals.jobs);
    expect(r.runTotals!.jobs).toBeGreaterThan(r.totals.jobs);
    // the unbinds all happen in the drain: none of their drains is in the window
    expect(r.latency['unbind.drain'].count).toBe(0);
    expect(r.runTotals!.unbinds).toBe(r.runTotals!.binds);
  });

  it('leaves a warm-up out, and the threaded runtime agrees bit for bit', async () => {
    const sc = small({ duration: '60us', devices: [{ count: 3 }] });
    const plain = runScenario(sc);
    const warm = runScenario(sc, { warmupNs: 40_000 });
    expect(warm.warmupNs).toBe(40_000);
    expect(warm.windowNs).toBe(60_000);
    expect(warm.series!.tNs.every((t) => t >= 40_000 && t < 100_000)).toBe(true);
    // the same simulation went on longer; the window is a different stretch of it
    expect(warm.simulatedNs).toBeGreaterThan(plain.simulatedNs - plain.drainNs!);
    expect(warm.latency['job.latency'].count).toBe(warm.totals.jobs);
    const threaded = await runScenarioThreaded(sc, { warmupNs: 40_000, threads: 2 });
    expect(threaded.windowNs).toBe(60_000);
    expect(threaded.totals).toEqual(warm.totals);
    expect(threaded.devices).toEqual(warm.devices);
    expect(threaded.histograms).toEqual(warm.histograms);
    expect(threaded.runTotals).toEqual(warm.runTotals);
    expect(threaded.drain).toEqual(warm.drain);
  });

  it('refuses a warm-up that is not a whole number of ns', () => {
    expect(() => runScenario(small(), { warmupNs: -1 })).toThrow(/warm-up/);
    expect(() => runScenario(small(), { warmupNs: 1.5 })).toThrow(/warm-up/);
  });
});
