import { describe, expect, it } from 'vitest';
import { IotlbPerm } from '../../src/engine/iotlb.js';
import { createSystem } from '../../src/index.js';
import type { SvmLayer } from '../../src/kernel/v5.8/svm.js';
import { InvariantChecker } from '../../src/machine/checks.js';
import { createScenarioRun } from '../../src/machine/run.js';
import { Counter } from '../../src/metrics/counters.js';

const BASE = 0x40_0000;

/**
 * One device (0x100) bound to a process with four written pages at BASE, each read once by
 * the device (so the unit's IOTLB holds them), and the run's InvariantChecker installed with
 * untranslated DMA checked.
 */
async function warmed() {
  const s = createSystem({ memory: { frames: 2048 } });
  const d = s.addDevice({ rid: 0x100 });
  const p = s.createProcess();
  const h = await s.svaBindDevice(d, p);
  const pasid = s.svaGetPasid(h);
  p.mmap({ addr: BASE, length: 0x4000, prot: 'rw' });
  p.write(BASE, new Uint8Array(0x4000).fill(9));
  for (let a = BASE; a < BASE + 0x4000; a += 0x1000) {
    expect((await d.dmaRead({ pasid, addr: a, length: 4 })).status).toBe('ok');
  }
  const pfns = [0x400, 0x401, 0x402, 0x403].map((vpn) => p.pageTable.lookup(vpn)!.pfn);
  const checker = new InvariantChecker(s);
  s.checkUntranslatedDma = true;
  const ledger = (s.sva as SvmLayer).stale;
  const stale = () => s.counters.get(Counter.staleByKernel);
  return { s, d, p, h, pasid, pfns, checker, ledger, stale };
}

describe('DMA through what v5.8 left stale (spec §5.1, §9)', () => {
  it('counts a DMA past the unaligned flush block as staleByKernel, not a violation', async () => {
    const { s, d, p, pasid, checker, ledger, stale } = await warmed();
    p.munmap(BASE + 0x1000, 0x2000);
    expect(ledger.unitRanges(0, pasid)).toEqual([[0x402, 0x403]]);
    // page 0x402 is unmapped, but the unit still translates it to its old frame
    const r = await d.dmaRead({ pasid, addr: BASE + 0x2000, length: 4 });
    expect(r.status).toBe('ok');
    expect(checker.violations).toEqual([]);
    expect(stale()).toBe(1);
    expect(s.deviceCounters[d.index]!.get(Counter.staleByKernel)).toBe(1);
    // page 0x401 was in the block: gone
    expect((await d.dmaRead({ pasid, addr: BASE + 0x1000, length: 4 })).status).toBe('UR');
    expect(stale()).toBe(1);
  });

  it('counts nothing after an aligned munmap, whose block is the range', async () => {
    const { d, p, pasid, checker, ledger, stale } = await warmed();
    p.munmap(BASE, 0x2000);
    expect(ledger.entries).toBe(0);
    for (const a of [BASE, BASE + 0x1000]) {
      expect((await d.dmaRead({ pasid, addr: a, length: 4 })).status).toBe('UR');
    }
    expect(checker.violations).toEqual([]);
    expect(stale()).toBe(0);
  });

  it('still reports a stale translation the ledger does not explain', async () => {
    const { s, d, p, pasid, pfns, checker, stale } = await warmed();
    p.munmap(BASE + 0x1000, 0x2000);
    // the flush did invalidate page 0x401; put its old translation back, as a broken cache would
    s.iommu.iotlb.insert(1, pasid, 0x401, '4k', pfns[1]!, IotlbPerm.R | IotlbPerm.W | IotlbPerm.U);
    expect((await d.dmaRead({ pasid, addr: BASE + 0x1000, length: 4 })).status).toBe('ok');
    // and a page outside the range, still mapped, translated to another page's frame
    s.iommu.iotlb.insert(1, pasid, 0x403, '4k', pfns[0]!, IotlbPerm.R | IotlbPerm.W | IotlbPerm.U);
    expect((await d.dmaRead({ pasid, addr: BASE + 0x3000, length: 4 })).status).toBe('ok');
    expect(checker.violations.map((v) => v.what)).toEqual([
      'stale-translation',
      'stale-translation',
    ]);
    expect(checker.violations[0]!.detail).toContain(
      `device 100 PASID ${pasid} vpn 401 → pfn ${pfns[1]!.toString(16)}, but the bound process ${p.id} maps nothing`,
    );
    expect(stale()).toBe(0);
  });

  it('throws from the public API for unexplained staleness, and counts the explained kind', async () => {
    const s = createSystem({ memory: { frames: 2048 } });
    const d = s.addDevice({ rid: 0x100 });
    const p = s.createProcess();
    const pasid = s.svaGetPasid(await s.svaBindDevice(d, p));
    p.mmap({ addr: BASE, length: 0x4000, prot: 'rw' });
    p.write(BASE, new Uint8Array(0x4000).fill(9));
    for (let a = BASE; a < BASE + 0x4000; a += 0x1000)
      await d.dmaRead({ pasid, addr: a, length: 4 });
    const old = p.pageTable.lookup(0x401)!.pfn;
    p.munmap(BASE + 0x1000, 0x2000);
    expect((await d.dmaRead({ pasid, addr: BASE + 0x2000, length: 4 })).status).toBe('ok');
    expect(s.counters.get(Counter.staleByKernel)).toBe(1);
    s.iommu.iotlb.insert(1, pasid, 0x401, '4k', old, IotlbPerm.R | IotlbPerm.W | IotlbPerm.U);
    await expect(d.dmaRead({ pasid, addr: BASE + 0x1000, length: 4 })).rejects.toMatchObject({
      code: 'ERR_INVARIANT',
    });
  });

  it('forgets a page once a later flush covers it, and everything at unbind', async () => {
    const { s, d, p, h, pasid, pfns, ledger, checker, stale } = await warmed();
    p.munmap(BASE + 0x1000, 0x2000);
    // mapped again with new frames: the unit still gives the old one (kernel behaviour)
    p.mmap({ addr: BASE + 0x1000, length: 0x2000, prot: 'rw' });
    p.write(BASE + 0x1000, new Uint8Array(0x2000).fill(1));
    expect(p.pageTable.lookup(0x402)!.pfn).not.toBe(pfns[2]);
    expect((await d.dmaRead({ pasid, addr: BASE + 0x2000, length: 4 })).status).toBe('ok');
    expect(stale()).toBe(1);
    // a flush whose block holds page 0x402 clears it from the unit and from the ledger
    p.munmap(BASE + 0x2000, 0x1000);
    expect(ledger.unitRanges(0, pasid)).toEqual([]);
    expect(s.iommu.iotlb.lookup(1, pasid, 0x402)).toBe(-1);
    // [0x403, 0x405) is flushed as block [0x402, 0x404): page 0x404 stays, until the unbind
    p.munmap(BASE + 0x3000, 0x1000);
    p.mmap({ addr: BASE + 0x3000, length: 0x2000, prot: 'rw' });
    p.munmap(BASE + 0x3000, 0x2000);
    expect(ledger.unitRanges(0, pasid)).toEqual([[0x404, 0x405]]);
    await s.svaUnbindDevice(h);
    expect(ledger.entries).toBe(0);
    expect(checker.violations).toEqual([]);
  });
});

describe('a churn run with buffers of 3 pages (every munmap unaligned)', () => {
  /** Clients whose 12 KiB buffers sit at 3-page steps, half of them munmapped while in use. */
  const scenario = {
    name: 'unaligned-churn',
    duration: '300us',
    seed: 1,
    clients: {
      count: 32,
      buffers: { count: 2, size: '12KiB', prefault: 'src' as const },
      churn: {
        enabled: true,
        bindLifetime: '100us',
        exitWhileBound: 0.25,
        munmapFraction: 0.5,
        mprotectFraction: 0.2,
      },
    },
  };

  it('counts the DMA v5.8 lets through stale translations, each a violation if the ledger were not asked', () => {
    const run = createScenarioRun(scenario);
    const r = run.execute();
    expect(r.invariants.violations).toEqual([]);
    const stale = run.sys.counters.get(Counter.staleByKernel);
    expect(stale).toBeGreaterThan(0);
    // every client unbound: the unbind teardowns left nothing stale behind
    expect((run.sys.sva as SvmLayer).stale.entries).toBe(0);
    // the same run (same seed) with the ledger ignored: each of them is a violation
    const control = createScenarioRun(scenario);
    (control.sys.sva as SvmLayer).kernelLeftStale = () => false;
    const c = control.execute();
    expect(c.invariants.violations.map((v) => v.what)).toEqual(
      new Array(stale).fill('stale-translation'),
    );
    expect(control.sys.counters.get(Counter.staleByKernel)).toBe(0);
  });
});
