import { describe, expect, it } from 'vitest';
import { buildSystem } from '../../src/machine/build.js';
import { resolveScenario } from '../../src/scenario/index.js';
import { small } from './scenarios.js';

describe('buildSystem() (iommu section)', () => {
  it('gives the units the scenario’s DIT and the profile’s PRQ size when none is written', () => {
    const sys = buildSystem(resolveScenario(small({ iommu: { units: 2, dit: true } })), {});
    for (const u of sys.iommus) {
      expect(u.caps.dit).toBe(true);
      expect(u.prqStatus.entries).toBe(128); // profile v5.8
    }
    const plain = buildSystem(resolveScenario(small({ iommu: { prqEntries: 2048 } })), {});
    expect(plain.iommu.caps.dit).toBe(false);
    expect(plain.iommu.prqStatus.entries).toBe(2048);
  });
});
