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
  // The flushes below unmap pages nobody touched (past the first 64 KiB): one notifier call.
  it('munmap of one page: P_IOTLB PSI AM=0 and P_DEVTLB S=0 without PFSID', async () => {
    const { s, p, base, from } = await bound();
    p.munmap(base + 0x8_5000, 0x1000);
    const log = rawLog(s.iommu.invalidationLog, from).filter((r) => r[0] !== 'wait');
    expect(log).toEqual([
      // 6h | G=11b<<4 | DID 1<<16 | PASID 1<<32; qw1 = addr | AM 0
      ['piotlb', '100010036', hex(0x4008_5000)],
      // 8h | SID 0x6a01<<16 | PASID 1<<32, no PFSID (bits 15:12 and 63:52 zero: v5.8's range
      // flush never fills them, spec §5.1, §7.4); qw1 = addr, S=0
      ['pdevtlb', '16a010008', hex(0x4008_5000)],
    ]);
  });

  // Spec §5.1's worked examples, on pages nobody touched (one notifier call each).
  it.each([
    // [0x40_0000, 0x40_3000): 3 pages, AM=2 at the aligned start; 0x40_0000 ^ 0x40_2000 =
    // 0x2000 → m = 0x2000, (0x40_0000 & ~m) | (m − 1) = 0x40_1FFF → 0x40_1000 | S
    ['[0x40_0000, 0x40_3000)', 0x40_0000, 0x40_3000, 0x40_0002, 0x40_1800],
    // [0x40_1000, 0x40_3000): 2 pages, AM=1, ADDR left unaligned (block 0x40_0000–0x40_1FFF);
    // 0x40_1000 ^ 0x40_2000 = 0x3000 → m = 0x2000 → 0x40_1FFF → 0x40_1000 | S
    ['[0x40_1000, 0x40_3000)', 0x40_1000, 0x40_3000, 0x40_1001, 0x40_1800],
    // [0x40_3000, 0x40_5000): 2 pages, AM=1 (block 0x40_2000–0x40_3FFF); 0x40_3000 ^
    // 0x40_4000 = 0x7000 → m = 0x4000 → (0x40_3000 & ~0x4000) | 0x3FFF = 0x40_3FFF → 0x40_3800
    ['[0x40_3000, 0x40_5000)', 0x40_3000, 0x40_5000, 0x40_3001, 0x40_3800],
    // above 2^32: 19 pages, AM=5; last = 0x7f12_3457_9000, XOR 0x1_E000 → m = 0x1_0000 →
    // 0x7f12_3456_FFFF → 0x7f12_3456_F000 | S
    [
      '[0x7f12_3456_7000, 0x7f12_3457_a000)',
      0x7f12_3456_7000,
      0x7f12_3457_a000,
      0x7f12_3456_7005,
      0x7f12_3456_f800,
    ],
  ])(
    "munmap %s: one P_IOTLB and one P_DEVTLB with the spec's words",
    async (_, start, end, piotlbQw1, devtlbQw1) => {
      const { s, p, from } = await bound();
      const base = start - (start % 0x10_0000);
      p.mmap({ addr: base, length: 0x10_0000, prot: 'rw' });
      const at = s.iommu.invalidationLog.length;
      expect(at).toBe(from);
      p.munmap(start, end - start);
      const log = rawLog(s.iommu.invalidationLog, at).filter((r) => r[0] !== 'wait');
      expect(log).toEqual([
        ['piotlb', '100010036', hex(piotlbQw1)],
        ['pdevtlb', '16a010008', hex(devtlbQw1)],
      ]);
    },
  );

  it('keeps the pages past the aligned block in the IOTLB (the v5.8 bug P-ALIGN fixed)', async () => {
    const { s, p, ds } = await bound();
    const d = ds[0]!;
    p.mmap({ addr: 0x40_0000, length: 0x4000, prot: 'rw' });
    p.write(0x40_0000, new Uint8Array(0x4000).fill(2));
    for (let a = 0x40_0000; a < 0x40_4000; a += 0x1000) {
      expect((await d.dmaRead({ pasid: 1, addr: a, length: 8 })).status).toBe('ok');
    }
    for (const vpn of [0x400, 0x401, 0x402, 0x403]) {
      expect(s.iommu.iotlb.lookup(1, 1, vpn)).toBeGreaterThanOrEqual(0);
    }
    const at = s.iommu.invalidationLog.length;
    p.munmap(0x40_1000, 0x2000);
    const log = rawLog(s.iommu.invalidationLog, at).filter((r) => r[0] !== 'wait');
    // every P_IOTLB of the munmap is the one spec §5.1 gives: block 0x400–0x401 only
    expect(log.filter((r) => r[0] === 'piotlb').length).toBeGreaterThan(0);
    for (const r of log) {
      expect(r).toEqual(
        r[0] === 'piotlb'
          ? ['piotlb', '100010036', hex(0x40_1001)]
          : ['pdevtlb', '16a010008', hex(0x40_1800)],
      );
    }
    expect(s.iommu.iotlb.lookup(1, 1, 0x400)).toBe(-1);
    expect(s.iommu.iotlb.lookup(1, 1, 0x401)).toBe(-1);
    // unmapped, still cached: a DMA there reaches the page's old frame
    expect(s.iommu.iotlb.lookup(1, 1, 0x402)).toBeGreaterThanOrEqual(0);
    // outside the range, untouched by the flush
    expect(s.iommu.iotlb.lookup(1, 1, 0x403)).toBeGreaterThanOrEqual(0);
  });

  it('flushes each bound device newest first (list_add_rcu at the head); no P_DEVTLB without ATS', async () => {
    const { s, p, base, from } = await bound({}, [
      { rid: 0x100 },
      { rid: 0x200 },
      { rid: 0x300, ats: false, pri: false },
    ]);
    p.munmap(base + 0x8_0000, 0x2000);
    const log = rawLog(s.iommu.invalidationLog, from).filter((r) => r[0] !== 'wait');
    // spec §2.1 step 9: 0x300 (bound last) first, then 0x200, then 0x100
    expect(log).toEqual([
      ['piotlb', '100010036', hex(0x4008_0000 + 1)],
      ['piotlb', '100010036', hex(0x4008_0000 + 1)],
      ['pdevtlb', '102000008', hex(0x4008_0800)],
      ['piotlb', '100010036', hex(0x4008_0000 + 1)],
      ['pdevtlb', '101000008', hex(0x4008_0800)],
    ]);
  });

  it('mprotect that removes a permission flushes; an upgrade does not', async () => {
    const { s, p, base, from } = await bound();
    p.mprotect(base, 0x1000, 'r');
    const afterDowngrade = s.iommu.invalidationLog.length;
    expect(afterDowngrade).toBeGreaterThan(from);
    p.mprotect(base, 0x1000, 'rw');
    expect(s.iommu.invalidationLog.length).toBe(afterDowngrade);
  });

  it('sends the page-selective P_IOTLB even without cap.PSI (v5.8 never checks it)', async () => {
    // spec §5.1: no PSI capability check and no PASID-selective fallback in v5.8's
    // intel_flush_svm_range_dev (the fallback is K-5.6's form)
    const { s, p, base, from } = await bound({ iommu: { psi: false } });
    p.munmap(base + 0x8_0000, 0x1000);
    const log = rawLog(s.iommu.invalidationLog, from).filter((r) => r[0] === 'piotlb');
    expect(log).toEqual([['piotlb', '100010036', hex(0x4008_0000)]]);
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
      ['devtlb', '6a006a0100001003', '7ffffffffffff001'],
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
