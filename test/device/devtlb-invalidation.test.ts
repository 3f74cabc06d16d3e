import { describe, expect, it } from 'vitest';
import { smallSystem } from '../kernel/helpers.js';

async function withAtc() {
  const s = smallSystem();
  const d = s.addDevice({ rid: 0x100 });
  const p = s.createProcess();
  const q = s.createProcess();
  const h = await s.svaBindDevice(d, p);
  const hq = await s.svaBindDevice(d, q);
  const pasid = s.svaGetPasid(h);
  const other = s.svaGetPasid(hq);
  const base = p.mmap({ length: 1 << 20, prot: 'rw', addr: 0x4000_0000 });
  p.write(base, new Uint8Array(1 << 16).fill(1));
  const vpn = base / 4096;
  // the device caches translations of 16 pages of p and one of q
  for (let i = 0; i < 16; i++) d.devtlb.insert(pasid, vpn + i, '4k', 1000 + i, 3);
  d.devtlb.insert(other, vpn, '4k', 2000, 3);
  return { s, d, p, q, pasid, other, vpn, base };
}

describe('device-TLB invalidations reach the ATC (spec §7.0, §7.4, §5)', () => {
  it('a PASID-based invalidation with the size encoding drops exactly its aligned range', async () => {
    const { s, d, p, pasid, other, vpn, base } = await withAtc();
    const from = s.iommu.invalidationLog.length;
    // pages 5–6: v5.8 sends one P_DEVTLB (spec §5.1): start ^ last = 0x5000 ^ 0x6000 → m =
    // 0x2000, qw1 = ((start & ~m) | (m − 1)) & PAGE_MASK | S = 0x4000_5000 | S, which the
    // ATS size rule reads as the 4 pages [4, 8)
    p.munmap(base + 5 * 4096, 2 * 4096);
    const devtlb = s.iommu.invalidationLog.slice(from).filter((e) => e.type === 'pdevtlb');
    expect(devtlb.length).toBeGreaterThan(0);
    for (const e of devtlb) expect(e.raw[1]!.toString(16)).toBe((0x4000_5000 + 0x800).toString(16));
    const left = [...Array(16).keys()].filter((i) => d.devtlb.lookup(pasid, vpn + i) >= 0);
    expect(left).toEqual([0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(d.devtlb.lookup(other, vpn)).toBeGreaterThanOrEqual(0);
    expect(d.invalidationsReceived).toBe(devtlb.length);
  });

  it('the v5.8 non-PASID form on release flushes every PASID of the function', async () => {
    const { d, p, pasid, other, vpn } = await withAtc();
    p.exit();
    expect(d.devtlb.lookup(pasid, vpn)).toBe(-1);
    expect(d.devtlb.lookup(other, vpn)).toBe(-1);
  });

  it('an Invalidation Wait completes only after the device answered', async () => {
    const { s, d, base, p } = await withAtc();
    const from = s.iommu.invalidationLog.length;
    const t0 = s.sim.nowNs;
    p.munmap(base, 4096); // v5.8: two notifier calls (spec §5.1.1), one P_DEVTLB each
    const log = s.iommu.invalidationLog.slice(from);
    const inv = log.find((e) => e.type === 'pdevtlb')!;
    const wait = log[log.indexOf(inv) + 1]!;
    expect(wait.type).toBe('wait');
    // the wait ran after two link traversals and the device's processing time
    expect(wait.timeNs - inv.timeNs).toBeGreaterThanOrEqual(2 * s.cost.pcieLatencyNs);
    expect(s.sim.nowNs).toBeGreaterThan(t0);
    expect(d.invalidationsReceived).toBe(2);
  });
});
