import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/machine/run.js';
import { runScenarioThreaded } from '../../src/runtime/threaded.js';
import { small } from '../machine/scenarios.js';

// Hostile streams live with their accelerators, in device workers; their transactions cross
// to the engine only through the simulator's send, their arrivals come from the seed: the
// threaded run must equal the inline one bit for bit.
describe('threaded runtime with hostile accelerators', () => {
  const sc = small({
    devices: [
      { count: 2, workQueue: { depth: 8 } },
      { count: 2, workQueue: { depth: 8 }, adversary: { rate: '1M/s' } },
    ],
    clients: {
      count: 8,
      buffers: { count: 2, size: '64KiB' },
      churn: { bindLifetime: '80us', exitWhileBound: 0.3 },
    },
  });

  it.each([
    ['2 threads, separate', { threads: 2, placement: 'separate' as const }],
    ['3 threads, accelerators on the engine thread too', { threads: 3, placement: [0, 1, 2, 1] }],
  ])('%s: counters, devices and histograms equal the inline run', async (_name, options) => {
    const inline = runScenario(sc);
    expect(inline.totals.hostileRequests).toBeGreaterThan(100);
    expect(inline.totals.atsTrustBreaches).toBeGreaterThan(0);
    const threaded = await runScenarioThreaded(sc, { ...options, onWarning: () => {} });
    expect(threaded.runtime).toBe('threaded');
    expect(threaded.invariants.violations).toEqual([]);
    expect(inline.invariants.violations).toEqual([]);
    expect(threaded.totals).toEqual(inline.totals);
    expect(threaded.devices).toEqual(inline.devices);
    expect(threaded.histograms).toEqual(inline.histograms);
    expect(threaded.simulatedNs).toBe(inline.simulatedNs);
    expect(threaded.invariants.checked).toBe(inline.invariants.checked);
  });
});
