import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/machine/run.js';
import {
  defaultScenario,
  presetNames,
  presets,
  resolveScenario,
} from '../../src/scenario/index.js';

describe('presets', () => {
  it('are the eight named scenarios, each with a description', () => {
    expect(presetNames()).toEqual([
      'default',
      'dsa-like',
      'iaa-like',
      'gpu-far-faults',
      'gpu-own-faults',
      'fault-storm',
      'churn',
      'dense-64',
    ]);
    for (const name of presetNames()) {
      expect(presets[name]!.description.length, name).toBeGreaterThan(40);
      expect(presets[name]!.scenario.name, name).toBe(name);
    }
  });

  it.each(presetNames())('%s resolves', (name) => {
    const s = resolveScenario(presets[name]!.scenario);
    expect(s.name).toBe(name);
  });

  it('default is the default scenario', () => {
    expect(resolveScenario(presets.default!.scenario)).toEqual(defaultScenario);
  });

  it('are frozen, so a caller cannot change them for everyone', () => {
    expect(Object.isFrozen(presets)).toBe(true);
    expect(Object.isFrozen(presets['fault-storm']!.scenario.iommu)).toBe(true);
  });

  it('model the device classes they are named after', () => {
    const dsa = resolveScenario(presets['dsa-like']!.scenario).devices[0]!;
    expect([dsa.count, dsa.engines, dsa.workQueue.depth]).toEqual([4, 4, 64]);
    const iaa = resolveScenario(presets['iaa-like']!.scenario).devices[0]!;
    expect([iaa.count, iaa.engines, iaa.workQueue.depth]).toEqual([4, 8, 64]);
    const gpu = resolveScenario(presets['gpu-far-faults']!.scenario);
    expect(gpu.clients.buffers.prefault).toBe('none');
    expect(gpu.clients.buffers.size).toBeGreaterThanOrEqual(64 << 20);
    const storm = resolveScenario(presets['fault-storm']!.scenario);
    const credits = storm.devices.reduce((n, g) => n + g.count * g.priCredits, 0);
    expect(credits).toBeGreaterThan(storm.iommu.prqEntries - 1);
    expect(storm.clients.buffers.prefault).toBe('none');
    const churn = resolveScenario(presets.churn!.scenario).clients.churn;
    expect(churn.enabled).toBe(true);
    expect(churn.exitWhileBound).toBeGreaterThan(0);
    const dense = resolveScenario(presets['dense-64']!.scenario);
    expect([dense.devices[0]!.count, dense.clients.count, dense.iommu.units]).toEqual([
      64, 1024, 64,
    ]);
    expect(dense.clients.buffers.prefault).toBe('src');
  });
});

// Short simulated runs (300us, then the drain to quiescence): each takes well under a second,
// dense-64 about one (most of it binding and tearing down its 1024 clients, not the 300us).
describe('presets run', () => {
  it.each(presetNames())('%s runs 300us without invariant violations', (name) => {
    const r = runScenario(resolveScenario({ ...presets[name]!.scenario, duration: '300us' }));
    expect(r.invariants.violations).toEqual([]);
    // what each preset is for, over the whole run (the 300us window and its drain)
    const all = r.runTotals!;
    expect(all.jobs).toBeGreaterThan(0);
    if (name === 'fault-storm') expect(all.prqOverflows).toBeGreaterThan(0);
    if (name === 'gpu-far-faults') expect(all.pageRequests).toBeGreaterThan(all.jobs);
    if (name === 'churn')
      expect(all.binds).toBeGreaterThan(presets.churn!.scenario.clients!.count!);
    if (name === 'dense-64') {
      // the mix it is named for: hits in both TLBs, walks, and page faults answered Success
      expect(r.totals.devtlbHits).toBeGreaterThan(0);
      expect(r.totals.iotlbHits).toBeGreaterThan(0);
      expect(r.totals.walks).toBeGreaterThan(0);
      expect(r.totals.pageResponses.success).toBeGreaterThan(0);
    }
  });
});
