import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/machine/run.js';
import { runScenarioThreaded } from '../../src/runtime/threaded.js';
import { presetNames, presets, resolveScenario } from '../../src/scenario/index.js';

// Every preset, shortened to 100us of simulated time (then the drain): the threaded runtime
// gives the inline result bit for bit with 2 threads (every accelerator off the engine's
// thread) and with 3 threads and accelerators on the engine's thread too.
describe('every preset, threaded = inline', () => {
  it.each(presetNames())(
    '%s: 2 threads separate, 3 threads with the engine hosting some',
    async (name) => {
      const sc = resolveScenario({ ...presets[name]!.scenario, duration: '100us' });
      const inline = runScenario(sc);
      const accelerators = sc.devices.reduce((n, g) => n + g.count, 0);
      const mixed = Array.from({ length: accelerators }, (_, i) => i % 3);
      for (const options of [
        { threads: 2, placement: 'separate' as const },
        { threads: 3, placement: mixed },
      ]) {
        const r = await runScenarioThreaded(sc, { ...options, onWarning: () => {} });
        expect(r.invariants.violations).toEqual([]);
        expect(r.totals).toEqual(inline.totals);
        expect(r.devices).toEqual(inline.devices);
        expect(r.histograms).toEqual(inline.histograms);
        expect(r.simulatedNs).toBe(inline.simulatedNs);
        expect(r.threadStats!.reduce((n, t) => n + t.sentRecords, 0)).toBeGreaterThan(0);
      }
    },
  );
});
