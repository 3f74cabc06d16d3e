import { describe, expect, it } from 'vitest';
import { decodePasidEntry } from '../../src/layout/index.js';
import { rawLog, smallSystem } from './helpers.js';

// Status words live in the frame after the two frames of the invalidation queue; the wait
// descriptor of a submission at slot i writes to statusPfn * 4096 + i * 4.
function statusAddr(s: ReturnType<typeof smallSystem>, slot: number): string {
  return (s.drivers[0]!.qi.statusPfn * 4096 + slot * 4).toString(16);
}

describe('svaUnbindDevice() teardown and drain (spec §3.3, §4.6, profile v5.8)', () => {
  it('submits PASID-cache, P_IOTLB, non-PASID DEVTLB, then the drain batch', async () => {
    const s = smallSystem({ iommu: { dit: true } }); // ecap.DIT: PFSID = the function (spec §7.4)
    const d = s.addDevice({ rid: 0x6a01 }); // default domain DID 2
    const p = s.createProcess();
    const h = await s.svaBindDevice(d, p); // slots 0-1: context-cache + wait
    const from = s.iommu.invalidationLog.length;
    await s.svaUnbindDevice(h);
    expect(rawLog(s.iommu.invalidationLog, from)).toEqual([
      // PASID-cache (7h), G=01b PASID-selective: 0x7 | 1<<4 | DID 1<<16 | PASID 1<<32
      ['pasid-cache', '100010017', '0'],
      // wait (5h) SW=bit5, status data QI_DONE=2 in 63:32
      ['wait', '200000025', statusAddr(s, 3)],
      // P_IOTLB (6h), G=10b PASID-selective: 0x6 | 2<<4 | DID 1<<16 | PASID 1<<32
      ['piotlb', '100010026', '0'],
      ['wait', '200000025', statusAddr(s, 5)],
      // DEVTLB (3h) non-PASID, full range: PFSID[3:0]=1 at 15:12, SID 0x6a01 at 47:32,
      // PFSID[15:4]=0x6a0 at 63:52; qw1 = 0x7FFF_FFFF_FFFF_F000 | S (bit 0)
      ['devtlb', '6a006a0100001003', '7ffffffffffff001'],
      ['wait', '200000025', statusAddr(s, 7)],
      // drain: wait with FN (bit 6), no SW; P_IOTLB with the default domain's DID 2;
      // P_DEVTLB (8h) SID at 31:16, PASID at 51:32, qw1 = 0 (v5.8 memset)
      ['wait', '200000045', '0'],
      ['piotlb', '100020026', '0'],
      ['pdevtlb', '6a0000016a011008', '0'],
      // appended wait: SW | PD (bit 7)
      ['wait', '2000000a5', statusAddr(s, 11)],
    ]);
    expect(s.iommu.pasidEntry(d, 1)).toEqual(Array(8).fill(0n));
    expect(p.mmuNotifiers).toHaveLength(0);
    expect(p.mmCountRefs).toBe(1);
  });

  // v5.8 (spec §3.3.1 step 5): iotlb_invalidation_with_pasid whatever the PGTT; the
  // domain-selective IOTLB for other PGTTs came with the present check (v5.15 cycle).
  it('flushes a second-stage entry with a PASID-selective P_IOTLB of its DID', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x6a01 });
    await s.svaBindDevice(d, s.createProcess()); // PASID 1; ATS enabled on the function
    const { pasidGetEntry, pasidTearDownEntry } = await import('../../src/kernel/pasid.js');
    // PASID 7: P, PGTT second-stage (010b at bits 8:6), DID 0x55 at bits 79:64
    const dw = pasidGetEntry(d.info, 7) / 4;
    s.memory.u32[dw] = 0x1 | (2 << 6);
    s.memory.u32[dw + 2] = 0x55;
    const from = s.iommu.invalidationLog.length;
    s.sim.runThread('teardown', pasidTearDownEntry(d.info, 7, true));
    expect(rawLog(s.iommu.invalidationLog, from).filter((r) => r[0] !== 'wait')).toEqual([
      // 0x7 | 1<<4 | DID 0x55<<16 | PASID 7<<32
      ['pasid-cache', '700550017', '0'],
      // 0x6 | 2<<4 | DID 0x55<<16 | PASID 7<<32
      ['piotlb', '700550026', '0'],
      ['devtlb', '6a0100000003', '7ffffffffffff001'],
    ]);
    // it was present: FPD-only
    expect(s.memory.u32.subarray(dw, dw + 16)).toEqual(
      Uint32Array.from({ length: 16 }, (_, i) => (i === 0 ? 2 : 0)),
    );
  });

  it('tears down an entry that was never set up: DID 0, all zero, still flushing', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x6a01 });
    await s.svaBindDevice(d, s.createProcess()); // PASID 1; ATS enabled on the function
    const { pasidGetEntry, pasidTearDownEntry } = await import('../../src/kernel/pasid.js');
    const from = s.iommu.invalidationLog.length;
    // fault_ignore on a not-present entry: no FPD (intel_pasid_clear_entry checks present)
    s.sim.runThread('teardown', pasidTearDownEntry(d.info, 9, true));
    expect(rawLog(s.iommu.invalidationLog, from).map((r) => r.slice(0, 2))).toEqual([
      ['pasid-cache', '900000017'],
      ['wait', '200000025'],
      ['piotlb', '900000026'],
      ['wait', '200000025'],
      ['devtlb', '6a0100000003'],
      ['wait', '200000025'],
    ]);
    const dw = pasidGetEntry(d.info, 9) / 4;
    expect(Array.from(s.memory.u32.subarray(dw, dw + 16))).toEqual(Array(16).fill(0));
  });

  it('writes PFSID 0 in the teardown and drain device-TLB flushes without ecap.DIT (spec §7.4)', async () => {
    const s = smallSystem(); // dit: false by default
    const d = s.addDevice({ rid: 0x6a01 });
    const h = await s.svaBindDevice(d, s.createProcess());
    const from = s.iommu.invalidationLog.length;
    await s.svaUnbindDevice(h);
    expect(d.info.pfsid).toBe(0);
    expect(
      rawLog(s.iommu.invalidationLog, from).filter((r) => r[0] === 'devtlb' || r[0] === 'pdevtlb'),
    ).toEqual([
      // 3h | SID 0x6a01 at 47:32; bits 15:12 and 63:52 (PFSID) zero
      ['devtlb', '6a0100000003', '7ffffffffffff001'],
      // 8h | SID 0x6a01 at 31:16 | PASID 1 at 51:32; PFSID zero
      ['pdevtlb', '16a010008', '0'],
    ]);
  });

  it('skips DEVTLB and drain for a function without ATS and PRI', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x100, ats: false, pri: false });
    const h = await s.svaBindDevice(d, s.createProcess());
    const from = s.iommu.invalidationLog.length;
    await s.svaUnbindDevice(h);
    expect(rawLog(s.iommu.invalidationLog, from).map((r) => r[0])).toEqual([
      'pasid-cache',
      'wait',
      'piotlb',
      'wait',
    ]);
  });

  it('with caching mode flushes after setup and skips the device-TLB flush at teardown', async () => {
    const s = smallSystem({ iommu: { cm: true } });
    const d = s.addDevice({ rid: 0x100 });
    const h = await s.svaBindDevice(d, s.createProcess());
    expect(rawLog(s.iommu.invalidationLog).map((r) => r[0])).toEqual([
      'context-cache',
      'wait',
      'pasid-cache',
      'wait',
      'piotlb',
      'wait',
    ]);
    const from = s.iommu.invalidationLog.length;
    await s.svaUnbindDevice(h);
    expect(rawLog(s.iommu.invalidationLog, from).map((r) => r[0])).toEqual([
      'pasid-cache',
      'wait',
      'piotlb',
      'wait',
      'wait',
      'piotlb',
      'pdevtlb',
      'wait',
    ]);
  });

  it('frees the PASID only when the last device unbinds', async () => {
    const s = smallSystem();
    const a = s.addDevice({ rid: 0x100 });
    const b = s.addDevice({ rid: 0x200 });
    const p = s.createProcess();
    const ha = await s.svaBindDevice(a, p);
    const hb = await s.svaBindDevice(b, p);
    await s.svaUnbindDevice(ha);
    expect(s.sva.pasidBinding(1)).toBeDefined();
    expect(decodePasidEntry(s.iommu.pasidEntry(b, 1)).p).toBe(true);
    expect(p.mmuNotifiers).toHaveLength(1);
    await s.svaUnbindDevice(hb);
    expect(s.sva.pasidBinding(1)).toBeUndefined();
    expect(p.mmuNotifiers).toHaveLength(0);
    // the PASID is handed out again
    const hc = await s.svaBindDevice(a, s.createProcess());
    expect(s.svaGetPasid(hc)).toBe(1);
  });

  it('waits for queued page requests of the PASID before draining (prq_complete)', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x100 });
    const p = s.createProcess();
    const h = await s.svaBindDevice(d, p);
    const { encodePageRequest, writeQwords } = await import('../../src/layout/index.js');
    const prq = s.iommu.prq;
    // One queued request for PASID 1 that the PRQ thread has not consumed yet.
    writeQwords(
      s.memory.u32,
      prq.slotAddress(prq.tail) / 4,
      encodePageRequest({
        pasidPresent: true,
        rid: 0x100,
        pasid: 1,
        rdReq: true,
        wrReq: false,
        lpig: true,
        prgIndex: 0,
        addr: 0x1000,
      }),
    );
    prq.tail = (prq.tail + 1) % prq.entries;
    // Without a PRQ thread the unbind cannot finish: the kernel thread waits on prq_complete.
    await expect(s.svaUnbindDevice(h)).rejects.toThrow(/deadlock/);

    // A PRQ-thread pass 1 ms later consumes the request and completes prq_complete.
    const s2 = smallSystem();
    const d2 = s2.addDevice({ rid: 0x100 });
    const h2 = await s2.svaBindDevice(d2, s2.createProcess());
    const prq2 = s2.iommu.prq;
    writeQwords(
      s2.memory.u32,
      prq2.slotAddress(prq2.tail) / 4,
      encodePageRequest({
        pasidPresent: true,
        rid: 0x100,
        pasid: 1,
        rdReq: true,
        wrReq: false,
        lpig: true,
        prgIndex: 0,
        addr: 0x1000,
      }),
    );
    prq2.tail = (prq2.tail + 1) % prq2.entries;
    s2.sim.call(1_000_000, 0, () => {
      prq2.head = prq2.tail;
      s2.drivers[0]!.prqComplete.complete();
    });
    await s2.svaUnbindDevice(h2);
    expect(s2.sim.nowNs).toBeGreaterThan(1_000_000);
    expect(
      rawLog(s2.iommu.invalidationLog)
        .slice(-4)
        .map((r) => r[0]),
    ).toEqual(['wait', 'piotlb', 'pdevtlb', 'wait']);
  });

  it('repeats the hardware drain while PRS.PRO is set (VTD 7.10 d)', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x100 });
    const h = await s.svaBindDevice(d, s.createProcess());
    const prq = s.iommu.prq;
    prq.pro = true;
    s.sim.call(1_000_000, 0, () => {
      prq.pro = false;
      s.drivers[0]!.prqComplete.complete();
    });
    const from = s.iommu.invalidationLog.length;
    await s.svaUnbindDevice(h);
    const drains = rawLog(s.iommu.invalidationLog, from).filter(
      (r) => r[0] === 'wait' && r[1] === '2000000a5',
    );
    expect(drains).toHaveLength(2);
  });
});

describe('PFSID and ecap.DIT (spec §7.4, iommu_enable_dev_iotlb)', () => {
  it('is 0 without DIT (the default) and the function’s own rid with it', () => {
    const s = smallSystem();
    expect(s.iommu.caps.dit).toBe(false);
    expect(s.addDevice({ rid: 0x6a01 }).info.pfsid).toBe(0);
    const t = smallSystem({ iommu: { dit: true } });
    expect(t.addDevice({ rid: 0x6a01 }).info.pfsid).toBe(0x6a01);
  });
});
