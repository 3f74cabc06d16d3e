import { describe, expect, it } from 'vitest';
import {
  createSystem,
  SVM_FLAG_GUEST_MODE,
  SVM_FLAG_GUEST_PASID,
  SVM_FLAG_PRIVATE_PASID,
  SVM_FLAG_SUPERVISOR_MODE,
} from '../../src/index.js';
import type { SvmLayer } from '../../src/kernel/v5.8/svm.js';
import { decodeContextEntry, decodePasidEntry, readQwords } from '../../src/layout/index.js';
import { expectCode, rawLog, smallSystem } from './helpers.js';

/** The decoded context entry of `d` on unit 0 of `s`. */
function contextEntry(s: ReturnType<typeof smallSystem>, d: { readonly rid: number }) {
  const addr = s.drivers[0]!.contextEntryAddress(d.rid >>> 8, d.rid & 0xff, false);
  return decodeContextEntry(readQwords(s.memory.u32, addr / 4, 4));
}

describe('svaBindDevice() error paths (spec §2.1)', () => {
  it('accepts unknown flag bits and the guest flags silently, as v5.8 does (spec §2.1 flags)', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x100 });
    const p = s.createProcess();
    const h = await s.svaBindDevice(d, p, 0);
    // only PRIVATE_PASID and SUPERVISOR_MODE are tested: a rebind with 4, 8 or 0x10 takes a
    // reference on the same bond
    for (const f of [SVM_FLAG_GUEST_MODE, SVM_FLAG_GUEST_PASID, 0x10]) {
      expect(await s.svaBindDevice(d, p, f)).toBe(h);
    }
    expect(s.svaGetPasid(h)).toBe(1);
    // a new svm made with them keeps them in svm->flags and programs the same entry as 0
    const layer = s.sva as SvmLayer;
    for (const [i, f] of [4, 8, 0x10].entries()) {
      const q = s.createProcess();
      const hq = await s.svaBindDevice(d, q, f);
      const pasid = s.svaGetPasid(hq);
      expect(pasid).toBe(2 + i);
      expect(layer.svmByPasid(pasid)!.flags).toBe(f);
      expect(layer.svmByPasid(pasid)!.mm).toBe(q);
      const e = decodePasidEntry(s.iommu.pasidEntry(d, pasid));
      expect(e).toMatchObject({ p: true, sre: false, pgtt: 1, did: 1 });
      expect(e.fsptptr).toBe(q.pgdPfn * 4096);
    }
    expect(s.sva.bindErrors).toBe(0);
    expect(s.sva.liveBonds).toBe(4);
  });

  it('rejects with EINVAL a flags value that is not a 32-bit flags word', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x100 });
    const p = s.createProcess();
    for (const f of [1.5, -1, 2 ** 32, Number.NaN, '1' as unknown as number]) {
      const err = await expectCode(s.svaBindDevice(d, p, f), 'EINVAL');
      expect(err.message).toMatch(/32-bit flags word/);
    }
    expect(s.sva.bindErrors).toBe(5);
    expect(s.iommu.invalidationLog).toHaveLength(0);
  });

  it('returns ENOTSUPP (524) when the unit is not SVM-capable (intel_svm_check, spec §2.1 step 1)', async () => {
    const noPasid = smallSystem({ iommu: { pasid: false } });
    const d0 = noPasid.addDevice({ rid: 0x100 });
    const err = await expectCode(noPasid.svaBindDevice(d0, noPasid.createProcess()), 'ENOTSUPP');
    expect(err.message).toMatch(/^ENOTSUPP: IOMMU 0 is not SVM-capable/);
    // 5-level CPU paging needs cap.FL5LP
    const la57 = smallSystem({ cpu: { la57: true }, iommu: { fl5lp: false } });
    const d1 = la57.addDevice({ rid: 0x100 });
    await expectCode(la57.svaBindDevice(d1, la57.createProcess()), 'ENOTSUPP');
    // a CPU with 1 GiB pages needs cap.FL1GP
    const gb = smallSystem({ cpu: { gbpages: true }, iommu: { fl1gp: false } });
    const d2 = gb.addDevice({ rid: 0x100 });
    const e2 = await expectCode(gb.svaBindDevice(d2, gb.createProcess()), 'ENOTSUPP');
    expect(e2.message).toMatch(/cap\.FL1GP as the CPU uses 1 GiB pages/);
    // nothing was touched: PASIDE clear, no flush, no PASID
    for (const s of [noPasid, la57, gb]) {
      expect(s.iommu.invalidationLog).toHaveLength(0);
      expect(s.sva.pasidsInUse).toBe(0);
      expect(s.sva.bindErrors).toBe(1);
    }
  });

  it('binds without cap.FL1GP when the CPU does not use 1 GiB pages; gbpages is on by default', async () => {
    const s = smallSystem({ cpu: { gbpages: false }, iommu: { fl1gp: false } });
    expect(s.gbpages).toBe(false);
    const d = s.addDevice({ rid: 0x100 });
    expect(s.svaGetPasid(await s.svaBindDevice(d, s.createProcess()))).toBe(1);
    expect(smallSystem().gbpages).toBe(true);
  });

  it('without ecap.FLTS the unit is SVM-capable and setup fails EINVAL, unwinding the bind (spec §1)', async () => {
    const s = smallSystem({ iommu: { flts: false } });
    const d = s.addDevice({ rid: 0x6a01 });
    const p = s.createProcess();
    const err = await expectCode(s.svaBindDevice(d, p), 'EINVAL');
    expect(err.message).toMatch(/ecap\.FLTS/);
    // PASIDE was set with its context-cache flush before the PASID was allocated and the
    // notifier registered; both are undone, PASIDE stays
    expect(rawLog(s.iommu.invalidationLog).map((r) => r[0])).toEqual(['context-cache', 'wait']);
    expect(contextEntry(s, d).paside).toBe(true);
    expect(s.sva.pasidsInUse).toBe(0);
    expect(s.sva.liveBonds).toBe(0);
    expect(p.mmuNotifiers).toHaveLength(0);
    expect(p.mmCountRefs).toBe(1);
    expect(s.iommu.pasidEntry(d, 1)).toEqual(Array(8).fill(0n));
  });

  it('returns EINVAL for a device without PASID capability, and leaves PASIDE clear', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x100, pasidBits: 0, ats: false, pri: false });
    await expectCode(s.svaBindDevice(d, s.createProcess()), 'EINVAL');
    expect(s.iommu.invalidationLog).toHaveLength(0);
    expect(d.enabled).toEqual({ pasid: false, ats: false, pri: false });
  });

  it('SUPERVISOR_MODE needs ecap.SRS and a null process (T-2020)', async () => {
    const noSrs = smallSystem({ iommu: { srs: false } });
    const d0 = noSrs.addDevice({ rid: 0x100 });
    await expectCode(noSrs.svaBindDevice(d0, null, SVM_FLAG_SUPERVISOR_MODE), 'EINVAL');
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x100 });
    const err = await expectCode(
      s.svaBindDevice(d, s.createProcess(), SVM_FLAG_SUPERVISOR_MODE),
      'EINVAL',
    );
    expect(err.message).toMatch(/user provided mm/);
  });

  it('a null process without SUPERVISOR_MODE binds init_mm with SRE (spec §2.1.1)', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x100 });
    const h = await s.svaBindDevice(d, null, 0);
    const pasid = s.svaGetPasid(h);
    expect(pasid).toBe(1);
    const e = decodePasidEntry(s.iommu.pasidEntry(d, pasid));
    expect(e).toMatchObject({ p: true, sre: true, pgtt: 1 });
    expect(e.fsptptr).toBe(s.initMm.pgdPfn * 4096);
    const svm = (s.sva as SvmLayer).svmByPasid(pasid)!;
    expect(svm.flags).toBe(0);
    expect(svm.mm).toBeNull();
    // the same svm as a supervisor bind of the same device (t->mm == mm, not private)
    expect(await s.svaBindDevice(d, null, SVM_FLAG_SUPERVISOR_MODE)).toBe(h);
  });

  it('a null process without SUPERVISOR_MODE and without ecap.SRS fails EINVAL in setup', async () => {
    const s = smallSystem({ iommu: { srs: false } });
    const d = s.addDevice({ rid: 0x100 });
    const err = await expectCode(s.svaBindDevice(d, null, 0), 'EINVAL');
    expect(err.message).toMatch(/ecap\.SRS/);
    expect(s.sva.pasidsInUse).toBe(0);
    expect(s.sva.liveBonds).toBe(0);
    // left non-present (P clear), with init_mm's FSPTPTR in it: v5.8 returns from the SRE
    // check without clearing the entry (spec §2.1.1)
    const entry = s.iommu.pasidEntry(d, 1);
    expect(entry[0]! & 1n).toBe(0n);
    expect(entry[2]).toBe(BigInt(s.initMm.pgdPfn) << 12n);
    expect(entry.filter((_, i) => i !== 2)).toEqual(Array(7).fill(0n));
  });

  it('a user bind needs a live process', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x100 });
    const p = s.createProcess();
    p.exit();
    await expectCode(s.svaBindDevice(d, p), 'EINVAL');
  });

  it('returns ENODEV for a device of another system', async () => {
    const a = smallSystem();
    const b = smallSystem();
    const d = b.addDevice({ rid: 0x100 });
    await expectCode(a.svaBindDevice(d, a.createProcess()), 'ENODEV');
  });

  it('returns ENOSPC when the mm PASID is beyond a narrow device (limited PASID width)', async () => {
    const s = smallSystem();
    const wide = s.addDevice({ rid: 0x100 });
    const narrow = s.addDevice({ rid: 0x200, pasidBits: 1 }); // pci_max_pasids = 2
    const p1 = s.createProcess();
    const p2 = s.createProcess();
    await s.svaBindDevice(wide, p1); // PASID 1
    const h2 = await s.svaBindDevice(wide, p2); // PASID 2
    expect(s.svaGetPasid(h2)).toBe(2);
    const err = await expectCode(s.svaBindDevice(narrow, p2), 'ENOSPC');
    expect(err.message).toMatch(/existing PASID 2/);
    // p1's PASID 1 fits the narrow device
    const h = await s.svaBindDevice(narrow, p1);
    expect(s.svaGetPasid(h)).toBe(1);
  });

  it('returns ENOSPC on PASID exhaustion and leaves nothing behind', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x100, pasidBits: 2 }); // PASIDs 1..3
    const ps = [s.createProcess(), s.createProcess(), s.createProcess(), s.createProcess()];
    for (const p of ps.slice(0, 3)) await s.svaBindDevice(d, p);
    const frames = s.memory.framesInUse;
    const logLen = s.iommu.invalidationLog.length;
    await expectCode(s.svaBindDevice(d, ps[3]!), 'ENOSPC');
    expect(s.sva.pasidsInUse).toBe(3);
    expect(ps[3]!.mmuNotifiers).toHaveLength(0);
    expect(ps[3]!.mmCountRefs).toBe(1);
    expect(s.memory.framesInUse).toBe(frames);
    expect(s.iommu.invalidationLog.length).toBe(logLen);
    expect(s.sva.liveBonds).toBe(3);
  });

  it('caps PASIDs at the unit width (intel_pasid_max_id)', async () => {
    const s = smallSystem({ iommu: { pasidBits: 2 } }); // max_pasids 4 → PASIDs 1..3
    const d = s.addDevice({ rid: 0x100 });
    for (let i = 0; i < 3; i++) await s.svaBindDevice(d, s.createProcess());
    await expectCode(s.svaBindDevice(d, s.createProcess()), 'ENOSPC');
  });

  // v5.8 setup has no present check (spec §2.1.1; EBUSY came with P-PRESENT, v5.15 cycle):
  // a present leftover entry is zeroed and rewritten, and with CM=0 no flush follows.
  it('rewrites an already present PASID entry without a flush (v5.8: no present check)', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x100 });
    const p = s.createProcess();
    // A leftover present entry for PASID 1 (the next PASID the allocator hands out):
    // P, FPD, PGTT second-stage (010b at bits 8:6) and DID 0x55 at bits 79:64.
    const { pasidGetEntry } = await import('../../src/kernel/pasid.js');
    const addr = pasidGetEntry(d.info, 1);
    s.memory.u32[addr / 4] = 0x1 | 0x2 | (2 << 6);
    s.memory.u32[addr / 4 + 2] = 0x55;
    const from = s.iommu.invalidationLog.length;
    const h = await s.svaBindDevice(d, p);
    expect(s.svaGetPasid(h)).toBe(1);
    const e = decodePasidEntry(s.iommu.pasidEntry(d, 1));
    expect(e).toMatchObject({ p: true, fpd: false, pgtt: 1, did: 1, fsptptr: p.pgdPfn * 4096 });
    // only PASIDE's context-cache flush (enablePasid); nothing for the rewritten entry
    expect(s.iommu.invalidationLog.slice(from).map((r) => r.type)).toEqual([
      'context-cache',
      'wait',
    ]);
    expect(s.sva.liveBonds).toBe(1);
  });

  it("returns EINVAL for a PASID beyond the device's PASID table (v5.8 WARN_ON(!pte))", async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x100 });
    const p = s.createProcess();
    const { pasidSetupFirstLevel } = await import('../../src/kernel/pasid.js');
    let code = 'none';
    try {
      s.sim.runThread('setup', pasidSetupFirstLevel(d.info, p.pgdPfn, d.info.pasidTableMax, 1, 0));
    } catch (e) {
      code = (e as { code?: string }).code ?? String(e);
    }
    expect(code).toBe('EINVAL');
  });

  it('leaves FSPTPTR in the non-present entry when SRE is refused (v5.8 returns without clearing)', async () => {
    const s = smallSystem({ iommu: { srs: false } });
    const d = s.addDevice({ rid: 0x100 });
    const p = s.createProcess();
    const { pasidGetEntry, pasidSetupFirstLevel, PASID_FLAG_SUPERVISOR_MODE } = await import(
      '../../src/kernel/pasid.js'
    );
    let code = 'none';
    try {
      s.sim.runThread(
        'setup',
        pasidSetupFirstLevel(d.info, p.pgdPfn, 5, 1, PASID_FLAG_SUPERVISOR_MODE),
      );
    } catch (e) {
      code = (e as { code?: string }).code ?? String(e);
    }
    expect(code).toBe('EINVAL');
    // read the entry from memory (PASIDE is still clear: the unit would not look it up)
    const dw = pasidGetEntry(d.info, 5) / 4;
    const u32 = s.memory.u32;
    const qwords = [0, 1, 2, 3, 4, 5, 6, 7].map(
      (q) => (BigInt(u32[dw + 2 * q + 1]!) << 32n) | BigInt(u32[dw + 2 * q]!),
    );
    expect(decodePasidEntry(qwords)).toMatchObject({
      p: false,
      sre: false,
      fsptptr: p.pgdPfn * 4096,
    });
  });
});

describe('svaBindDevice() bonds (spec §2.1, §2.4)', () => {
  it('returns the same handle for repeated binds; N binds need N unbinds', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x100 });
    const p = s.createProcess();
    const h1 = await s.svaBindDevice(d, p);
    const h2 = await s.svaBindDevice(d, p);
    const h3 = await s.svaBindDevice(d, p);
    expect(h2).toBe(h1);
    expect(h3).toBe(h1);
    const pasid = s.svaGetPasid(h1);
    await s.svaUnbindDevice(h1);
    await s.svaUnbindDevice(h1);
    expect(decodePasidEntry(s.iommu.pasidEntry(d, pasid)).p).toBe(true);
    await s.svaUnbindDevice(h1);
    expect(decodePasidEntry(s.iommu.pasidEntry(d, pasid)).p).toBe(false);
    await expectCode(s.svaUnbindDevice(h1), 'EINVAL');
    expect(() => s.svaGetPasid(h1)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(s.sva.pasidsInUse).toBe(0);
  });

  it('shares one PASID per mm across devices and units, one entry per device', async () => {
    const s = smallSystem({ iommu: { units: 2 } });
    const a = s.addDevice({ rid: 0x100 });
    const b = s.addDevice({ rid: 0x200, unit: 1 });
    const p = s.createProcess();
    const q = s.createProcess();
    const ha = await s.svaBindDevice(a, p);
    const hq = await s.svaBindDevice(a, q);
    const hb = await s.svaBindDevice(b, p);
    expect(hb).not.toBe(ha);
    expect(s.svaGetPasid(ha)).toBe(1);
    expect(s.svaGetPasid(hq)).toBe(2);
    expect(s.svaGetPasid(hb)).toBe(1);
    const ea = decodePasidEntry(s.iommus[0]!.pasidEntry(a, 1));
    const eb = decodePasidEntry(s.iommus[1]!.pasidEntry(b, 1));
    expect(ea.fsptptr).toBe(p.pgdPfn * 4096);
    expect(eb.fsptptr).toBe(p.pgdPfn * 4096);
    expect(s.iommus[1]!.pasidEntry(a, 1)).toEqual(Array(8).fill(0n));
  });

  it('PRIVATE_PASID allocates a fresh PASID that later binds never reuse', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x100 });
    const p = s.createProcess();
    const priv1 = await s.svaBindDevice(d, p, SVM_FLAG_PRIVATE_PASID);
    const priv2 = await s.svaBindDevice(d, p, SVM_FLAG_PRIVATE_PASID);
    const shared = await s.svaBindDevice(d, p);
    const again = await s.svaBindDevice(d, p);
    expect([s.svaGetPasid(priv1), s.svaGetPasid(priv2), s.svaGetPasid(shared)]).toEqual([1, 2, 3]);
    expect(priv2).not.toBe(priv1);
    expect(again).toBe(shared);
  });

  it('programs the first-level entry per spec §3.2', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x100 });
    const p = s.createProcess();
    const h = await s.svaBindDevice(d, p);
    const raw = s.iommu.pasidEntry(d, s.svaGetPasid(h));
    const e = decodePasidEntry(raw);
    expect(e).toMatchObject({
      p: true,
      fpd: false,
      pgtt: 1,
      did: 1,
      pwsnp: true,
      sre: false,
      fspm: 0,
    });
    expect(e.fsptptr).toBe(p.pgdPfn * 4096);
    // qw0 = P | AW(3)<<2 | PGTT(1)<<6 = 0x1 | 0xc | 0x40 = 0x4d; qw1 = DID 1 | PWSNP (bit 87 → qw1 bit 23)
    expect(raw[0]).toBe(0x4dn);
    expect(raw[1]).toBe(0x80_0001n);
    expect(raw[2]).toBe(BigInt(p.pgdPfn) << 12n);
    expect(raw.slice(3)).toEqual([0n, 0n, 0n, 0n, 0n]);
  });

  it('programs FSPM = 5-level with cpu.la57', async () => {
    const s = smallSystem({ cpu: { la57: true } });
    const d = s.addDevice({ rid: 0x100 });
    const p = s.createProcess();
    const h = await s.svaBindDevice(d, p);
    expect(p.levels).toBe(5);
    expect(decodePasidEntry(s.iommu.pasidEntry(d, s.svaGetPasid(h))).fspm).toBe(1);
  });

  it('supervisor binds point at init_mm with SRE and share one PASID', async () => {
    const s = smallSystem();
    const a = s.addDevice({ rid: 0x100 });
    const b = s.addDevice({ rid: 0x200 });
    const h1 = await s.svaBindDevice(a, null, SVM_FLAG_SUPERVISOR_MODE);
    const h2 = await s.svaBindDevice(a, null, SVM_FLAG_SUPERVISOR_MODE);
    const h3 = await s.svaBindDevice(b, null, SVM_FLAG_SUPERVISOR_MODE);
    expect(h2).toBe(h1);
    expect(s.svaGetPasid(h3)).toBe(s.svaGetPasid(h1));
    const e = decodePasidEntry(s.iommu.pasidEntry(a, s.svaGetPasid(h1)));
    expect(e.sre).toBe(true);
    expect(e.fsptptr).toBe(s.initMm.pgdPfn * 4096);
    expect(s.initMm.mmuNotifiers).toHaveLength(0); // no notifier for supervisor binds
  });

  it('sets PASIDE with one device-selective context-cache flush on the first bind only', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x6a01 });
    await s.svaBindDevice(d, s.createProcess());
    await s.svaBindDevice(d, s.createProcess());
    const cc = s.iommu.invalidationLog.filter((e) => e.type === 'context-cache');
    expect(cc).toHaveLength(1);
    // qw0 = type 1 | G(3)<<4 | DID(2)<<16 | SID(0x6a01)<<32 = 0x6a01_0002_0031
    expect(cc[0]!.raw[0]).toBe(0x6a01_0002_0031n);
    expect(d.enabled).toEqual({ pasid: true, ats: true, pri: true });
  });

  it('gives the same PASIDs, entries and logs for the same calls', async () => {
    const run = async () => {
      const s = createSystem({ memory: { frames: 2048 } });
      const a = s.addDevice({ rid: 0x100 });
      const b = s.addDevice({ rid: 0x200 });
      const ps = [s.createProcess(), s.createProcess(), s.createProcess()];
      const hs = [];
      for (const [i, p] of ps.entries()) hs.push(await s.svaBindDevice(i % 2 ? b : a, p));
      hs.push(await s.svaBindDevice(b, ps[0]!, SVM_FLAG_PRIVATE_PASID));
      const buf = ps[0]!.mmap({ length: 1 << 16, prot: 'rw' });
      ps[0]!.write(buf, new Uint8Array(1 << 16));
      ps[0]!.munmap(buf, 1 << 15);
      ps[1]!.exit();
      const pasids = hs.map((h) => s.svaGetPasid(h));
      for (const h of hs) await s.svaUnbindDevice(h);
      return {
        pasids,
        log: s.iommu.invalidationLog.map((e) => e.raw.join(',')),
        frames: s.memory.framesInUse,
      };
    };
    expect(await run()).toEqual(await run());
  });
});

describe('function enables at attach, profile v5.8 (spec §2.1.1, iommu_enable_dev_iotlb)', () => {
  it('enables PASID, PRI (32 requests) and ATS when the device is added, before any bind', () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x100 });
    expect(d.enabled).toEqual({ pasid: true, ats: true, pri: true });
    expect(d.functionState.priAllocation).toBe(32);
    expect(d.info).toMatchObject({
      pasidEnabled: true,
      priEnabled: true,
      atsEnabled: true,
      atsQdep: 32,
      priAllocation: 32,
    });
    // PASIDE waits for the first bind; DTE and PRE are set at attach
    expect(contextEntry(s, d)).toMatchObject({ p: true, paside: false, dte: true, pre: true });
    expect(s.iommu.invalidationLog).toHaveLength(0);
  });

  it('the first bind only sets PASIDE, with its device-selective context-cache flush', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x100 });
    await s.svaBindDevice(d, s.createProcess());
    expect(rawLog(s.iommu.invalidationLog).map((r) => r[0])).toEqual(['context-cache', 'wait']);
    expect(contextEntry(s, d).paside).toBe(true);
    expect(d.enabled).toEqual({ pasid: true, ats: true, pri: true });
    expect(d.functionState.priAllocation).toBe(32);
  });

  it('leaves PRI off on a function with PASID that lacks "PRG Response PASID Required"', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x100, prgRespPasidRequired: false });
    expect(d.enabled).toEqual({ pasid: true, ats: true, pri: false });
    expect(d.functionState.priAllocation).toBe(0);
    expect(contextEntry(s, d).pre).toBe(true); // PRE follows PRI support, not its enable
    const h = await s.svaBindDevice(d, s.createProcess());
    expect(d.enabled.pri).toBe(false);
    // no PRI, no drain at unbind: teardown flushes only
    const from = s.iommu.invalidationLog.length;
    await s.svaUnbindDevice(h);
    expect(
      rawLog(s.iommu.invalidationLog, from)
        .map((r) => r[0])
        .filter((t) => t !== 'wait'),
    ).toEqual(['pasid-cache', 'piotlb', 'devtlb']);
  });

  it('enables PRI without the PASID-required bit when PASID is not enabled', () => {
    // no PASID capability on the function
    const s = smallSystem();
    const a = s.addDevice({ rid: 0x100, pasidBits: 0, prgRespPasidRequired: false });
    expect(a.enabled).toEqual({ pasid: false, ats: true, pri: true });
    // a unit without ecap.PASID: info->pasid_supported stays 0
    const n = smallSystem({ iommu: { pasid: false } });
    const b = n.addDevice({ rid: 0x100, prgRespPasidRequired: false });
    expect(b.enabled).toEqual({ pasid: false, ats: true, pri: true });
  });

  it('rejects a prgRespPasidRequired that is not a boolean', () => {
    const s = smallSystem();
    expect(() =>
      s.addDevice({ rid: 0x100, prgRespPasidRequired: 1 as unknown as boolean }),
    ).toThrow(
      expect.objectContaining({
        code: 'EINVAL',
        message: expect.stringMatching(/prgRespPasidRequired must be a boolean/),
      }),
    );
  });
});
