import { describe, expect, it } from 'vitest';
import { createSystem } from '../../src/index.js';
import { profilePrqEntries } from '../../src/kernel/profile.js';

describe('the kernel profile’s page request queue (spec §4.1)', () => {
  it('gives a system without iommu.prqEntries v5.8’s 128-entry queue (PRQ_ORDER 0, 4 KiB)', () => {
    const s = createSystem({ memory: { frames: 2048 }, iommu: { units: 2 } });
    for (const u of s.iommus) expect(u.prqStatus.entries).toBe(128);
    expect(s.drivers[0]!.prqFrames).toBe(1);
    expect(profilePrqEntries('v5.8')).toBe(128);
  });

  it('keeps a size the configuration gives', () => {
    const s = createSystem({ memory: { frames: 2048 }, iommu: { prqEntries: 2048 } });
    expect(s.iommu.prqStatus.entries).toBe(2048);
    expect(s.drivers[0]!.prqFrames).toBe(16);
  });

  it('answers Linux ≥ 5.19’s 2048 for a profile not implemented yet', () => {
    expect(profilePrqEntries('current')).toBe(2048);
  });
});
