import { describe, expect, it } from 'vitest';
import { pasidEntryAddress } from '../../src/engine/walk.js';
import { SVM_FLAG_SUPERVISOR_MODE, type SystemConfig } from '../../src/index.js';
import { FaultReason } from '../../src/layout/index.js';
import { smallSystem } from '../kernel/helpers.js';

async function bound(config: SystemConfig = {}) {
  const s = smallSystem(config);
  const d = s.addDevice({ rid: 0x100 });
  const p = s.createProcess();
  const h = await s.svaBindDevice(d, p);
  const pasid = s.svaGetPasid(h);
  const rw = p.mmap({ length: 1 << 16, prot: 'rw', addr: 0x1000_0000 });
  const ro = p.mmap({ length: 1 << 16, prot: 'r', addr: 0x2000_0000 });
  return { s, d, p, h, pasid, rw, ro };
}

describe('page request reception (spec §4.1)', () => {
  it('queues a request, services it and maps the page; the retry translates', async () => {
    const { s, d, p, pasid, rw } = await bound();
    expect(await d.translate({ pasid, addr: rw, write: true })).toMatchObject({
      r: false,
      w: false,
    });
    const r = await d.pageRequest({
      pasid,
      addr: rw,
      read: true,
      write: true,
      lpig: true,
      prgIndex: 7,
    });
    expect(r).toEqual({
      pasidPresent: true,
      privDataPresent: true, // v5.8 copies PP into bit 5 (spec §4.5, fixed in v5.10 by P-PDP)
      code: 0,
      rid: 0x100,
      pasid,
      prgIndex: 7,
      lpig: true,
    });
    expect(p.pageTable.lookup(rw / 4096)).toMatchObject({ write: true });
    expect(await d.translate({ pasid, addr: rw, write: true })).toMatchObject({ r: true, w: true });
    expect(s.iommu.prqStatus).toMatchObject({ head: 1, tail: 1, ppr: false, pro: false });
  });

  it('answers IR in hardware for a PASID with no entry, records 59h, and drops LPIG=0', async () => {
    const { s, d, pasid, rw } = await bound();
    const r = await d.pageRequest({
      pasid: pasid + 1,
      addr: rw,
      read: true,
      lpig: true,
      prgIndex: 1,
    });
    expect(r?.code).toBe(1);
    expect(
      await d.pageRequest({ pasid: pasid + 1, addr: rw, read: true, lpig: false, prgIndex: 2 }),
    ).toBeNull();
    expect(s.iommu.faultRecords.map((f) => f.reason)).toEqual([
      FaultReason.SPT_2,
      FaultReason.SPT_2,
    ]);
    expect(s.iommu.prqStatus.tail).toBe(0); // nothing reached the queue
    expect(s.counters.toTotals().autoResponses).toBe(1);
  });

  it('does the implicit page-selective invalidation for an accepted request', async () => {
    const { s, d, p, pasid, rw } = await bound();
    p.write(rw, new Uint8Array([1]));
    await d.translate({ pasid, addr: rw });
    expect(s.iommu.iotlb.lookup(1, pasid, rw / 4096)).toBeGreaterThanOrEqual(0);
    d.postPageRequest({ pasid, addr: rw, read: true, lpig: false, prgIndex: 0 });
    s.sim.runUntil(s.sim.nowNs + s.cost.pcieLatencyNs);
    expect(s.iommu.iotlb.lookup(1, pasid, rw / 4096)).toBe(-1);
  });

  it('overflows a full queue: PRO, hardware Success for LPIG=1, cleared once drained', async () => {
    const { s, d, pasid, rw } = await bound({ iommu: { prqEntries: 4 } }); // holds 3
    for (let i = 0; i < 6; i++)
      d.postPageRequest({ pasid, addr: rw + i * 4096, read: true, lpig: true, prgIndex: i });
    s.sim.runUntil(s.sim.nowNs + 2 * s.cost.pcieLatencyNs);
    expect(s.iommu.prqStatus).toMatchObject({ tail: 3, pro: true });
    s.sim.runUntil(s.sim.nowNs + 1_000_000);
    const t = s.counters.toTotals();
    expect(t.prqOverflows).toBe(3);
    expect(t.autoResponses).toBe(3);
    expect(t.pageResponses.success).toBe(3);
    expect(s.iommu.prqStatus).toMatchObject({ head: 3, tail: 3, pro: false });
    for (let i = 0; i < 6; i++) expect(d.takeResponse(i)?.code).toBe(0);
    expect(d.outstandingPageRequests).toBe(0);
  });

  it('clears PRO at the end of every pass, even with requests left in the queue (v5.8, spec §4.3)', async () => {
    const { s, d, pasid, rw } = await bound({ iommu: { prqEntries: 4 } }); // holds 3
    d.postPageRequest({ pasid, addr: rw, read: true, lpig: true, prgIndex: 0 });
    // run until the thread took the request: its pass snapshot is tail = 1
    while (s.prqThreads[0]!.passes === 0) s.sim.step();
    expect(s.iommu.prqStatus).toMatchObject({ head: 0, tail: 1 });
    // during the pass (handle_mm_fault takes µs) three more arrive: two fit, the third overflows
    for (let i = 1; i < 4; i++)
      d.postPageRequest({ pasid, addr: rw + i * 4096, read: true, lpig: true, prgIndex: i });
    while (s.iommu.prqStatus.head === 0) s.sim.step();
    // the pass wrote PQH = its snapshot of the tail and cleared PRO, though head != tail
    expect(s.prqThreads[0]!.passes).toBe(1);
    expect(s.iommu.prqStatus).toMatchObject({ head: 1, tail: 3, pro: false });
    expect(s.counters.toTotals().prqOverflows).toBe(1);
    // the next pass serves the two left; the overflowed one had a hardware Success
    s.sim.runUntil(s.sim.nowNs + 1_000_000);
    expect(s.iommu.prqStatus).toMatchObject({ head: 3, tail: 3, pro: false });
    expect(s.counters.toTotals()).toMatchObject({ autoResponses: 1, prqOverflows: 1 });
    expect(s.counters.toTotals().pageResponses.success).toBe(3);
  });

  it('consumes a batch and writes the head once per pass', async () => {
    const { s, d, pasid, rw } = await bound();
    for (let i = 0; i < 3; i++)
      d.postPageRequest({ pasid, addr: rw + i * 4096, read: true, lpig: true, prgIndex: i });
    const heads = new Set<number>();
    const end = s.sim.nowNs + 1_000_000;
    while (s.sim.nextEventNs <= end) {
      s.sim.step();
      heads.add(s.iommu.prqStatus.head);
    }
    expect([...heads].sort()).toEqual([0, 3]);
    expect(s.prqThreads[0]!.passes).toBe(1);
  });
});

describe('page group responses, profile v5.8 (spec §4.5)', () => {
  it("sets bit 5 (PDP) from the request's PP: the spec §4.5 example words", async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x0300 });
    const ps = [];
    for (let i = 0; i < 5; i++) ps.push(s.createProcess());
    const hs = [];
    for (const p of ps) hs.push(await s.svaBindDevice(d, p));
    expect(s.svaGetPasid(hs[4]!)).toBe(5);
    const addr = ps[4]!.mmap({ length: 1 << 16, prot: 'rw', addr: 0x1000_0000 });
    const r = await d.pageRequest({ pasid: 5, addr, read: true, lpig: true, prgIndex: 0x1a });
    expect(r).toMatchObject({ code: 0, pasidPresent: true, privDataPresent: true });
    const resp = s.iommu.invalidationLog.filter((e) => e.type === 'page-group-response');
    expect(resp).toHaveLength(1);
    // qw0 = 9h | PP<<4 | PDP<<5 | RC 0<<12 | RID 0x0300<<16 | PASID 5<<32 = 0x0000_0005_0300_0039
    // (v5.10+: …_0019); qw1 = PRGI 0x1A<<3 | LPIG<<2 = 0xD4; private data zeroed
    expect(resp[0]!.raw).toEqual([0x0000_0005_0300_0039n, 0xd4n, 0n, 0n]);
  });

  it('leaves bit 5 clear in the Response Failure to a request without PASID', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x0300 });
    const r = await d.pageRequest({ addr: 0x1000_0000, read: true, lpig: true, prgIndex: 0x1a });
    expect(r).toMatchObject({ code: 0xf, pasidPresent: false, privDataPresent: false });
    const resp = s.iommu.invalidationLog.filter((e) => e.type === 'page-group-response');
    // qw0 = 9h | RC 0xF<<12 | RID 0x0300<<16 = 0x0300_f009; qw1 = 0xD4
    expect(resp.map((e) => e.raw)).toEqual([[0x0300_f009n, 0xd4n, 0n, 0n]]);
  });
});

describe('PRQ handler checks, profile v5.8 (spec §4.3)', () => {
  it('answers INVALID outside any VMA and for an access the VMA does not allow', async () => {
    const { d, pasid, rw, ro } = await bound();
    expect(
      (await d.pageRequest({ pasid, addr: 0x5000_0000, read: true, lpig: true, prgIndex: 1 }))
        ?.code,
    ).toBe(1);
    expect(
      (await d.pageRequest({ pasid, addr: ro, write: true, lpig: true, prgIndex: 2 }))?.code,
    ).toBe(1);
    expect(
      (await d.pageRequest({ pasid, addr: ro, read: true, exec: true, lpig: true, prgIndex: 3 }))
        ?.code,
    ).toBe(1);
    expect(
      (await d.pageRequest({ pasid, addr: ro, read: true, lpig: true, prgIndex: 4 }))?.code,
    ).toBe(0);
    expect(
      (await d.pageRequest({ pasid, addr: rw, write: true, lpig: true, prgIndex: 5 }))?.code,
    ).toBe(0);
  });

  it('answers Response Failure for a request without PASID, and the function stops PRI', async () => {
    const { s, d, rw } = await bound();
    // without PASID the request is checked against the RID2PASID entry the driver programmed
    // at probe (spec §4.1): it is queued with PP=0, and v5.8 refuses it with 0xF (spec §4.3)
    const r = await d.pageRequest({ addr: rw, read: true, lpig: true, prgIndex: 1 });
    expect(r).toMatchObject({ pasidPresent: false, code: 0xf, prgIndex: 1 });
    expect(s.iommu.prqStatus).toMatchObject({ head: 1, tail: 1 });
    expect(s.iommu.faultRecords).toHaveLength(0);
    expect(s.counters.toTotals().pageResponses).toEqual({ success: 0, invalid: 0, failure: 1 });
    expect(s.counters.toTotals().autoResponses).toBe(0);
    // Response Failure: PRI is off at the function until reset (spec §4.7)
    expect(d.priActive).toBe(false);
    expect(await d.pageRequest({ addr: rw, read: true, lpig: true, prgIndex: 2 })).toBeNull();
  });

  it('queues and refuses a request without PASID before any bind: PRI is on from attach (spec §2.1.1)', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x100 });
    expect(d.enabled.pri).toBe(true);
    const r = await d.pageRequest({ addr: 0x1000_0000, read: true, lpig: true, prgIndex: 4 });
    expect(r).toMatchObject({ pasidPresent: false, code: 0xf, prgIndex: 4 });
    expect(s.iommu.prqStatus).toMatchObject({ head: 1, tail: 1 });
    expect(s.counters.toTotals()).toMatchObject({ autoResponses: 0, faultRecords: 0 });
    expect(s.counters.toTotals().pageResponses.failure).toBe(1);
    expect(d.priActive).toBe(false);
  });

  it('answers Response Failure for a PASID the allocator does not know', async () => {
    const { s, d, pasid, rw } = await bound();
    // a present entry for a PASID the kernel never allocated (a copy of the bound one, in the
    // same leaf table): hardware queues the request, ioasid_find fails
    const stray = pasid + 5;
    const u32 = s.memory.u32;
    const from = pasidEntryAddress(s.memory, s.iommu.rootTablePfn, d.rid, pasid) / 4;
    const to = pasidEntryAddress(s.memory, s.iommu.rootTablePfn, d.rid, stray) / 4;
    u32.copyWithin(to, from, from + 16);
    const r = await d.pageRequest({ pasid: stray, addr: rw, read: true, lpig: true, prgIndex: 3 });
    expect(r).toMatchObject({ pasidPresent: true, pasid: stray, code: 0xf });
    expect(s.counters.toTotals().pageResponses.failure).toBe(1);
    expect(d.priActive).toBe(false);
  });

  it('answers INVALID for a supervisor PASID', async () => {
    const { s, d, rw } = await bound();
    const sup = await s.svaBindDevice(d, null, SVM_FLAG_SUPERVISOR_MODE);
    const r = await d.pageRequest({
      pasid: s.svaGetPasid(sup),
      addr: rw,
      read: true,
      lpig: true,
      prgIndex: 2,
    });
    expect(r?.code).toBe(1);
    expect(s.counters.toTotals().pageResponses.invalid).toBe(1); // the kernel's, not the hardware's
  });

  it('services LPIG=0 requests without responding; the LPIG=1 result alone answers the group', async () => {
    const { s, d, p, pasid, rw } = await bound();
    expect(
      await d.pageRequest({ pasid, addr: rw, read: true, lpig: false, prgIndex: 8 }),
    ).toBeNull();
    expect(p.pageTable.lookup(rw / 4096)).not.toBeNull();
    // group 8: first page fine, last page outside any VMA → the response is the last one's INVALID
    const r = await d.pageRequest({
      pasid,
      addr: 0x6000_0000,
      read: true,
      lpig: true,
      prgIndex: 8,
    });
    expect(r?.code).toBe(1);
    expect(s.counters.toTotals().pageResponses).toEqual({ success: 0, invalid: 1, failure: 0 });
  });

  it('answers INVALID when the mm is defunct (mmget_not_zero fails)', async () => {
    const { s, d, p, pasid, rw } = await bound();
    d.postPageRequest({ pasid, addr: rw, read: true, lpig: true, prgIndex: 3 });
    s.sim.runUntil(s.sim.nowNs + s.cost.pcieLatencyNs + 1); // queued, not yet serviced
    expect(s.iommu.prqStatus.tail).toBe(1);
    p.exit();
    s.sim.runUntil(s.sim.nowNs + 1_000_000);
    expect(d.takeResponse(3)?.code).toBe(1);
  });

  it('discards a response for a group the device does not have outstanding', async () => {
    const { s, d, pasid, rw } = await bound();
    // a stop marker (LPIG=1, R=W=0) opens no group; v5.8 still answers it, and the device drops it
    expect(await d.pageRequest({ pasid, addr: rw, lpig: true, prgIndex: 12 })).toBeNull();
    expect(d.unexpectedResponses).toBe(1);
    expect(s.counters.toTotals().stopMarkers).toBe(1);
  });
});

describe('drain on unbind with queued requests (spec §4.6)', () => {
  it('waits for the PRQ thread to consume the PASID’s requests before the hardware drain', async () => {
    const { s, d, h, pasid, rw } = await bound();
    d.postPageRequest({ pasid, addr: rw, read: true, lpig: true, prgIndex: 1 });
    s.sim.runUntil(s.sim.nowNs + s.cost.pcieLatencyNs + 1);
    expect(s.iommu.prqStatus.tail).toBe(1);
    await s.svaUnbindDevice(h);
    expect(s.prqThreads[0]!.handled).toBe(1);
    const log = s.iommu.invalidationLog;
    const resp = log.findIndex((e) => e.type === 'page-group-response');
    const drainWait = log.findLastIndex((e) => e.type === 'wait' && e.pd);
    expect(resp).toBeGreaterThanOrEqual(0);
    expect(drainWait).toBeGreaterThan(resp);
  });
});
