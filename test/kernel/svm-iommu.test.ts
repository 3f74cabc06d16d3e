import { describe, expect, it } from 'vitest';
import { DevTlbPerm } from '../../src/device/devtlb.js';
import type { InvLogEntry } from '../../src/engine/invalidation-queue.js';
import { ALL_PAGES_END } from '../../src/kernel/v5.8/stale-ledger.js';
import type { SvmLayer } from '../../src/kernel/v5.8/svm.js';
import { Counter } from '../../src/metrics/counters.js';
import { smallSystem } from './helpers.js';

const BASE = 0x40_0000;

/** What a log holds, without the waits: type and, for device-TLB descriptors, the SID. */
function flushes(log: readonly InvLogEntry[], from = 0): string[] {
  return log
    .slice(from)
    .filter((e) => e.type !== 'wait')
    .map((e) =>
      e.type === 'pdevtlb' || e.type === 'devtlb' ? `${e.type} ${e.sid.toString(16)}` : e.type,
    );
}

/**
 * Expects `log` to be `unit` once or more over (an mm may notify one range more than once).
 */
function expectRepeats(log: string[], unit: string[]): void {
  expect(log.length).toBeGreaterThan(0);
  expect(log.length % unit.length).toBe(0);
  for (let i = 0; i < log.length; i += unit.length) {
    expect(log.slice(i, i + unit.length)).toEqual(unit);
  }
}

/**
 * Two units; A (0x100) behind unit 0 binds first, so the svm's `svm->iommu` is unit 0; B
 * (0x200) behind unit 1 binds the same process second. Four pages at BASE, written, read by
 * both devices (their units' IOTLBs hold them) and in both devices' ATCs.
 */
async function twoUnits() {
  const s = smallSystem({ iommu: { units: 2 } });
  const a = s.addDevice({ rid: 0x100, unit: 0 });
  const b = s.addDevice({ rid: 0x200, unit: 1 });
  const p = s.createProcess();
  const ha = await s.svaBindDevice(a, p);
  const hb = await s.svaBindDevice(b, p);
  const pasid = s.svaGetPasid(ha);
  p.mmap({ addr: BASE, length: 0x4000, prot: 'rw' });
  p.write(BASE, new Uint8Array(0x4000).fill(5));
  for (const d of [a, b]) {
    for (let vpn = 0x400; vpn < 0x404; vpn++) {
      expect((await d.dmaRead({ pasid, addr: vpn * 4096, length: 8 })).status).toBe('ok');
      const pfn = p.pageTable.lookup(vpn)!.pfn;
      d.devtlb.insert(pasid, vpn, '4k', pfn, DevTlbPerm.R | DevTlbPerm.W | DevTlbPerm.U);
    }
  }
  const sva = s.sva as SvmLayer;
  const logs = () => [s.iommus[0]!.invalidationLog.length, s.iommus[1]!.invalidationLog.length];
  return { s, a, b, p, ha, hb, pasid, sva, logs };
}

describe('svm->iommu routing (spec §2.1.1, §5.2; the v5.8 bug P-UNIT fixed)', () => {
  it('keeps the unit of the device whose bind created the svm', async () => {
    const { pasid, sva } = await twoUnits();
    expect(sva.svmByPasid(pasid)!.iommu).toBe(sva.iommus[0]);
    expect(sva.svmByPasid(pasid)!.devs.map((d) => d.sid)).toEqual([0x200, 0x100]);
  });

  it("sends every range flush to unit 0: unit 1's IOTLB and B's device TLB keep the range", async () => {
    const { s, a, b, p, pasid, sva, logs } = await twoUnits();
    const [from0, from1] = logs();
    p.munmap(BASE, 0x2000);
    // newest device first; B's device-TLB invalidation is queued on unit 0, which has no 0x200
    expectRepeats(flushes(s.iommus[0]!.invalidationLog, from0), [
      'piotlb',
      'pdevtlb 200',
      'piotlb',
      'pdevtlb 100',
    ]);
    expect(s.iommus[1]!.invalidationLog.length).toBe(from1);
    expect(s.iommus[0]!.iotlb.lookup(1, pasid, 0x400)).toBe(-1);
    expect(a.devtlb.lookup(pasid, 0x400)).toBe(-1);
    expect(s.iommus[1]!.iotlb.lookup(1, pasid, 0x400)).toBeGreaterThanOrEqual(0);
    expect(b.devtlb.lookup(pasid, 0x400)).toBeGreaterThanOrEqual(0);
    // the ledger: unit 1 keeps every entry over the range (up to its 512 GiB PML4E region),
    // B's ATC the range; unit 0's block covered the (aligned) range exactly
    expect(sva.stale.unitRanges(0, pasid)).toEqual([]);
    expect(sva.stale.unitRanges(1, pasid)).toEqual([[0, 512 ** 3]]);
    expect(sva.stale.functionRanges(0x100, pasid)).toEqual([]);
    expect(sva.stale.functionRanges(0x200, pasid)).toEqual([[0x400, 0x402]]);
  });

  it('lets B read the unmapped page through unit 1 as kernel behaviour, counted', async () => {
    const { s, a, b, p, pasid } = await twoUnits();
    p.munmap(BASE, 0x2000);
    // the public System's check throws on a violation: this one is the kernel's doing
    const r = await b.dmaRead({ pasid, addr: BASE, length: 4 });
    expect(r.status === 'ok' && [...r.data]).toEqual([5, 5, 5, 5]);
    expect(s.counters.get(Counter.staleByKernel)).toBe(1);
    expect(s.deviceCounters[b.index]!.get(Counter.staleByKernel)).toBe(1);
    // A's unit was flushed: the page is gone for A
    expect((await a.dmaRead({ pasid, addr: BASE, length: 4 })).status).toBe('UR');
    expect(s.counters.get(Counter.staleByKernel)).toBe(1);
  });

  it('still goes to unit 0 after A unbinds', async () => {
    const { s, p, ha, logs } = await twoUnits();
    await s.svaUnbindDevice(ha);
    const [from0, from1] = logs();
    p.munmap(BASE + 0x2000, 0x1000);
    expectRepeats(flushes(s.iommus[0]!.invalidationLog, from0), ['piotlb', 'pdevtlb 200']);
    expect(s.iommus[1]!.invalidationLog.length).toBe(from1);
  });

  it("tears B's entry down on exit with every flush on unit 0, and unit 1 never hears of it", async () => {
    const { s, b, p, pasid, sva, logs } = await twoUnits();
    const [from0, from1] = logs();
    p.exit();
    // newest first: B's teardown, then A's, each PASID cache, P_IOTLB, non-PASID device TLB
    expect(flushes(s.iommus[0]!.invalidationLog, from0)).toEqual([
      'pasid-cache',
      'piotlb',
      'devtlb 200',
      'pasid-cache',
      'piotlb',
      'devtlb 100',
    ]);
    expect(s.iommus[1]!.invalidationLog.length).toBe(from1);
    // B's entry is FPD-only in its own table (behind unit 1) …
    expect(s.iommus[1]!.pasidEntry(b, pasid)[0]).toBe(2n);
    // … but unit 1 still caches it and its translations, and B's ATC keeps its entries
    expect(s.iommus[1]!.iotlb.lookup(1, pasid, 0x403)).toBeGreaterThanOrEqual(0);
    expect(b.devtlb.lookup(pasid, 0x403)).toBeGreaterThanOrEqual(0);
    expect(sva.stale.unitRanges(1, pasid)).toEqual([[0, ALL_PAGES_END]]);
    expect(sva.stale.functionRanges(0x200, pasid)).toEqual([[0, ALL_PAGES_END]]);
    // unit 0's own caches of the PASID came clean, and so did A's ATC
    expect(sva.stale.unitRanges(0, pasid)).toEqual([]);
    expect(sva.stale.functionRanges(0x100, pasid)).toEqual([]);
  });
});
