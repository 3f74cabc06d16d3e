import { describe, expect, it } from 'vitest';
import { qiPiotlb, qiSubmitSync } from '../../src/kernel/qi.js';
import { encodeInvDesc } from '../../src/layout/index.js';
import { smallSystem } from '../kernel/helpers.js';

describe('InvalidationQueue', () => {
  it('executes in order and writes the wait status word in memory', () => {
    const s = smallSystem();
    const iommu = s.drivers[0]!;
    s.sim.runThread('t', qiSubmitSync(iommu, [qiPiotlb(1, 5, 0, -1)]));
    const log = s.iommu.invalidationLog;
    expect(log.map((e) => e.type)).toEqual(['piotlb', 'wait']);
    expect(s.iommu.qi.head).toBe(2);
    expect(iommu.qi.freeHead).toBe(2);
    // the status slot was written QI_DONE (2) by hardware, then freed (0) by the kernel
    expect(s.memory.u32[iommu.qi.statusPfn * 1024 + 1]).toBe(0);
  });

  it('raises IQE on reserved bits; qi_submit_sync fails with EINVAL and the queue recovers', () => {
    const s = smallSystem();
    const iommu = s.drivers[0]!;
    const bad = encodeInvDesc(qiPiotlb(1, 5, 0, -1));
    bad[0] = bad[0]! | (1n << 12n); // bits 15:12 are reserved in a P_IOTLB descriptor
    expect(() => s.sim.runThread('bad', qiSubmitSync(iommu, [bad]))).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(s.iommu.qi.iqe).toBe(false);
    s.sim.runUntil(Number.MAX_SAFE_INTEGER);
    // the bad slot was replaced by the wait descriptor, which executed
    expect(s.iommu.invalidationLog.map((e) => e.type)).toEqual(['wait', 'wait']);
    s.sim.runThread(
      'good',
      qiSubmitSync(iommu, [encodeInvDesc({ type: 'pasid-cache', g: 1, did: 1, pasid: 5 })]),
    );
    expect(s.iommu.invalidationLog.map((e) => e.type)).toEqual([
      'wait',
      'wait',
      'pasid-cache',
      'wait',
    ]);
  });

  it('wraps around the 256-slot ring', () => {
    const s = smallSystem();
    const iommu = s.drivers[0]!;
    for (let i = 0; i < 300; i++)
      s.sim.runThread('t', qiSubmitSync(iommu, [qiPiotlb(1, i + 1, 0, -1)]));
    expect(s.iommu.invalidationLog).toHaveLength(600);
    expect(s.iommu.qi.head).toBe(600 % 256);
  });
});
