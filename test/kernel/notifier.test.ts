import { describe, expect, it } from 'vitest';
import { type DeviceOptions, SVM_FLAG_PRIVATE_PASID, type SystemConfig } from '../../src/index.js';
import { spawn } from '../../src/sim/kthread.js';
import { rawLog, smallSystem } from './helpers.js';

const hex = (n: number) => n.toString(16);

async function bound(config: SystemConfig = {}, devs: DeviceOptions[] = [{ rid: 0x6a01 }]) {
  const s = smallSystem(config);
  const ds = devs.map((o) => s.addDevice(o));
  const p = s.createProcess();
  const hs = [];
  for (const d of ds) hs.push(await s.svaBindDevice(d, p));
  const base = p.mmap({ length: 1 << 20, prot: 'rw', addr: 0x4000_0000 });
  p.write(base, new Uint8Array(1 << 16).fill(1));
  return { s, p, base, hs, ds, from: s.iommu.invalidationLog.length };
}

describe('mmu notifier range invalidation (spec §5.1, v5.8)', () => {
  it('munmap of one page: P_IOTLB PSI AM=0 and P_DEVTLB S=0', async () => {
    const { s, p, base, from } = await bound();
    p.munmap(base + 0x5000, 0x1000);
    const log = rawLog(s.iommu.invalidationLog, from).filter((r) => r[0] !== 'wait');
    expect(log).toEqual([
      // 6h | G=11b<<4 | DID 1<<16 | PASID 1<<32; qw1 = addr | AM 0
      ['piotlb', '100010036', hex(0x4000_5000)],
      // 8h | SID 0x6a01<<16 | PASID 1<<32, PFSID 0 (no ecap.DIT, spec §7.4); qw1 = addr, S=0
      ['pdevtlb', '16a010008', hex(0x4000_5000)],
    ]);
  });

  it('splits an unaligned range into naturally aligned chunks of roundup_pow_of_two(pages)', async () => {
    const { s, p, base, from } = await bound();
    // pages 3..5 (3 pages) → chunk of 4 pages: [0x0000,0x4000) and [0x4000,0x8000)
    p.munmap(base + 0x3000, 0x3000);
    const log = rawLog(s.iommu.invalidationLog, from).filter((r) => r[0] !== 'wait');
    expect(log).toEqual([
      ['piotlb', '100010036', hex(0x4000_0000 + 2)], // AM=2
      // 4 pages at 0x40000000: bit 12 set, bit 13 clear, S (bit 11)
      ['pdevtlb', '16a010008', hex(0x4000_1000 + 0x800)],
      ['piotlb', '100010036', hex(0x4000_4000 + 2)],
      ['pdevtlb', '16a010008', hex(0x4000_5000 + 0x800)],
    ]);
  });

  it('flushes each bound device in bind order; no P_DEVTLB without ATS', async () => {
    const { s, p, base, from } = await bound({}, [
      { rid: 0x100 },
      { rid: 0x200, ats: false, pri: false },
    ]);
    p.munmap(base, 0x2000);
    const log = rawLog(s.iommu.invalidationLog, from).filter((r) => r[0] !== 'wait');
    expect(log.map((r) => r[0])).toEqual(['piotlb', 'pdevtlb', 'piotlb']);
    expect(log[0]![2]).toBe(hex(0x4000_0000 + 1));
  });

  it('mprotect that removes a permission flushes; an upgrade does not', async () => {
    const { s, p, base, from } = await bound();
    p.mprotect(base, 0x1000, 'r');
    const afterDowngrade = s.iommu.invalidationLog.length;
    expect(afterDowngrade).toBeGreaterThan(from);
    p.mprotect(base, 0x1000, 'rw');
    expect(s.iommu.invalidationLog.length).toBe(afterDowngrade);
  });

  it('uses PASID-selective P_IOTLB without cap.PSI', async () => {
    const { s, p, base, from } = await bound({ iommu: { psi: false } });
    p.munmap(base, 0x1000);
    const log = rawLog(s.iommu.invalidationLog, from).filter((r) => r[0] === 'piotlb');
    expect(log).toEqual([['piotlb', '100010026', '0']]);
  });

  it('flushes every PASID of the mm, private ones included', async () => {
    const { s, p, base, ds, from } = await bound();
    await s.svaBindDevice(ds[0]!, p, SVM_FLAG_PRIVATE_PASID); // PASID 2
    const start = s.iommu.invalidationLog.length;
    expect(start).toBe(from);
    p.munmap(base, 0x1000);
    const pasids = s.iommu.invalidationLog
      .slice(from)
      .filter((e) => e.type === 'piotlb')
      .map((e) => (e.type === 'piotlb' ? e.pasid : -1));
    expect(pasids).toEqual([1, 2]);
  });
});

describe('release on mm exit while bound (spec §5.2)', () => {
  it('leaves an FPD-only entry, flushes without drain, keeps handle and PASID', async () => {
    const { s, p, hs, ds, from } = await bound();
    p.exit();
    const d = ds[0]!;
    expect(rawLog(s.iommu.invalidationLog, from).filter((r) => r[0] !== 'wait')).toEqual([
      ['pasid-cache', '100010017', '0'],
      ['piotlb', '100010026', '0'],
      ['devtlb', '6a0100000003', '7ffffffffffff001'], // PFSID 0 without ecap.DIT (spec §7.4)
    ]);
    expect(s.iommu.pasidEntry(d, 1)).toEqual([2n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]);
    expect(s.svaGetPasid(hs[0]!)).toBe(1);
    expect(s.sva.pasidBinding(1)).toBeDefined();
    // the pgd stays until the bond's mm reference is dropped at unbind
    expect(p.mmCountRefs).toBe(1);
    const mid = s.iommu.invalidationLog.length;
    await s.svaUnbindDevice(hs[0]!);
    // teardown sees a non-present entry and returns; only the drain follows
    expect(rawLog(s.iommu.invalidationLog, mid).map((r) => r[0])).toEqual([
      'wait',
      'piotlb',
      'pdevtlb',
      'wait',
    ]);
    expect(s.sva.pasidsInUse).toBe(0);
    expect(p.mmCountRefs).toBe(0);
  });

  it('an unbind right after exit inside the simulation waits for the release flushes', async () => {
    const { s, p, hs, from } = await bound();
    // inside an event the release is a kernel thread of its own: the unbind that follows
    // must not free the PASID before the release's device-TLB flush completed
    let unbound = false;
    s.sim.call(0, s.iommu.id, () => {
      p.exit();
      spawn(s.sva.unbind(hs[0]!), (r) => {
        if (r.error !== undefined) throw r.error;
        unbound = true;
      });
    });
    s.sim.runUntil(s.sim.nowNs + 1_000_000);
    expect(unbound).toBe(true);
    const types = rawLog(s.iommu.invalidationLog, from).map((r) => r[0]);
    // release: PASID cache, P_IOTLB, non-PASID device TLB (each with its wait); then the
    // unbind finds the entry cleared and only drains
    expect(types).toEqual([
      'pasid-cache',
      'wait',
      'piotlb',
      'wait',
      'devtlb',
      'wait',
      'wait',
      'piotlb',
      'pdevtlb',
      'wait',
    ]);
    expect(s.sva.pasidsInUse).toBe(0);
  });

  it('returns every frame once all processes exited and all bonds are gone', async () => {
    const s = smallSystem();
    const baseline = s.memory.framesInUse;
    const d = s.addDevice({ rid: 0x100 });
    const withDevice = s.memory.framesInUse;
    expect(withDevice).toBeGreaterThan(baseline);
    const ps = [s.createProcess(), s.createProcess()];
    const hs = [];
    for (const p of ps) {
      hs.push(await s.svaBindDevice(d, p));
      const b = p.mmap({ length: 1 << 18, prot: 'rw' });
      p.write(b, new Uint8Array(1 << 18).fill(7));
    }
    ps[0]!.exit();
    for (const h of hs) await s.svaUnbindDevice(h);
    ps[1]!.exit();
    // what remains is the device's PASID directory and its first leaf table, allocated at
    // probe for the RID2PASID entry (PASID 0) and shared by PASIDs 1..63
    expect(s.memory.framesInUse).toBe(withDevice);
  });
});
