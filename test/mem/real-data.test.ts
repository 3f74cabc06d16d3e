import { describe, expect, it } from 'vitest';
import { createSystem } from '../../src/index.js';

const KiB4 = 4096;

/** A system with one device and a bound process holding a 4-page rw buffer. */
async function bound(s = createSystem({ memory: { frames: 2048 } }), rid = 0x100) {
  const d = s.addDevice({ rid });
  const p = s.createProcess();
  const h = await s.svaBindDevice(d, p);
  const pasid = s.svaGetPasid(h);
  const buf = p.mmap({ length: 4 * KiB4, prot: 'rw' });
  return { s, d, p, h, pasid, buf };
}

describe('Frames hold real data (CPU fills, DMA, reuse after free)', () => {
  it('a DMA read returns what fillPages wrote, and a CPU read returns what a DMA wrote', async () => {
    const { d, p, pasid, buf } = await bound();
    p.fillPages(buf, 3 * KiB4, (i) => 0x40 + i);
    const r = await d.dmaRead({ pasid, addr: buf, length: 3 * KiB4 });
    if (r.status !== 'ok') throw new Error(`DMA read: ${r.status}`);
    for (let i = 0; i < 3; i++) {
      expect(r.data.subarray(i * KiB4, (i + 1) * KiB4).every((b) => b === 0x40 + i)).toBe(true);
    }
    const data = new Uint8Array(300).map((_, i) => (i * 13 + 1) & 0xff);
    expect(await d.dmaWrite({ pasid, addr: buf + KiB4 - 100, data })).toEqual({ status: 'ok' });
    expect(p.read(buf + KiB4 - 100, 300)).toEqual(data);
    const again = await d.dmaRead({ pasid, addr: buf + KiB4 - 100, length: 300 });
    expect(again.status === 'ok' && again.data).toEqual(data);
    // a CPU fill over a page a DMA wrote replaces all of it
    p.fillPages(buf + KiB4, KiB4, () => 7);
    const after = await d.dmaRead({ pasid, addr: buf + KiB4, length: KiB4 });
    expect(after.status === 'ok' && after.data.every((b) => b === 7)).toBe(true);
  });

  it('a process reusing the frames of one that exited sees zeros, through its walker and DMA', async () => {
    const s = createSystem({ memory: { frames: 2048 } });
    const a = await bound(s, 0x100);
    a.p.fillPages(a.buf, 4 * KiB4, () => 0xee);
    expect(
      await a.d.dmaWrite({ pasid: a.pasid, addr: a.buf, data: new Uint8Array(64).fill(0xdd) }),
    ).toEqual({ status: 'ok' });
    const framesA = new Set<number>();
    for (let i = 0; i < 4; i++) framesA.add(a.p.pageTable.lookup(a.buf / KiB4 + i)!.pfn);
    const b = await bound(s, 0x200); // its PASID tables are allocated before a's frames free up
    await s.svaUnbindDevice(a.h);
    a.p.exit(); // frees a's pages and page tables, without zeroing them

    expect(b.p.read(b.buf, 4 * KiB4).every((x) => x === 0)).toBe(true); // faults pages in
    const reused = [0, 1, 2, 3].filter((i) =>
      framesA.has(b.p.pageTable.lookup(b.buf / KiB4 + i)!.pfn),
    );
    expect(reused.length).toBeGreaterThan(0); // the freed frames really were handed out again
    const r = await b.d.dmaRead({ pasid: b.pasid, addr: b.buf, length: 4 * KiB4 });
    expect(r.status === 'ok' && r.data.every((x) => x === 0)).toBe(true);
    // a partial fill of a reused dirty frame: the rest of the page is zero, not the old bytes
    b.p.fillPages(b.buf, 4 * KiB4, () => 0xcc);
    b.p.write(b.p.mmap({ length: KiB4, prot: 'rw' }), new Uint8Array(1)); // keeps the tables
    const framesB = new Set<number>();
    for (let i = 0; i < 4; i++) framesB.add(b.p.pageTable.lookup(b.buf / KiB4 + i)!.pfn);
    await s.svaUnbindDevice(b.h); // no notifier left: munmap frees the frames at once
    b.p.munmap(b.buf, 4 * KiB4);
    const c = b.p.mmap({ length: KiB4, prot: 'rw' });
    b.p.fillPages(c, 100, () => 5);
    expect(framesB.has(b.p.pageTable.lookup(c / KiB4)!.pfn)).toBe(true);
    const rc = b.p.read(c, KiB4);
    expect(rc.subarray(0, 100).every((x) => x === 5)).toBe(true);
    expect(rc.subarray(100).every((x) => x === 0)).toBe(true);
    expect(s.iommu.faultRecords).toHaveLength(0);
  });
});
