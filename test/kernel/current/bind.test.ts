import { describe, expect, it } from 'vitest';
import { expectCode, rawLog, smallSystem } from '../helpers.js';

// Profile `current` (spec §10.1): iommu_sva_bind_device(dev, mm), the PASID owned by the mm.
function sys(config: Parameters<typeof smallSystem>[0] = {}) {
  return smallSystem({ profile: 'current', ...config });
}

function statusAddr(s: ReturnType<typeof sys>, slot: number): string {
  return (s.drivers[0]!.qi.statusPfn * 4096 + slot * 4).toString(16);
}

describe('profile current: bind (spec §10.1)', () => {
  it('takes no flags and has no supervisor SVA: EINVAL', async () => {
    const s = sys();
    const d = s.addDevice({ rid: 0x100 });
    const p = s.createProcess();
    await expectCode(s.svaBindDevice(d, p, 1), 'EINVAL');
    await expectCode(s.svaBindDevice(d, null), 'EINVAL');
    expect(s.sva.pasidsInUse).toBe(0);
    expect(s.sva.bindErrors).toBe(2);
  });

  it('programs P, PGTT first-stage, DID 1, FSPTPTR = pgd; a present entry is EBUSY', async () => {
    const s = sys();
    const d = s.addDevice({ rid: 0x100 });
    const p = s.createProcess();
    const h = await s.svaBindDevice(d, p);
    expect(s.svaGetPasid(h)).toBe(1);
    const e = s.iommu.pasidEntry(d, 1);
    // qw0: P (bit 0), PGTT 001b at 8:6; FSPTPTR at 191:140 (qw2 63:12) = pgd
    expect(e[0]! & 0x1c1n).toBe(0x41n);
    expect(e[2]! >> 12n).toBe(BigInt(p.pgdPfn));
    expect(e[1]! & 0xffffn).toBe(1n); // DID 1
    // another mm whose PASID entry is found present: EBUSY
    const q = s.createProcess();
    const { pasidGetEntry } = await import('../../../src/kernel/pasid.js');
    s.memory.u32[pasidGetEntry(d.info, 2) / 4] = 1;
    await expectCode(s.svaBindDevice(d, q), 'EBUSY');
  });

  it('refcounts (device, mm): same handle, N binds need N unbinds; same PASID across devices', async () => {
    const s = sys();
    const a = s.addDevice({ rid: 0x100 });
    const b = s.addDevice({ rid: 0x200 });
    const p = s.createProcess();
    const h1 = await s.svaBindDevice(a, p);
    const h2 = await s.svaBindDevice(a, p);
    const hb = await s.svaBindDevice(b, p);
    expect(h2).toBe(h1);
    expect(s.svaGetPasid(hb)).toBe(1);
    expect(s.sva.liveBonds).toBe(2);
    await s.svaUnbindDevice(h1);
    expect(s.svaGetPasid(h1)).toBe(1);
    await s.svaUnbindDevice(h1);
    await expectCode(
      Promise.resolve().then(() => s.svaGetPasid(h1)),
      'EINVAL',
    );
    await s.svaUnbindDevice(hb);
    expect(s.sva.liveBonds).toBe(0);
    expect(p.mmuNotifiers).toHaveLength(0);
  });

  it('keeps the PASID with the mm: full unbind keeps it, rebind returns it, mm free releases it', async () => {
    const s = sys();
    const d = s.addDevice({ rid: 0x100 });
    const p = s.createProcess();
    const q = s.createProcess();
    const h = await s.svaBindDevice(d, p);
    await s.svaUnbindDevice(h);
    expect(s.sva.pasidsInUse).toBe(1);
    // another mm does not get PASID 1
    expect(s.svaGetPasid(await s.svaBindDevice(d, q))).toBe(2);
    const h2 = await s.svaBindDevice(d, p);
    expect(s.svaGetPasid(h2)).toBe(1);
    await s.svaUnbindDevice(h2);
    expect(p.mmCountRefs).toBe(1);
    p.exit(); // __mmdrop → mm_pasid_drop
    expect(s.sva.pasidsInUse).toBe(1);
    expect(s.sva.pasidBinding(1)).toBeUndefined();
    const r = s.createProcess();
    expect(s.svaGetPasid(await s.svaBindDevice(d, r))).toBe(1);
  });

  it('frees the PASID only when the last bond of an exited mm goes (the notifier holds the mm)', async () => {
    const s = sys();
    const d = s.addDevice({ rid: 0x100 });
    const p = s.createProcess();
    const h = await s.svaBindDevice(d, p);
    p.exit();
    expect(s.sva.pasidsInUse).toBe(1);
    await s.svaUnbindDevice(h);
    expect(s.sva.pasidsInUse).toBe(0);
  });

  it('EOVERFLOW for an mm whose PASID is beyond the device, bonds untouched; ENOSPC on exhaustion', async () => {
    const s = sys();
    const wide = s.addDevice({ rid: 0x100 });
    const narrow = s.addDevice({ rid: 0x200, pasidBits: 1 }); // max_pasids 2: PASID 1 only
    const p = s.createProcess();
    const q = s.createProcess();
    await s.svaBindDevice(wide, p); // PASID 1
    const hq = await s.svaBindDevice(wide, q); // PASID 2
    await expectCode(s.svaBindDevice(narrow, q), 'EOVERFLOW');
    expect(s.svaGetPasid(hq)).toBe(2);
    expect(s.sva.liveBonds).toBe(2);
    // a new mm on the narrow device: [1, 1] is taken
    await expectCode(s.svaBindDevice(narrow, s.createProcess()), 'ENOSPC');
    expect(s.sva.pasidsInUse).toBe(2);
  });

  it('a function without ATS is refused EINVAL (intel_iommu_sva_supported, spec §2.3)', async () => {
    const s = sys();
    const d = s.addDevice({ rid: 0x100, ats: false, pri: false });
    const e = await expectCode(s.svaBindDevice(d, s.createProcess()), 'EINVAL');
    expect(e.message).toContain('needs PASID and ATS enabled');
  });

  it('no PASID capability: a new mm ENOSPC, an mm with a PASID EOVERFLOW', async () => {
    const s = sys();
    const d = s.addDevice({ rid: 0x100 });
    const none = s.addDevice({ rid: 0x200, pasidBits: 0, ats: false, pri: false });
    const p = s.createProcess();
    await expectCode(s.svaBindDevice(none, p), 'ENOSPC');
    await s.svaBindDevice(d, p);
    await expectCode(s.svaBindDevice(none, p), 'EOVERFLOW');
  });
});

describe('profile current: unbind teardown and mm exit (spec §10.4, §3.3, §4.6)', () => {
  it('unbind: PASID-cache DID 1, PASID-selective P_IOTLB, full-range type 8h, then the drain', async () => {
    const s = sys({ iommu: { dit: true } });
    const d = s.addDevice({ rid: 0x6a01 }); // default domain DID 2
    const p = s.createProcess();
    const h = await s.svaBindDevice(d, p);
    const from = s.iommu.invalidationLog.length;
    await s.svaUnbindDevice(h);
    expect(rawLog(s.iommu.invalidationLog, from)).toEqual([
      ['pasid-cache', '100010017', '0'],
      ['wait', '200000025', statusAddr(s, 1)],
      ['piotlb', '100010026', '0'],
      ['wait', '200000025', statusAddr(s, 3)],
      // type 8h: SID 0x6a01 at 31:16, PASID 1 at 51:32, PFSID[3:0]=1 at 15:12,
      // PFSID[15:4] at 63:52; qw1 = 0x7FFF_FFFF_FFFF_F000 | S (bit 11)
      ['pdevtlb', '6a0000016a011008', '7ffffffffffff800'],
      ['wait', '200000025', statusAddr(s, 5)],
      // drain: fence wait, P_IOTLB with the RID domain's DID 2, full-range type 8h, SW|PD wait
      ['wait', '200000045', '0'],
      ['piotlb', '100020026', '0'],
      ['pdevtlb', '6a0000016a011008', '7ffffffffffff800'],
      ['wait', '2000000a5', statusAddr(s, 9)],
    ]);
    expect(s.iommu.pasidEntry(d, 1)).toEqual(Array(8).fill(0n));
  });

  it('no drain for a function without PRI (iopf_refcount 0)', async () => {
    const s = sys();
    const d = s.addDevice({ rid: 0x100, pri: false });
    const h = await s.svaBindDevice(d, s.createProcess());
    const from = s.iommu.invalidationLog.length;
    await s.svaUnbindDevice(h);
    const log = rawLog(s.iommu.invalidationLog, from).filter((r) => r[0] !== 'wait');
    expect(log.map((r) => r[0])).toEqual(['pasid-cache', 'piotlb', 'pdevtlb']);
  });

  it('mm exit: FPD-only entry, same flushes, no drain; a later unbind zeroes it and drains only', async () => {
    const s = sys();
    const d = s.addDevice({ rid: 0x100 });
    const p = s.createProcess();
    const h = await s.svaBindDevice(d, p);
    const from = s.iommu.invalidationLog.length;
    p.exit();
    expect(rawLog(s.iommu.invalidationLog, from).filter((r) => r[0] !== 'wait')).toEqual([
      ['pasid-cache', '100010017', '0'],
      ['piotlb', '100010026', '0'],
      ['pdevtlb', '101000008', '7ffffffffffff800'],
    ]);
    expect(s.iommu.pasidEntry(d, 1)).toEqual([2n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]);
    const at = s.iommu.invalidationLog.length;
    await s.svaUnbindDevice(h);
    // the drain only (default domain DID 2)
    expect(rawLog(s.iommu.invalidationLog, at).filter((r) => r[0] !== 'wait')).toEqual([
      ['piotlb', '100020026', '0'],
      ['pdevtlb', '101000008', '7ffffffffffff800'],
    ]);
    expect(s.iommu.pasidEntry(d, 1)).toEqual(Array(8).fill(0n));
  });

  it('repeats the hardware drain while PRS.PRO is set (spec §4.6 step 5)', async () => {
    const s = sys();
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

  it('the PRQ thread clears PRO only once the queue is empty (spec §10.3)', async () => {
    const s = sys();
    await s.svaBindDevice(s.addDevice({ rid: 0x100 }), s.createProcess());
    const prq = s.iommu.prq;
    const { encodePageRequest, writeQwords } = await import('../../../src/layout/index.js');
    const post = () => {
      writeQwords(
        s.memory.u32,
        prq.slotAddress(prq.tail) / 4,
        encodePageRequest({
          pasidPresent: true,
          rid: 0x100,
          pasid: 1,
          rdReq: true,
          wrReq: false,
          lpig: false,
          prgIndex: 0,
          addr: 0x1000,
        }),
      );
      prq.tail = (prq.tail + 1) % prq.entries;
    };
    prq.pro = true;
    post();
    s.drivers[0]!.unit.onPrqEvent();
    // a second request arrives while the pass handles the first: after the pass the queue
    // is not empty, so PRO stays
    s.sim.call(1, 0, post);
    s.sim.runUntil(s.sim.nowNs + 1_000_000);
    expect(prq.head).not.toBe(prq.tail);
    expect(prq.pro).toBe(true);
    // the next pass empties the queue and clears PRO
    s.drivers[0]!.unit.onPrqEvent();
    s.sim.runUntil(s.sim.nowNs + 1_000_000);
    expect(prq.head).toBe(prq.tail);
    expect(prq.pro).toBe(false);
  });

  it("the drain waits for queued requests of the function's RID and PASID only (v6.13)", async () => {
    const { encodePageRequest, writeQwords } = await import('../../../src/layout/index.js');
    for (const [rid, waits] of [
      [0x200, false],
      [0x100, true],
    ] as const) {
      const s = sys();
      const h = await s.svaBindDevice(s.addDevice({ rid: 0x100 }), s.createProcess());
      const prq = s.iommu.prq;
      // queued, not consumed: no PRQ thread pass runs
      writeQwords(
        s.memory.u32,
        prq.slotAddress(prq.tail) / 4,
        encodePageRequest({
          pasidPresent: true,
          rid,
          pasid: 1,
          rdReq: true,
          wrReq: false,
          lpig: true,
          prgIndex: 0,
          addr: 0x1000,
        }),
      );
      prq.tail = (prq.tail + 1) % prq.entries;
      if (waits) await expect(s.svaUnbindDevice(h)).rejects.toThrow(/deadlock/);
      else await s.svaUnbindDevice(h);
    }
  });
});
