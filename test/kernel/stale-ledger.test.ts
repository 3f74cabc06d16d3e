import { describe, expect, it } from 'vitest';
import {
  ALL_PAGES_END,
  PageRanges,
  StaleLedger,
  staleReach,
} from '../../src/kernel/v5.8/stale-ledger.js';

describe('PageRanges', () => {
  it('merges overlapping and adjacent ranges and splits on removal', () => {
    const r = new PageRanges();
    r.add(10, 20);
    r.add(30, 40);
    r.add(20, 25); // adjacent to [10, 20)
    expect(r.ranges()).toEqual([
      [10, 25],
      [30, 40],
    ]);
    r.add(5, 32);
    expect(r.ranges()).toEqual([[5, 40]]);
    r.remove(12, 14);
    r.remove(38, 50);
    expect(r.ranges()).toEqual([
      [5, 12],
      [14, 38],
    ]);
    expect([4, 5, 11, 12, 13, 14, 37, 38].map((v) => r.has(v))).toEqual([
      false,
      true,
      true,
      false,
      false,
      true,
      true,
      false,
    ]);
    r.remove(0, 100);
    expect(r.empty).toBe(true);
  });
});

describe('staleReach()', () => {
  it('is the pages past the aligned block when no paging-structure region is crossed', () => {
    // spec §5.1: [0x401, 0x403) flushed as block [0x400, 0x402): page 0x402 stays
    expect(staleReach(0x401, 0x403, 0x400, 0x402, 4)).toEqual([0x402, 0x403]);
    expect(staleReach(0x403, 0x405, 0x402, 0x404, 4)).toEqual([0x404, 0x405]);
  });

  it('is nothing when the block covers the range', () => {
    expect(staleReach(0x400, 0x403, 0x400, 0x404, 4)).toBeNull();
    expect(staleReach(0x400, 0x402, 0x400, 0x402, 4)).toBeNull();
  });

  it('reaches to the end of each region whose PDE, PDPTE … the block did not drop', () => {
    // [0x3ff, 0x401): block [0x3fe, 0x400); the PDE of region [0x400, 0x600) stays cached
    expect(staleReach(0x3ff, 0x401, 0x3fe, 0x400, 4)).toEqual([0x400, 0x600]);
    // crossing a 1 GiB boundary: the PDPTE of [0x40000, 0x80000) stays too
    expect(staleReach(0x3_ffff, 0x4_0001, 0x3_fffe, 0x4_0000, 4)).toEqual([0x4_0000, 0x8_0000]);
  });

  it('reaches every region over the range when nothing reached the unit', () => {
    // 4-level paging: PML4E regions of 512^3 pages (512 GiB)
    expect(staleReach(0x400, 0x402, 0, 0, 4)).toEqual([0, 512 ** 3]);
    expect(staleReach(512 ** 3 + 5, 512 ** 3 + 6, 0, 0, 5)).toEqual([0, 512 ** 4]);
  });
});

describe('StaleLedger', () => {
  it('explains a page for the unit or the function it was recorded for, nothing else', () => {
    const l = new StaleLedger();
    l.unitMissed(0, 7, 0x402, 0x403);
    l.functionMissed(0x200, 7, 0x500, 0x502);
    expect(l.explains(0, 0x100, 7, 0x402)).toBe(true);
    expect(l.explains(1, 0x100, 7, 0x402)).toBe(false); // another unit
    expect(l.explains(0, 0x100, 8, 0x402)).toBe(false); // another PASID
    expect(l.explains(0, 0x100, 7, 0x401)).toBe(false); // a page that was flushed
    expect(l.explains(1, 0x200, 7, 0x501)).toBe(true); // the function's ATC, whatever unit
    expect(l.explains(1, 0x300, 7, 0x501)).toBe(false);
  });

  it('forgets what a later flush covers', () => {
    const l = new StaleLedger();
    l.unitMissed(0, 7, 0x402, 0x404);
    l.unitFlushed(0, 7, 0x402, 0x403);
    expect(l.unitRanges(0, 7)).toEqual([[0x403, 0x404]]);
    l.unitFlushed(0, 7, 0x400, 0x408);
    expect(l.entries).toBe(0);
    l.functionMissed(0x200, 7, 0, ALL_PAGES_END);
    l.functionFlushed(0x200, 7, 0x10, 0x20);
    expect(l.functionRanges(0x200, 7)).toEqual([
      [0, 0x10],
      [0x20, ALL_PAGES_END],
    ]);
    l.functionFlushedAll(0x200, 7);
    expect(l.entries).toBe(0);
  });

  it("passes a unit's stale pages to the ATCs behind it when the unit is flushed for the PASID", () => {
    const l = new StaleLedger();
    l.unitMissed(0, 7, 0x402, 0x403);
    l.unitFlushedPasid(0, 7, [0x100, 0x101]);
    expect(l.unitRanges(0, 7)).toEqual([]);
    expect(l.functionRanges(0x100, 7)).toEqual([[0x402, 0x403]]);
    expect(l.functionRanges(0x101, 7)).toEqual([[0x402, 0x403]]);
    expect(l.explains(0, 0x102, 7, 0x402)).toBe(false);
  });
});
