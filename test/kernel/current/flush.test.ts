import { describe, expect, it } from 'vitest';
import type { DeviceOptions, SystemConfig } from '../../../src/index.js';
import { psiAlignedRange } from '../../../src/kernel/current/flush.js';
import { rawLog, smallSystem } from '../helpers.js';

const hex = (n: number) => n.toString(16);

async function bound(config: SystemConfig = {}, devs: DeviceOptions[] = [{ rid: 0x6a01 }]) {
  const s = smallSystem({ profile: 'current', ...config });
  const ds = devs.map((o) => s.addDevice(o));
  const p = s.createProcess();
  const hs = [];
  for (const d of ds) hs.push(await s.svaBindDevice(d, p));
  return { s, p, hs, ds };
}

describe('profile current: notifier range flushes (spec §10.4)', () => {
  it.each([
    // [start, end) → aligned base, mask
    [0x40_1000, 0x40_3000, 0x40_0000, 2],
    [0x40_0000, 0x40_1000, 0x40_0000, 0],
    [0x40_0000, 0x40_4000, 0x40_0000, 2],
    [0x40_3000, 0x40_5000, 0x40_0000, 3],
    [0x3f_f000, 0x40_1000, 0x0, 11],
  ])('[%s, %s) → ADDR %s AM %s', (start, end, addr, mask) => {
    expect(psiAlignedRange(start, end)).toEqual({ addr, mask });
  });

  it('munmap [0x40_1000, 0x40_3000): P_IOTLB ADDR 0x40_0000 AM=2, type 8h qw1 0x40_1800', async () => {
    const { s, p } = await bound();
    p.mmap({ addr: 0x40_0000, length: 0x4000, prot: 'rw' });
    p.write(0x40_0000, new Uint8Array(0x4000).fill(1));
    const at = s.iommu.invalidationLog.length;
    p.munmap(0x40_1000, 0x2000);
    expect(rawLog(s.iommu.invalidationLog, at)).toEqual([
      // one batch: PSI-within-PASID (G=11b) DID 1 PASID 1; qw1 = ADDR | AM
      ['piotlb', '100010036', hex(0x40_0002)],
      // type 8h: SID 0x6a01, PASID 1, QDEP 0, PFSID 0 (no ecap.DIT); qw1 = 0x40_1000 | S
      ['pdevtlb', '16a010008', hex(0x40_1800)],
      ['wait', '200000025', expect.any(String)],
    ]);
  });

  it('munmap of pages never touched flushes nothing', async () => {
    const { s, p } = await bound();
    p.mmap({ addr: 0x40_0000, length: 0x10_0000, prot: 'rw' });
    const at = s.iommu.invalidationLog.length;
    p.munmap(0x40_0000, 0x10_0000);
    expect(s.iommu.invalidationLog.length).toBe(at);
  });

  it('munmap across two VMAs: one merged range, gap included', async () => {
    const { s, p } = await bound();
    p.mmap({ addr: 0x40_0000, length: 0x1000, prot: 'rw' });
    p.mmap({ addr: 0x40_3000, length: 0x1000, prot: 'r' });
    p.write(0x40_0000, new Uint8Array(8).fill(1));
    p.read(0x40_3000, 8);
    const at = s.iommu.invalidationLog.length;
    p.munmap(0x40_0000, 0x4000);
    const log = rawLog(s.iommu.invalidationLog, at).filter((r) => r[0] !== 'wait');
    // [0x40_0000, 0x40_4000): 4 pages, AM=2; the emptied PTE table widens the gather to its
    // 2 MiB, so the range covers the table freed
    expect(log).toHaveLength(2);
    expect(log[0]![0]).toBe('piotlb');
    expect(log[1]![0]).toBe('pdevtlb');
  });

  it('mprotect: a downgrade flushes the changed pages once; an upgrade flushes nothing', async () => {
    const { s, p } = await bound();
    p.mmap({ addr: 0x40_0000, length: 0x4000, prot: 'rw' });
    p.write(0x40_1000, new Uint8Array(0x2000).fill(1));
    let at = s.iommu.invalidationLog.length;
    p.mprotect(0x40_0000, 0x4000, 'r');
    expect(rawLog(s.iommu.invalidationLog, at).filter((r) => r[0] !== 'wait')).toEqual([
      ['piotlb', '100010036', hex(0x40_0002)],
      ['pdevtlb', '16a010008', hex(0x40_1800)],
    ]);
    at = s.iommu.invalidationLog.length;
    p.mprotect(0x40_0000, 0x4000, 'rw');
    expect(s.iommu.invalidationLog.length).toBe(at);
  });

  it('one P_IOTLB per unit, one type 8h per ATS function, each through its own unit', async () => {
    const { s, p } = await bound({ iommu: { units: 2 } }, [
      { rid: 0x100 },
      { rid: 0x200 },
      { rid: 0x300, unit: 1 },
    ]);
    // a second page keeps the PTE table: the gather is the one page cleared
    p.mmap({ addr: 0x40_0000, length: 0x2000, prot: 'rw' });
    p.write(0x40_0000, new Uint8Array(0x2000).fill(1));
    const at0 = s.iommus[0]!.invalidationLog.length;
    const at1 = s.iommus[1]!.invalidationLog.length;
    p.munmap(0x40_0000, 0x1000);
    expect(rawLog(s.iommus[0]!.invalidationLog, at0).filter((r) => r[0] !== 'wait')).toEqual([
      ['piotlb', '100010036', hex(0x40_0000)],
      ['pdevtlb', '101000008', hex(0x40_0000)],
      ['pdevtlb', '102000008', hex(0x40_0000)],
    ]);
    expect(rawLog(s.iommus[1]!.invalidationLog, at1).filter((r) => r[0] !== 'wait')).toEqual([
      ['piotlb', '100010036', hex(0x40_0000)],
      ['pdevtlb', '103000008', hex(0x40_0000)],
    ]);
  });

  it('(0, ~0): PASID-selective P_IOTLB and full-range type 8h', async () => {
    const { s, p } = await bound();
    const at = s.iommu.invalidationLog.length;
    p.mmuNotifiers[0]!.invalidateRange(0, 2 ** 64);
    expect(rawLog(s.iommu.invalidationLog, at).filter((r) => r[0] !== 'wait')).toEqual([
      ['piotlb', '100010026', '0'],
      ['pdevtlb', '16a010008', '7ffffffffffff800'],
    ]);
  });
});
