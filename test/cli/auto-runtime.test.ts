import { describe, expect, it } from 'vitest';
import { AUTO_MIN_ACCELERATORS, autoRuntime, expectedSpeedup } from '../../src/cli/auto-runtime.js';
import { resolveScenario } from '../../src/scenario/index.js';

/** A scenario with `n` accelerators and `clients` clients of one small buffer each. */
const sized = (n: number, clients = n) =>
  resolveScenario({
    devices: [{ count: n }],
    clients: { count: clients, buffers: { count: 1, size: '4KiB' } },
  });

describe('autoRuntime()', () => {
  it('stays inline for the default scenario and says why', () => {
    const r = autoRuntime(resolveScenario({}), 2);
    expect(r.runtime).toBe('inline');
    expect(r.reason).toBe('auto: 8 busy accelerators, expected threaded speed-up 0.19x');
  });

  it('counts only accelerators that have clients', () => {
    expect(autoRuntime(sized(64, 4), 2).reason).toMatch(/^auto: 4 busy accelerators,/);
  });

  it('stays inline on one core whatever the scenario', () => {
    expect(autoRuntime(sized(400), 1)).toEqual({ runtime: 'inline', reason: 'auto: 1 core' });
  });

  it('picks threaded where the expected speed-up passes 1, and not before', () => {
    expect(expectedSpeedup(AUTO_MIN_ACCELERATORS - 1)).toBeLessThanOrEqual(1);
    expect(expectedSpeedup(AUTO_MIN_ACCELERATORS)).toBeGreaterThan(1);
    expect(autoRuntime(sized(AUTO_MIN_ACCELERATORS - 1), 2).runtime).toBe('inline');
    expect(autoRuntime(sized(AUTO_MIN_ACCELERATORS), 2).runtime).toBe('threaded');
    // dense-64's size is expected slower threaded, as measured
    expect(expectedSpeedup(64)).toBeLessThan(1);
  });
});
