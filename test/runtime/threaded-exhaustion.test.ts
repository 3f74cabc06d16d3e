import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/machine/run.js';
import { runScenarioThreaded } from '../../src/runtime/threaded.js';
import { framesRunOut, pasidsRunOut } from '../machine/scenarios.js';

describe('threaded runtime, a scenario that runs out', () => {
  it.each([
    ['PASIDs (ENOSPC: binds fail and retry)', pasidsRunOut()],
    ['frames (ENOMEM: page faults fail their jobs)', framesRunOut()],
  ])('of %s: the same counters and failure log as the inline run', async (_name, sc) => {
    const inline = runScenario(sc);
    const threaded = await runScenarioThreaded(sc);
    expect(threaded.runtime).toBe('threaded');
    expect(threaded.invariants.violations).toEqual([]);
    expect(inline.runTotals!.allocFailures).toBeGreaterThan(0);
    expect(threaded.totals).toEqual(inline.totals);
    expect(threaded.runTotals).toEqual(inline.runTotals);
    expect(threaded.devices).toEqual(inline.devices);
    expect(threaded.failures).toEqual(inline.failures);
    expect(threaded.histograms).toEqual(inline.histograms);
    expect(threaded.simulatedNs).toBe(inline.simulatedNs);
  });
});
