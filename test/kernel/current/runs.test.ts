import { describe, expect, it } from 'vitest';
import { runScenario } from '../../../src/machine/run.js';
import { runScenarioThreaded } from '../../../src/runtime/threaded.js';
import { presetNames, presets } from '../../../src/scenario/index.js';

// Profile `current` leaves nothing stale (spec §10.4): every preset ends without violations,
// with no kernel staleness to excuse, and the threaded runtime reproduces the inline run.
describe('profile current: preset runs', () => {
  it.each(presetNames())('%s: no invariant violation, binds balance', (name) => {
    // gpu-own-faults moves hundreds of MiB per simulated ms: 2 ms of it cover every path
    const duration = name === 'gpu-own-faults' ? '2ms' : presets[name]!.scenario.duration;
    const r = runScenario({ ...presets[name]!.scenario, profile: 'current', duration });
    expect(r.invariants.violations).toEqual([]);
    expect(r.invariants.checked).toBeGreaterThan(0);
    expect(r.runTotals!.binds).toBeGreaterThan(0);
    expect(r.runTotals!.binds).toBe(r.runTotals!.unbinds);
  });

  it('default: the threaded run equals the inline run', async () => {
    const sc = { ...presets.default!.scenario, profile: 'current' as const };
    const inline = runScenario(sc);
    const threaded = await runScenarioThreaded(sc, { threads: 2, onWarning: () => {} });
    expect(threaded.invariants.violations).toEqual([]);
    expect(threaded.totals).toEqual(inline.totals);
    expect(threaded.devices).toEqual(inline.devices);
    expect(threaded.histograms).toEqual(inline.histograms);
    expect(threaded.simulatedNs).toBe(inline.simulatedNs);
  });
});
