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

  it('submits in arrival order when most submitters wait for room', () => {
    const s = smallSystem();
    const iommu = s.drivers[0]!;
    const n = 1000;
    for (let i = 0; i < n; i++) {
      spawn(qiSubmitSync(iommu, [qiPiotlb(1, 1 + i, 0, -1)]), (r) => {
        if (r.error !== undefined) throw r.error;
      });
    }
    s.sim.runUntil(Number.MAX_SAFE_INTEGER);
    const pasids = s.iommu.invalidationLog
      .filter((e) => e.type === 'piotlb')
      .map((e) => (e as { pasid: number }).pasid);
    expect(pasids).toEqual(Array.from({ length: n }, (_, i) => 1 + i));
  });

  it('fails a call whose descriptor cannot be encoded and lets the waiters behind it go on', () => {
    const s = smallSystem();
    const iommu = s.drivers[0]!;
    const n = 200; // the bad one waits for room, as do the good ones behind it
    const errors: unknown[] = [];
    let finished = 0;
    for (let i = 0; i < n; i++) {
      const pasid = i === 150 ? 1 << 20 : 10 + i; // PASIDs are 20 bits
      spawn(qiSubmitSync(iommu, [qiPiotlb(1, pasid, 0, -1)]), (r) => {
        if (r.error !== undefined) errors.push(r.error);
        else finished++;
      });
    }
    s.sim.runUntil(Number.MAX_SAFE_INTEGER);
    expect(finished).toBe(n - 1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'EINVAL' });
    const types = s.iommu.invalidationLog.map((e) => e.type);
    expect(types.filter((t) => t === 'piotlb')).toHaveLength(n - 1);
  });
});
