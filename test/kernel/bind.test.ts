import { describe, expect, it } from 'vitest';
import {
  createSystem,
  SVM_FLAG_GUEST_MODE,
  SVM_FLAG_GUEST_PASID,
  SVM_FLAG_PRIVATE_PASID,
  SVM_FLAG_SUPERVISOR_MODE,
} from '../../src/index.js';
import { decodePasidEntry } from '../../src/layout/index.js';
import { expectCode, smallSystem } from './helpers.js';

describe('svaBindDevice() error paths (spec §2.1)', () => {
  it('rejects unknown flag bits and the guest flags with EINVAL', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x100 });
    const p = s.createProcess();
    await expectCode(s.svaBindDevice(d, p, 0x10), 'EINVAL');
    await expectCode(s.svaBindDevice(d, p, SVM_FLAG_GUEST_MODE), 'EINVAL');
    await expectCode(s.svaBindDevice(d, p, SVM_FLAG_GUEST_PASID), 'EINVAL');
    expect(s.sva.bindErrors).toBe(3);
  });

  it('returns EOPNOTSUPP when the unit is not SVM-capable', async () => {
    for (const iommu of [{ flts: false }, { pasid: false }]) {
      const s = smallSystem({ iommu });
      const d = s.addDevice({ rid: 0x100 });
      await expectCode(s.svaBindDevice(d, s.createProcess()), 'EOPNOTSUPP');
    }
    // 5-level CPU paging needs cap.FL5LP (intel_svm_check)
    const s = smallSystem({ cpu: { la57: true }, iommu: { fl5lp: false } });
    const d = s.addDevice({ rid: 0x100 });
    await expectCode(s.svaBindDevice(d, s.createProcess()), 'EOPNOTSUPP');
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

  it('a user bind needs a live process', async () => {
    const s = smallSystem();
    const d = s.addDevice({ rid: 0x100 });
    await expectCode(s.svaBindDevice(d, null), 'EINVAL');
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
