import { describe, expect, it } from 'vitest';
import { buildSystem } from '../../src/machine/build.js';
import { resolveScenario } from '../../src/scenario/index.js';
import { small } from './scenarios.js';

describe('buildSystem() (iommu section)', () => {
  it('gives the units the scenario’s DIT (default false)', () => {
    const sys = buildSystem(resolveScenario(small({ iommu: { units: 2, dit: true } })), {});
    for (const u of sys.iommus) {
      expect(u.caps.dit).toBe(true);
    }
    const plain = buildSystem(resolveScenario(small()), {});
    expect(plain.iommu.caps.dit).toBe(false);
  });
});
