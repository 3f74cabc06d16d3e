import { describe, expect, it } from 'vitest';
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
  p.write(rw, new Uint8Array(4096).fill(1)); // page 0 of rw present
  p.read(ro, 1); // page 0 of ro present
  return { s, d, p, h, pasid, rw, ro };
}

describe('ATS translation requests (spec §6.1 Table 30, §4.7)', () => {
  it('returns the effective permissions and the frame of a present page', async () => {
    const { s, d, p, pasid, rw } = await bound();
    const c = await d.translate({ pasid, addr: rw + 123, write: true });
    expect(c).toMatchObject({ status: 'ok', r: true, w: true, u: true, size: 4096 });
    expect(c.addr).toBe(p.pageTable.lookup(rw / 4096)!.pfn * 4096);
    expect(s.iommu.faultRecords).toHaveLength(0);
  });

  it('reduces permissions for a read-only page (Seff), with no fault record', async () => {
    const { s, d, pasid, ro } = await bound();
    const c = await d.translate({ pasid, addr: ro, write: true });
    expect(c).toMatchObject({ status: 'ok', r: true, w: false });
    expect(s.iommu.faultRecords).toHaveLength(0);
  });

  it('answers success with R=W=0 for a missing first-stage entry or PASID entry', async () => {
    const { s, d, pasid, rw } = await bound();
    expect(await d.translate({ pasid, addr: rw + 0x3000 })).toMatchObject({
      status: 'ok',
      r: false,
      w: false,
      addr: 0,
    });
    expect(await d.translate({ pasid: pasid + 5, addr: rw })).toMatchObject({
      status: 'ok',
      r: false,
      w: false,
    });
    expect(s.iommu.faultRecords).toHaveLength(0); // recoverable: never reported
  });

  it('fails with UR when the PASID exceeds the unit width (SGN.10) or PASIDE is clear (SCT.6)', async () => {
    const { s, d } = await bound({ iommu: { pasidBits: 4 } });
    expect((await d.translate({ pasid: 20, addr: 0x1000_0000 })).status).toBe('UR');
    const other = s.addDevice({ rid: 0x200 }); // never bound: PASIDE clear in its context entry
    expect((await other.translate({ pasid: 1, addr: 0x1000_0000 })).status).toBe('UR');
  });

  it('hits the IOTLB on a repeated request and walks on the first', async () => {
    const { s, d, pasid, rw } = await bound();
    const before = s.counters.toTotals();
    const t0 = s.sim.nowNs;
    await d.translate({ pasid, addr: rw });
    const t1 = s.sim.nowNs;
    await d.translate({ pasid, addr: rw });
    const t2 = s.sim.nowNs;
    const after = s.counters.toTotals();
    expect(after.iotlbMisses - before.iotlbMisses).toBe(1);
    expect(after.iotlbHits - before.iotlbHits).toBe(1);
    expect(after.walks - before.walks).toBe(1);
    expect(t2 - t1).toBeLessThan(t1 - t0); // the hit is faster than the miss
    // round trip at an IOTLB hit: 2 × pcie + lookup
    expect(t2 - t1).toBe(2 * s.cost.pcieLatencyNs + s.cost.iotlbLookupNs);
  });
});

describe('Untranslated DMA (spec §6.1, §6.2)', () => {
  it('moves real bytes both ways', async () => {
    const { d, p, pasid, rw } = await bound();
    p.write(rw + 10, new TextEncoder().encode('cpu→dev'));
    const r = await d.dmaRead({ pasid, addr: rw + 10, length: 9 });
    expect(r.status === 'ok' && new TextDecoder().decode(r.data)).toBe('cpu→dev');
    expect(
      await d.dmaWrite({ pasid, addr: rw + 4000, data: new TextEncoder().encode('across a page') }),
    ).toEqual({
      status: 'ok',
    });
    // 96 bytes in page 0, the rest in page 1, which is not present: UR
    expect(p.read(rw + 4000, 13)).toBeDefined();
  });

  it('records 59h for a PASID whose entry is not present, with PASID and address', async () => {
    const { s, d, pasid, rw } = await bound();
    expect((await d.dmaRead({ pasid: pasid + 3, addr: rw, length: 4 })).status).toBe('UR');
    expect(s.iommu.faultRecords).toEqual([
      expect.objectContaining({
        reason: FaultReason.SPT_2,
        sid: 0x100,
        pasidPresent: true,
        pasid: pasid + 3,
        addr: rw,
        write: false,
      }),
    ]);
  });

  it('records 71h for a missing page and 85h for a write without permission', async () => {
    const { s, d, pasid, rw, ro } = await bound();
    expect((await d.dmaWrite({ pasid, addr: rw + 0x5000, data: new Uint8Array(4) })).status).toBe(
      'UR',
    );
    expect((await d.dmaWrite({ pasid, addr: ro, data: new Uint8Array(4) })).status).toBe('UR');
    expect(s.iommu.faultRecords.map((f) => [f.reason, f.write])).toEqual([
      [FaultReason.SFS_2, true],
      [FaultReason.SGN_6, true],
    ]);
  });

  it('records 5Dh for a privileged request on a PASID without SRE', async () => {
    const { s, d, pasid, rw } = await bound();
    const c = await d.translate({ pasid, addr: rw, priv: true });
    expect(c).toMatchObject({ status: 'ok', r: false });
    const sup = await s.svaBindDevice(d, null, SVM_FLAG_SUPERVISOR_MODE);
    expect(s.svaGetPasid(sup)).not.toBe(pasid);
    expect(s.iommu.faultRecords).toHaveLength(0);
  });

  it('sets PFO and drops faults when every recording register is pending', async () => {
    const { s, d, pasid, rw } = await bound({ iommu: { faultRecords: 2 } });
    // three faults inside the kernel's interrupt latency: the third finds its register pending
    for (let i = 0; i < 3; i++) await d.dmaRead({ pasid: pasid + 1, addr: rw, length: 4 });
    expect(s.iommu.faultRecords).toHaveLength(2);
    expect(s.iommu.faults.dropped).toBe(1);
    s.sim.runUntil(s.sim.nowNs + 100_000); // dmar_fault clears F, PFO, PPF
    expect(s.iommu.faults.pfo).toBe(false);
    await d.dmaRead({ pasid: pasid + 1, addr: rw, length: 4 });
    expect(s.iommu.faultRecords).toHaveLength(3);
  });
});

describe('after mm exit while bound (spec §5.2)', () => {
  it('blocks DMA without a fault record (FPD), answers ATS with R=W=0 and page requests with IR', async () => {
    const { s, d, p, pasid, rw } = await bound();
    p.exit();
    expect((await d.dmaRead({ pasid, addr: rw, length: 4 })).status).toBe('UR');
    expect(await d.translate({ pasid, addr: rw })).toMatchObject({
      status: 'ok',
      r: false,
      w: false,
    });
    const r = await d.pageRequest({ pasid, addr: rw, read: true, lpig: true, prgIndex: 9 });
    expect(r).toMatchObject({ code: 1, prgIndex: 9, pasid });
    expect(s.iommu.faultRecords).toHaveLength(0);
    expect(s.counters.toTotals().autoResponses).toBe(1);
  });
});

describe('link ordering (PCIe: completions before later invalidation requests)', () => {
  it('delivers an ATS completion delayed by a slow walk before a later device-TLB invalidation', async () => {
    const s = smallSystem({ cost: { walkLevelNs: 100_000, walkers: 1 } });
    const d = s.addDevice({ rid: 0x100 });
    const p = s.createProcess();
    const h = await s.svaBindDevice(d, p);
    const pasid = s.svaGetPasid(h);
    const buf = p.mmap({ length: 1 << 16, prot: 'rw', addr: 0x1000_0000 });
    p.write(buf, new Uint8Array(4096).fill(1));
    const { AtsReq, MsgFlag, MsgKind, MW } = await import('../../src/sim/message.js');
    const pool = s.sim.pool;
    const kinds: number[] = [];
    const orig = d.handle.bind(d);
    d.handle = (slot: number, now: number) => {
      kinds.push(pool.words[pool.base(slot)]! & 0xff);
      orig(slot, now);
    };
    // an ATS request whose walk takes ≥ 100 µs
    const slot = pool.alloc();
    const b = pool.base(slot);
    pool.words[b + MW.KIND] = MsgKind.ATS_REQ | MsgFlag.PASID;
    pool.words[b + MW.TAG] = 1;
    pool.words[b + MW.SRC] = d.id;
    pool.words[b + AtsReq.PASID] = pasid;
    pool.setWide(b + AtsReq.VPN_WIDE, buf / 4096);
    pool.words[b + AtsReq.RID] = d.rid;
    d.post(slot);
    s.sim.runUntil(s.sim.nowNs + s.cost.pcieLatencyNs + 1); // the unit has computed the completion
    p.munmap(buf, 4096); // the notifier sends a P_DEVTLB long before the completion is ready
    // v5.8's munmap notifies twice (spec §5.1.1): a P_DEVTLB from each call, both after it
    expect(kinds.filter((k) => k === MsgKind.ATS_CPL || k === MsgKind.DEVTLB_INV)).toEqual([
      MsgKind.ATS_CPL,
      MsgKind.DEVTLB_INV,
      MsgKind.DEVTLB_INV,
    ]);
  });
});
