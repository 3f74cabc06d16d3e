import { describe, expect, it } from 'vitest';
import {
  PTE_A,
  PTE_D,
  PTE_G,
  PTE_HI_XD,
  PTE_P,
  PTE_PS,
  PTE_RW,
  PTE_US,
  ptePfn,
} from '../../src/layout/pte.js';
import { PageTable } from '../../src/mem/page-table.js';
import {
  type PagingLevels,
  PTE_TABLE_FLAGS,
  pteIndex,
  pteWordIndex,
  walkIndices,
} from '../../src/mem/page-table-walk.js';
import { PhysicalMemory } from '../../src/mem/physical-memory.js';
import { codeOf } from './helpers.js';

/** Walks the raw words like a hardware walker would; returns [lo, hi, level] of each entry visited. */
function rawWalk(mem: PhysicalMemory, root: number, vpn: number, levels: PagingLevels) {
  const out: { lo: number; hi: number; level: number }[] = [];
  let table = root;
  const idx = walkIndices(vpn, levels);
  for (let k = 0; k < levels; k++) {
    const level = levels - k;
    const w = pteWordIndex(table, idx[k]!);
    const lo = mem.u32[w]!;
    const hi = mem.u32[w + 1]!;
    out.push({ lo, hi, level });
    if ((lo & PTE_P) === 0) break;
    if (level === 1 || (lo & PTE_PS) !== 0) break;
    table = ptePfn(lo, hi);
  }
  return out;
}

/**
 * Wraps `mem.freeFrame` (what PageTable frees its table frames with) to record, for each frame,
 * whether it was all zero when freed; leaf frames freed through the returned original are not
 * recorded.
 */
function spyTableFrees(mem: PhysicalMemory): { pfn: number; zero: boolean }[] {
  const out: { pfn: number; zero: boolean }[] = [];
  const free = mem.freeFrame.bind(mem);
  mem.freeFrame = (pfn: number) => {
    out.push({ pfn, zero: mem.u32.subarray(pfn * 1024, (pfn + 1) * 1024).every((w) => w === 0) });
    free(pfn);
  };
  return out;
}

describe('pteIndex() / walkIndices()', () => {
  it('splits a vpn into 9-bit indices, exactly beyond 2^32', () => {
    // vpn of address 0x00ff_8040_2010_3000 (57-bit): 0xff_8040_2010_3 pages.
    const vpn = 0x0ff8_0402_0103;
    const big = BigInt(vpn);
    for (let level = 1; level <= 5; level++) {
      const expected = Number((big >> BigInt(9 * (level - 1))) & 511n);
      expect(pteIndex(vpn, level)).toBe(expected);
    }
    expect(walkIndices(vpn, 5)).toEqual([
      pteIndex(vpn, 5),
      pteIndex(vpn, 4),
      pteIndex(vpn, 3),
      pteIndex(vpn, 2),
      pteIndex(vpn, 1),
    ]);
    // 0x7fff_ffff_f000 (top user page, 4-level): every index 511 except the pml4 one, 255.
    expect(walkIndices(0x7_ffff_ffff, 4)).toEqual([255, 511, 511, 511]);
  });

  it('places entry i of table t at physical address t*4096 + i*8', () => {
    expect(pteWordIndex(3, 5) * 4).toBe(3 * 4096 + 5 * 8);
  });
});

describe.each([4, 5] as const)('PageTable with %i levels', (levels) => {
  const vpnHigh = levels === 5 ? 0x1_2345_6789 * 8 : 0x7_f000_0123; // > 2^32 in both

  it('maps a 4 KiB page with real PTE bits and finds it again', () => {
    const mem = new PhysicalMemory({ frames: 64 });
    const pt = new PageTable(mem, { levels });
    expect(pt.tableFrames).toBe(1);
    const pfn = mem.allocFrame();
    pt.map(vpnHigh, pfn, { write: true, exec: false });
    expect(pt.tableFrames).toBe(levels);
    const walk = rawWalk(mem, pt.rootPfn, vpnHigh, levels);
    expect(walk.length).toBe(levels);
    for (const e of walk.slice(0, -1)) {
      expect(e.lo & 0xfff).toBe(PTE_TABLE_FLAGS); // P|RW|US only
      expect(e.hi & PTE_HI_XD).toBe(0);
    }
    const leaf = walk.at(-1)!;
    expect(leaf.level).toBe(1);
    // lo = pfn << 12 | US(4) | RW(2) | P(1) = pfn*4096 + 7; hi = XD (bit 63 -> hi bit 31)
    expect(leaf.lo).toBe(pfn * 4096 + 7);
    expect(leaf.hi).toBe(0x8000_0000);
    expect(pt.lookup(vpnHigh)).toEqual({
      pfn,
      leafPfn: pfn,
      size: '4k',
      present: true,
      write: true,
      user: true,
      exec: false,
      accessed: false,
      dirty: false,
    });
    expect(pt.lookup(vpnHigh + 1)).toBeNull();
  });

  it('maps a read-only executable page without R/W and without XD', () => {
    const mem = new PhysicalMemory({ frames: 64 });
    const pt = new PageTable(mem, { levels });
    const pfn = mem.allocFrame();
    pt.map(42, pfn, { write: false, exec: true });
    const leaf = rawWalk(mem, pt.rootPfn, 42, levels).at(-1)!;
    expect(leaf.lo & 0xfff).toBe(PTE_P | PTE_US);
    expect(leaf.hi).toBe(0);
  });

  it('maps a 2 MiB leaf with PS at level 2 and resolves 4 KiB frames inside it', () => {
    const mem = new PhysicalMemory({ frames: 2048 });
    const pt = new PageTable(mem, { levels });
    const pfn = mem.allocFrames(512, 512);
    const vpn = 512 * 1001;
    pt.map(vpn, pfn, { write: true, exec: true, size: '2m' });
    expect(pt.tableFrames).toBe(levels - 1);
    const walk = rawWalk(mem, pt.rootPfn, vpn + 77, levels);
    const leaf = walk.at(-1)!;
    expect(leaf.level).toBe(2);
    expect(leaf.lo).toBe(pfn * 4096 + (PTE_PS | PTE_US | PTE_RW | PTE_P));
    expect(leaf.hi).toBe(0);
    const info = pt.lookup(vpn + 77)!;
    expect(info.size).toBe('2m');
    expect(info.leafPfn).toBe(pfn);
    expect(info.pfn).toBe(pfn + 77);
    expect(codeOf(() => pt.map(vpn + 3, mem.allocFrame(), { write: true, exec: false }))).toBe(
      'ERR_INVARIANT',
    );
  });

  it('unmaps, frees emptied intermediate tables and returns every frame', () => {
    const mem = new PhysicalMemory({ frames: 2048 });
    const start = mem.framesInUse;
    const pt = new PageTable(mem, { levels });
    const a = mem.allocFrame();
    const b = mem.allocFrame();
    const h = mem.allocFrames(512, 512);
    pt.map(vpnHigh, a, { write: true, exec: false });
    pt.map(vpnHigh + 1, b, { write: true, exec: false });
    pt.map(0x200, h, { write: false, exec: false, size: '2m' });
    const tablesBoth = pt.tableFrames;
    expect(pt.unmap(vpnHigh)).toEqual({ pfn: a, size: '4k' });
    expect(pt.tableFrames).toBe(tablesBoth); // the leaf table still holds vpnHigh+1
    expect(pt.unmap(vpnHigh)).toBeNull();
    expect(pt.unmap(vpnHigh + 1)).toEqual({ pfn: b, size: '4k' });
    expect(pt.tableFrames).toBe(levels - 1); // only the 2 MiB path remains
    expect(pt.unmap(0x200 + 9)).toEqual({ pfn: h, size: '2m' });
    expect(pt.tableFrames).toBe(1);
    // the root is empty again
    for (let i = 0; i < 1024; i++) expect(mem.u32[pt.rootPfn * 1024 + i]).toBe(0);
    mem.freeFrame(a);
    mem.freeFrame(b);
    mem.freeFrames(h, 512);
    pt.freeTables(false);
    expect(pt.rootPfn).toBe(0);
    expect(mem.framesInUse).toBe(start);
  });

  it('unmapRange hands every leaf to the callback and counts 4 KiB pages', () => {
    const mem = new PhysicalMemory({ frames: 4096 });
    const pt = new PageTable(mem, { levels });
    const seen: [number, string, number][] = [];
    const spots = [0, 511, 512, 262_144 * 3 + 5, vpnHigh];
    for (const v of spots) pt.map(v, mem.allocFrame(), { write: true, exec: false });
    const huge = mem.allocFrames(512, 512);
    pt.map(1024, huge, { write: true, exec: false, size: '2m' });
    const pages = pt.unmapRange(0, pt.maxVpn, (pfn, size, vpn) => {
      seen.push([pfn, size, vpn]);
      if (size === '2m') mem.freeFrames(pfn, 512);
      else mem.freeFrame(pfn);
    });
    expect(pages).toBe(spots.length + 512);
    expect(seen.map((s) => s[2])).toEqual([0, 511, 512, 1024, 262_144 * 3 + 5, vpnHigh]);
    expect(pt.tableFrames).toBe(1);
    expect(mem.framesInUse).toBe(1);
  });

  it('refuses to split a 2 MiB leaf in unmapRange', () => {
    const mem = new PhysicalMemory({ frames: 2048 });
    const pt = new PageTable(mem, { levels });
    pt.map(512, mem.allocFrames(512, 512), { write: true, exec: false, size: '2m' });
    expect(codeOf(() => pt.unmapRange(512, 600))).toBe('ERR_INVARIANT');
    expect(pt.lookup(512)).not.toBeNull();
  });

  it('refuses to map over a mapping and to map a 2 MiB leaf over a table', () => {
    const mem = new PhysicalMemory({ frames: 2048 });
    const pt = new PageTable(mem, { levels });
    pt.map(7, mem.allocFrame(), { write: true, exec: false });
    expect(codeOf(() => pt.map(7, 3, { write: true, exec: false }))).toBe('ERR_INVARIANT');
    const h = mem.allocFrames(512, 512);
    expect(codeOf(() => pt.map(0, h, { write: true, exec: false, size: '2m' }))).toBe(
      'ERR_INVARIANT',
    );
    expect(codeOf(() => pt.map(1, h + 1, { write: true, exec: false, size: '2m' }))).toBe(
      'ERR_INVARIANT',
    );
  });

  it('protect reports downgrades of present leaves only and encodes PROT_NONE as P=0 with G', () => {
    const mem = new PhysicalMemory({ frames: 64 });
    const pt = new PageTable(mem, { levels });
    const pfn = mem.allocFrame();
    pt.map(9, pfn, { write: false, exec: false });
    expect(pt.protect(9, { write: true, exec: true })).toBe(false); // upgrade
    expect(pt.protect(9, { write: false, exec: true })).toBe(true); // lost W
    expect(pt.protect(9, { write: false, exec: false })).toBe(true); // lost X
    expect(pt.protect(9, { read: false, write: false, exec: false })).toBe(true); // lost R
    const leaf = rawWalk(mem, pt.rootPfn, 9, levels).at(-1)!;
    expect(leaf.lo & PTE_P).toBe(0);
    expect(leaf.lo & PTE_G).toBe(PTE_G);
    expect(ptePfn(leaf.lo, leaf.hi)).toBe(pfn);
    expect(pt.lookup(9)).toMatchObject({ present: false, pfn, write: false, exec: false });
    expect(pt.setAccessed(9, true)).toBe(false);
    expect(pt.protect(9, { read: false, write: false, exec: false })).toBe(false); // not present
    expect(pt.protect(9, { write: true, exec: false })).toBe(false); // back, an upgrade
    expect(pt.lookup(9)).toMatchObject({ present: true, write: true, exec: false });
    expect(pt.protect(10, { write: true, exec: false })).toBeNull();
    expect(pt.unmap(9)).toEqual({ pfn, size: '4k' });
  });

  it('protectRange covers 4 KiB and 2 MiB leaves', () => {
    const mem = new PhysicalMemory({ frames: 2048 });
    const pt = new PageTable(mem, { levels });
    pt.map(5, mem.allocFrame(), { write: true, exec: false });
    pt.map(512, mem.allocFrames(512, 512), { write: true, exec: false, size: '2m' });
    expect(pt.protectRange(0, 1024, { write: true, exec: false })).toBe(false);
    expect(pt.protectRange(0, 1024, { write: false, exec: false })).toBe(true);
    expect(pt.lookup(5)!.write).toBe(false);
    expect(pt.lookup(700)!.write).toBe(false);
    expect(codeOf(() => pt.protectRange(512, 513, { write: true, exec: false }))).toBe(
      'ERR_INVARIANT',
    );
  });

  it('setAccessed sets A, and D when asked', () => {
    const mem = new PhysicalMemory({ frames: 64 });
    const pt = new PageTable(mem, { levels });
    pt.map(3, mem.allocFrame(), { write: true, exec: false });
    expect(pt.setAccessed(3, false)).toBe(true);
    let leaf = rawWalk(mem, pt.rootPfn, 3, levels).at(-1)!;
    expect(leaf.lo & (PTE_A | PTE_D)).toBe(PTE_A);
    pt.setAccessed(3, true);
    leaf = rawWalk(mem, pt.rootPfn, 3, levels).at(-1)!;
    expect(leaf.lo & (PTE_A | PTE_D)).toBe(PTE_A | PTE_D);
    expect(pt.lookup(3)).toMatchObject({ accessed: true, dirty: true });
    expect(pt.setAccessed(4, false)).toBe(false);
  });

  it('leaves nothing allocated when a table allocation fails with ENOMEM', () => {
    const mem = new PhysicalMemory({ frames: levels + 1 }); // root + leaf frame + levels-2 tables
    const pt = new PageTable(mem, { levels });
    const pfn = mem.allocFrame();
    const before = mem.framesInUse;
    expect(codeOf(() => pt.map(5, pfn, { write: true, exec: false }))).toBe('ENOMEM');
    expect(mem.framesInUse).toBe(before);
    expect(pt.tableFrames).toBe(1);
    for (let i = 0; i < 1024; i++) expect(mem.u32[pt.rootPfn * 1024 + i]).toBe(0);
    mem.freeFrame(pfn);
    pt.freeTables(false);
    expect(mem.framesInUse).toBe(0);
  });

  it('frees every table frame all zero, so a walker holding its pfn finds nothing present', () => {
    const mem = new PhysicalMemory({ frames: 4096 });
    const pt = new PageTable(mem, { levels });
    const freeData = mem.freeFrame.bind(mem);
    const tables = spyTableFrees(mem);
    const base = vpnHigh - (vpnHigh % 512);
    const vpns = [3, 511, 512, 513, 512 * 512 + 7, base + 1, base + 700];
    for (const vpn of vpns) pt.map(vpn, mem.allocFrame(), { write: true, exec: false });
    const huge = mem.allocFrames(512, 512);
    pt.map(base + 2048, huge, { write: true, exec: true, size: '2m' });
    pt.protect(512, { read: false, write: false, exec: false }); // PROT_NONE leaf
    pt.setAccessed(3, true); // A/D the way the CPU side and a hardware walker set them
    pt.setAccessed(base + 2048, false);
    const stale = rawWalk(mem, pt.rootPfn, 512 * 512 + 7, levels).length; // a walk's tables
    expect(stale).toBe(levels);
    const leaf = (pfn: number, size: string) =>
      size === '2m' ? mem.freeFrames(pfn, 512) : freeData(pfn);
    pt.unmapRange(0, 600, leaf); // frees the leaf table of 3 / 511 / 512 / 513
    pt.unmapRange(512 * 512, 512 * 512 + 512, leaf);
    pt.freeTables(false, leaf);
    expect(mem.framesInUse).toBe(0);
    expect(tables.length).toBe(tables.filter((t) => t.zero).length);
    expect(tables.length).toBeGreaterThanOrEqual(levels + 1);
    // every freed table reads as not-present in every entry, to any stale walker
    for (const t of tables) {
      for (let i = 0; i < 512; i++) expect(mem.u32[pteWordIndex(t.pfn, i)]! & PTE_P).toBe(0);
    }
  });

  it('frees the tables of a failed map() all zero too', () => {
    const mem = new PhysicalMemory({ frames: levels + 1 }); // the last table allocation fails
    const pt = new PageTable(mem, { levels });
    const pfn = mem.allocFrame();
    const tables = spyTableFrees(mem);
    expect(codeOf(() => pt.map(5, pfn, { write: true, exec: false }))).toBe('ENOMEM');
    expect(tables.map((t) => t.zero)).toEqual(new Array(levels - 2).fill(true));
  });

  it('freeTables refuses to drop mapped leaves without a callback', () => {
    const mem = new PhysicalMemory({ frames: 64 });
    const pt = new PageTable(mem, { levels });
    pt.map(3, mem.allocFrame(), { write: true, exec: false });
    expect(codeOf(() => pt.freeTables(true))).toBe('ERR_INVARIANT');
    pt.freeTables(false, (pfn) => mem.freeFrame(pfn));
    expect(mem.framesInUse).toBe(0);
    expect(codeOf(() => pt.map(3, 1, { write: true, exec: false }))).toBe('ERR_INVARIANT');
  });

  it('rejects vpns beyond the tree', () => {
    const mem = new PhysicalMemory({ frames: 64 });
    const pt = new PageTable(mem, { levels });
    expect(codeOf(() => pt.map(pt.maxVpn, 1, { write: true, exec: false }))).toBe('ERR_INVARIANT');
    expect(pt.lookup(pt.maxVpn)).toBeNull();
    expect(pt.maxVpn).toBe(levels === 4 ? 2 ** 36 : 2 ** 45);
  });
});
