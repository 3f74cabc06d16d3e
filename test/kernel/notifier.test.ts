import { describe, expect, it } from 'vitest';
import { type DeviceOptions, SVM_FLAG_PRIVATE_PASID, type SystemConfig } from '../../src/index.js';
import { spawn } from '../../src/sim/kthread.js';
import { rawLog, smallSystem } from './helpers.js';

const hex = (n: number) => n.toString(16);

/**
 * The first of munmap's two notifier calls, checking that the second repeats it: v5.8's
 * munmap calls invalidate_range from unmap_vmas' range end over the range, then from
 * tlb_finish_mmu over the PTEs it cleared (spec §5.1.1) — the same pages when every page
 * was populated and no table was freed.
 */
function firstOfTwoCalls<T>(log: T[]): T[] {
  expect(log.length % 2).toBe(0);
  const half = log.length / 2;
  expect(log.slice(half)).toEqual(log.slice(0, half));
  return log.slice(0, half);
}

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

  // v5.8 mprotect flushes whichever way the rights change (spec §5.1.1: change_pmd_range's
  // range end calls invalidate_range); later kernels skip pure upgrades.
  it('mprotect flushes a downgrade and an upgrade alike, over the populated page', async () => {
    const { s, p, base, from } = await bound();
    p.mprotect(base, 0x1000, 'r');
    const afterDowngrade = s.iommu.invalidationLog.length;
    const oneCall = [
      ['piotlb', '100010036', hex(0x4000_0000)], // AM=0
      ['pdevtlb', '16a010008', hex(0x4000_0000)], // one page, S=0, no PFSID
    ];
    expect(rawLog(s.iommu.invalidationLog, from).filter((r) => r[0] !== 'wait')).toEqual(oneCall);
    p.mprotect(base, 0x1000, 'rw'); // r → rw: an upgrade
    expect(rawLog(s.iommu.invalidationLog, afterDowngrade).filter((r) => r[0] !== 'wait')).toEqual(
      oneCall,
    );
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
    expect(firstOfTwoCalls(pasids)).toEqual([1, 2]);
  });
});

// When v5.8's mm calls invalidate_range (spec §5.1.1). Ranges here are naturally aligned, so
// each call is one P_IOTLB (AM = log2 pages) and one P_DEVTLB whose qw1 sets the address
// bits below the size and S (bit 11).
describe('when the v5.8 mm notifies (spec §5.1.1)', () => {
  const flush = (addr: number, am: number) => [
    ['piotlb', '100010036', hex(addr + am)],
    ['pdevtlb', '16a010008', hex(am === 0 ? addr : addr + 2 ** (am + 11) - 0x1000 + 0x800)],
  ];
  const flushes = (s: ReturnType<typeof smallSystem>, from: number) =>
    rawLog(s.iommu.invalidationLog, from).filter((r) => r[0] !== 'wait');

  it('munmap calls twice: over the range, then over the cleared PTEs and the freed table', async () => {
    const { s, p } = await bound();
    // a 2 MiB region of its own: unmapping both pages frees its PTE table (pte_free_tlb
    // widens the gathered range down to the table's base, 0x5000_0000)
    const a = p.mmap({ addr: 0x5000_4000, length: 0x4000, prot: 'rw' });
    p.write(a, new Uint8Array(0x4000).fill(3));
    const from = s.iommu.invalidationLog.length;
    p.munmap(a, 0x4000);
    expect(flushes(s, from)).toEqual([
      // unmap_vmas → invalidate_range_end over [0x5000_4000, 0x5000_8000): 4 pages, AM=2
      ...flush(0x5000_4000, 2),
      // tlb_finish_mmu over [0x5000_0000, 0x5000_8000): 8 pages, AM=3
      ...flush(0x5000_0000, 3),
    ]);
    // each descriptor is its own qi_submit_sync: 4 descriptors, 4 waits
    expect(rawLog(s.iommu.invalidationLog, from).map((r) => r[0])).toEqual([
      'piotlb',
      'wait',
      'pdevtlb',
      'wait',
      'piotlb',
      'wait',
      'pdevtlb',
      'wait',
    ]);
  });

  it("inside the simulation the second call starts after the first call's flushes", async () => {
    const { s, p } = await bound();
    const a = p.mmap({ addr: 0x5000_4000, length: 0x4000, prot: 'rw' });
    p.write(a, new Uint8Array(0x4000).fill(3));
    const from = s.iommu.invalidationLog.length;
    const inUse = s.memory.framesInUse;
    let held = 0;
    s.sim.call(0, s.iommu.id, () => {
      p.munmap(a, 0x4000); // the calls run as kernel threads, one after the other
      held = s.memory.framesInUse;
    });
    s.sim.runUntil(s.sim.nowNs + 1_000_000);
    expect(flushes(s, from)).toEqual([...flush(0x5000_4000, 2), ...flush(0x5000_0000, 3)]);
    expect(rawLog(s.iommu.invalidationLog, from).map((r) => r[0])).toEqual([
      'piotlb',
      'wait',
      'pdevtlb',
      'wait',
      'piotlb',
      'wait',
      'pdevtlb',
      'wait',
    ]);
    // the 4 pages and the PTE table went back only after both calls
    expect(held).toBe(inUse);
    expect(s.memory.framesInUse).toBe(inUse - 5);
  });

  it('munmap of pages never touched calls once, over the range', async () => {
    const { s, p } = await bound();
    const a = p.mmap({ addr: 0x5000_0000, length: 0x4000, prot: 'rw' });
    const from = s.iommu.invalidationLog.length;
    p.munmap(a, 0x4000);
    expect(flushes(s, from)).toEqual(flush(0x5000_0000, 2));
    // and nothing at all where no VMA is
    const again = s.iommu.invalidationLog.length;
    p.munmap(a, 0x4000);
    expect(s.iommu.invalidationLog.length).toBe(again);
  });

  it('mprotect flushes where a PMD is populated, even over pages never touched', async () => {
    const { s, p, base, from } = await bound(); // pages 0x4000_0000..0x4000_FFFF populated
    p.mprotect(base + 0x8_0000, 0x1000, 'r'); // same PTE table, page not populated
    expect(flushes(s, from)).toEqual(flush(0x4008_0000, 0));
    // no PMD entry for 0x4060_0000 (nothing populated in its 2 MiB) and no table at all
    // under 0x8000_0000: nothing to flush
    const b = p.mmap({ addr: 0x4060_0000, length: 0x1000, prot: 'rw' });
    const c = p.mmap({ addr: 0x8000_0000, length: 0x1000, prot: 'rw' });
    const mid = s.iommu.invalidationLog.length;
    p.mprotect(b, 0x1000, 'r');
    p.mprotect(c, 0x1000, 'r');
    expect(s.iommu.invalidationLog.length).toBe(mid);
  });

  it('mprotect starts at the first populated PMD and calls once per 1 GiB span', async () => {
    const { s, p } = await bound();
    // 4 MiB whose first 2 MiB were never touched
    const a = p.mmap({ addr: 0x8000_0000, length: 0x40_0000, prot: 'rw' });
    p.write(a + 0x20_0000, new Uint8Array(16).fill(1));
    let from = s.iommu.invalidationLog.length;
    p.mprotect(a, 0x40_0000, 'r');
    // [0x8020_0000, 0x8040_0000): 512 pages, AM=9
    expect(flushes(s, from)).toEqual(flush(0x8020_0000, 9));
    // 4 MiB across the 1 GiB boundary at 0xC000_0000, populated on both sides
    const b = p.mmap({ addr: 0xbfe0_0000, length: 0x40_0000, prot: 'rw' });
    p.write(b, new Uint8Array(16).fill(1));
    p.write(0xc000_0000, new Uint8Array(16).fill(1));
    from = s.iommu.invalidationLog.length;
    p.mprotect(b, 0x40_0000, 'r');
    expect(flushes(s, from)).toEqual([...flush(0xbfe0_0000, 9), ...flush(0xc000_0000, 9)]);
  });

  it('mprotect calls once per VMA whose rights change, none for one whose rights stay', async () => {
    const { s, p, base } = await bound();
    p.mprotect(base + 0x1000, 0x1000, 'r'); // [base+4K, base+8K) becomes a VMA of its own
    let from = s.iommu.invalidationLog.length;
    p.mprotect(base, 0x2000, 'r'); // rw → r, then r → r (mprotect_fixup returns at once)
    expect(flushes(s, from)).toEqual(flush(0x4000_0000, 0));
    p.mprotect(base + 0x2000, 0x1000, 'rx');
    from = s.iommu.invalidationLog.length;
    p.mprotect(base, 0x3000, 'rw'); // two VMAs now: [base, base+8K) r and [base+8K, +4K) rx
    expect(flushes(s, from)).toEqual([...flush(0x4000_0000, 1), ...flush(0x4000_2000, 0)]);
  });

  it('fault-in calls nothing: CPU faults and a serviced page request flush no translation', async () => {
    const { s, p, base, ds, from } = await bound();
    p.write(base + 0x2_0000, new Uint8Array(0x3000).fill(2)); // three CPU faults
    const r = await ds[0]!.pageRequest({
      pasid: 1,
      addr: base + 0x3_0000,
      read: true,
      write: true,
      lpig: true,
      prgIndex: 1,
    });
    expect(r?.code).toBe(0);
    expect(p.pageTable.lookup((base + 0x3_0000) / 4096)?.write).toBe(true);
    // only the page group response (and its wait) went through the invalidation queue
    expect(rawLog(s.iommu.invalidationLog, from).map((x) => x[0])).toEqual([
      'page-group-response',
      'wait',
    ]);
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
    // FPD suppresses the record of a DMA on the torn-down PASID
    expect(await d.dmaRead({ pasid: 1, addr: 0x4000_0000, length: 64 })).toEqual({
      status: 'UR',
    });
    expect(s.iommu.faultRecords).toHaveLength(0);
  });

  // v5.8 teardown has no present check (spec §3.3.1, §5.2): the unbind after exit reads DID 0
  // from the FPD-only entry, zeroes it (FPD cleared) and still flushes, each descriptor with
  // its own wait, before the drain. Later kernels return at once on the not-present entry;
  // v6.14 (cf08ca81d08a) clears the FPD-only entry and drains.
  it('unbind after exit flushes with DID 0, clears FPD, then drains; a later DMA is recorded', async () => {
    const { s, p, hs, ds } = await bound();
    const d = ds[0]!;
    p.exit();
    const mid = s.iommu.invalidationLog.length;
    await s.svaUnbindDevice(hs[0]!);
    const status = (slot: number) => (s.drivers[0]!.qi.statusPfn * 4096 + slot * 4).toString(16);
    const slot = (i: number) => (mid + i) % 256;
    expect(rawLog(s.iommu.invalidationLog, mid)).toEqual([
      // PASID-cache (7h), G=01b: 0x7 | 1<<4 | DID 0 | PASID 1<<32
      ['pasid-cache', '100000017', '0'],
      ['wait', '200000025', status(slot(1))],
      // P_IOTLB (6h), G=10b PASID-selective: 0x6 | 2<<4 | DID 0 | PASID 1<<32
      ['piotlb', '100000026', '0'],
      ['wait', '200000025', status(slot(3))],
      // non-PASID device-TLB (3h), full range, as at exit; PFSID 0 without ecap.DIT
      ['devtlb', '6a0100000003', '7ffffffffffff001'],
      ['wait', '200000025', status(slot(5))],
      // the drain: fence wait, P_IOTLB with the default domain's DID 2, P_DEVTLB qw1 = 0
      ['wait', '200000045', '0'],
      ['piotlb', '100020026', '0'],
      ['pdevtlb', '16a010008', '0'],
      ['wait', '2000000a5', status(slot(9))],
    ]);
    expect(s.iommu.pasidEntry(d, 1)).toEqual(Array(8).fill(0n));
    expect(s.sva.pasidsInUse).toBe(0);
    expect(p.mmCountRefs).toBe(0);
    // FPD is gone: an untranslated DMA on PASID 1 faults with 59h and is recorded
    expect(await d.dmaRead({ pasid: 1, addr: 0x4000_0000, length: 64 })).toEqual({
      status: 'UR',
    });
    expect(s.iommu.faultRecords.map((f) => [f.reason, f.sid, f.pasidPresent, f.pasid])).toEqual([
      [0x59, 0x6a01, true, 1],
    ]);
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
    const log = rawLog(s.iommu.invalidationLog, from);
    // release: PASID cache, P_IOTLB, non-PASID device TLB (each with its wait) with DID 1;
    // then the unbind's teardown (v5.8: no present check) repeats them with DID 0 and drains
    expect(log.map((r) => r[0])).toEqual([
      'pasid-cache',
      'wait',
      'piotlb',
      'wait',
      'devtlb',
      'wait',
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
    expect(log.filter((r) => r[0] === 'pasid-cache').map((r) => r[1])).toEqual([
      '100010017',
      '100000017',
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
