import { describe, expect, it } from 'vitest';
import { qiPiotlb, qiSubmitSync } from '../../src/kernel/qi.js';
import { type KThread, spawn, type Waitable } from '../../src/sim/kthread.js';
import { smallSystem } from './helpers.js';

/** Runs `body`, counting how often it sleeps. */
function* counted(body: KThread<void>, sleeps: number[], i: number): KThread<void> {
  for (;;) {
    const r = body.next();
    if (r.done) return;
    sleeps[i]!++;
    yield r.value as Waitable;
  }
}

describe('QInval.submitSync()', () => {
  it('wakes each of many concurrent submitters only for its own status write', () => {
    const s = smallSystem();
    const iommu = s.drivers[0]!;
    const n = 60; // 120 slots: the ring (256) holds them all
    const sleeps = new Array<number>(n).fill(0);
    let finished = 0;
    for (let i = 0; i < n; i++) {
      spawn(counted(qiSubmitSync(iommu, [qiPiotlb(1, 10 + i, 0, -1)]), sleeps, i), (r) => {
        if (r.error !== undefined) throw r.error;
        finished++;
      });
    }
    s.sim.runUntil(Number.MAX_SAFE_INTEGER);
    expect(finished).toBe(n);
    // one sleep each: a submitter spinning on a shared "some status was written" event
    // would wake once for every earlier submitter's write (n(n+1)/2 sleeps in all)
    expect(sleeps.every((k) => k === 1)).toBe(true);
    expect(iommu.qi.freeHead).toBe(2 * n);
  });

  it('lets submitters that found the ring full go on once the hardware frees it', () => {
    const s = smallSystem();
    const iommu = s.drivers[0]!;
    const n = 200; // 400 slots: more than the ring holds at once
    let finished = 0;
    for (let i = 0; i < n; i++) {
      spawn(qiSubmitSync(iommu, [qiPiotlb(1, 10 + i, 0, -1)]), (r) => {
        if (r.error !== undefined) throw r.error;
        finished++;
      });
    }
    s.sim.runUntil(Number.MAX_SAFE_INTEGER);
    expect(finished).toBe(n);
    const types = s.iommu.invalidationLog.map((e) => e.type);
    expect(types.filter((t) => t === 'piotlb')).toHaveLength(n);
    expect(types.filter((t) => t === 'wait')).toHaveLength(n);
  });
});
