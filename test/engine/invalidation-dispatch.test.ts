import { describe, expect, it } from 'vitest';
import { InvalidationQueue } from '../../src/engine/invalidation-queue.js';
import { Iotlb } from '../../src/engine/iotlb.js';
import { PasidCache } from '../../src/engine/pasid-cache.js';
import { PagingStructureCache } from '../../src/engine/psc.js';
import { FirstLevelWalker } from '../../src/engine/walker.js';
import { encodeInvDesc, type InvDescInput, writeQwords } from '../../src/layout/index.js';
import { PhysicalMemory } from '../../src/mem/index.js';
import { MsgKind } from '../../src/sim/message.js';

/** A queue of 8 slots wired to real caches and fake devices, clock and timer. */
function queue() {
  const mem = new PhysicalMemory({ frames: 8 });
  const iotlb = new Iotlb();
  const pasidCache = new PasidCache();
  const psc = new PagingStructureCache();
  const walker = new FirstLevelWalker(mem, psc, 1, 10);
  const sent: string[] = [];
  /** Steps scheduled and not yet run; `scheduled` keeps every delay asked for. */
  const delays: number[] = [];
  const scheduled: number[] = [];
  const q = new InvalidationQueue(mem);
  q.attach({
    pasidCache,
    iotlb,
    psc,
    walker,
    issueNs: 3,
    cacheInvalidationNs: () => 100,
    forward: (rid, kind, _u32, _dw, now) => {
      sent.push(`${kind === MsgKind.DEVTLB_INV ? 'devtlb' : 'response'} → ${rid} at ${now}`);
      return rid === 0x100; // only this function exists
    },
    schedule: (delay) => {
      delays.push(delay);
      scheduled.push(delay);
    },
    now: () => 42,
  });
  q.setQueue(mem.allocFrame(), 8);
  /** Submits `descs` and runs the queue's steps until it goes idle. */
  const run = (...descs: InvDescInput[]) => {
    for (const d of descs) {
      writeQwords(mem.u32, q.slotAddress(q.tail) / 4, encodeInvDesc(d));
      q.writeTail((q.tail + 1) % 8);
    }
    while (delays.length > 0) {
      delays.shift();
      q.step();
    }
  };
  return { q, iotlb, pasidCache, psc, sent, delays, scheduled, run };
}

describe('InvalidationQueue dispatch (fetch → check → process per type)', () => {
  it('applies P_IOTLB page-selective to the IOTLB and, unless IH, the PSC', () => {
    const { iotlb, psc, run } = queue();
    iotlb.insert(1, 5, 0x40, '4k', 7, 1);
    psc.insert(1, 5, 2, 0x40, 9);
    run({ type: 'piotlb', g: 3, did: 1, pasid: 5, am: 0, ih: true, addr: 0x40 * 4096 });
    expect([iotlb.valid, psc.valid]).toEqual([0, 1]);
    run({ type: 'piotlb', g: 3, did: 1, pasid: 5, am: 0, ih: false, addr: 0x40 * 4096 });
    expect(psc.valid).toBe(0);
  });

  it('applies PASID-cache granularities and a device-selective context-cache invalidation', () => {
    const { pasidCache, run } = queue();
    pasidCache.insert(0x100, 5, true, false, 1, 1, false, 0, 3, true);
    pasidCache.insert(0x100, 6, true, false, 1, 1, false, 0, 3, true);
    pasidCache.insert(0x200, 5, true, false, 2, 1, false, 0, 3, true);
    run({ type: 'pasid-cache', g: 1, did: 1, pasid: 5 });
    expect(pasidCache.valid).toBe(2);
    run({ type: 'context-cache', g: 3, did: 0, sid: 0x200, fm: 0 });
    expect([pasidCache.lookup(0x100, 6) >= 0, pasidCache.lookup(0x200, 5)]).toEqual([true, -1]);
  });

  it('forwards device-TLB invalidations and responses; a wait waits for the completion', () => {
    const { q, sent, delays, run } = queue();
    run(
      { type: 'pdevtlb', qdep: 0, pfsid: 0, sid: 0x100, pasid: 5, gi: false, s: false, addr: 0 },
      { type: 'devtlb', qdep: 0, pfsid: 0, sid: 0x300, s: false, addr: 0 }, // no such function
      {
        type: 'page-group-response',
        pasidPresent: true,
        code: 0,
        rid: 0x100,
        pasid: 5,
        prgIndex: 1,
        lpig: true,
        privDataPresent: false,
      },
      { type: 'wait', sw: true, statusData: 7, statusAddr: 0 },
    );
    expect(sent).toEqual(['devtlb → 256 at 42', 'devtlb → 768 at 42', 'response → 256 at 42']);
    expect(q.head).toBe(3); // the wait holds until the device-TLB completion
    q.devtlbCompleted();
    expect([q.head, delays]).toEqual([4, []]);
    expect(q.log.map((e) => e.type)).toEqual(['pdevtlb', 'devtlb', 'page-group-response', 'wait']);
  });

  it('charges the issue time to forwarded descriptors and the cache latency to the rest', () => {
    const { scheduled, run } = queue();
    run(
      { type: 'iotlb', g: 1, did: 0, dr: false, dw: false, ih: false, am: 0, addr: 0 },
      {
        type: 'page-group-response',
        pasidPresent: true,
        code: 0,
        rid: 0x100,
        pasid: 5,
        prgIndex: 1,
        lpig: true,
        privDataPresent: false,
      },
      { type: 'iec', g: false, im: 0, iidx: 0 },
    );
    // the first step is scheduled at once, then each after the latency of the one before
    expect(scheduled).toEqual([0, 100, 3]);
  });
});
