/**
 * x86-64 first-level page tables held in simulated physical memory (Intel SDM vol. 3A §4.5;
 * spec §3.2: with SVA the PASID entry's FSPTPTR points at this root, FSPM = 00b for 4-level,
 * 01b for 5-level). Entries are the real qwords of src/layout/pte.ts, stored as two
 * little-endian dwords in `PhysicalMemory.u32`, so the IOMMU's own walker reads exactly what the
 * CPU side wrote.
 *
 * The walk, for a hardware walker to mirror (addresses as page numbers `vpn` = addr / 4096):
 *   table = rootPfn (the pgd)
 *   for L = levels (4 or 5) down to 1:
 *     index = floor(vpn / 512^(L-1)) mod 512          (pteIndex; never `vpn >> n`: vpn can
 *                                                       exceed 2^32, only `& 511` of an
 *                                                       integer is exact)
 *     lo = u32[table*1024 + index*2], hi = u32[table*1024 + index*2 + 1]   (entry at
 *                                                       physical address table*4096 + index*8)
 *     P (lo bit 0) = 0                → not present (fault)
 *     L = 1, or L = 2 with PS (bit 7) → leaf: 4 KiB page pfn = ptePfn(lo, hi), or 2 MiB page
 *                                       whose 4 KiB frame is ptePfn(lo, hi) + (vpn mod 512)
 *     otherwise                       → table = ptePfn(lo, hi)
 *   Permissions: upper-level entries are always P|R/W|U/S (no A, no D, XD = 0) so the
 *   effective rights are the leaf's, as in Linux: write needs leaf R/W, user needs leaf U/S,
 *   instruction fetch needs leaf XD = 0. The CPU side sets A (and D on a write) on the leaf
 *   only; a hardware walker may set A on upper entries and A/D on the leaf as VT-d does.
 *
 * PROT_NONE pages keep their frame but are not present: P = 0 with bit 8 (G) set as a
 * software "protnone" marker, exactly like Linux's _PAGE_PROTNONE; the hardware sees an
 * ordinary not-present entry.
 *
 * Page-table pages: a table whose last entry is removed (unmap) is freed at once and its
 * parent entry cleared, so frame accounting is exact after every unmap. (Linux frees tables
 * in free_pgtables only when a whole table's range is unmapped; the observable difference is
 * only which table frames stay allocated.) The root is freed only by `freeTables(false)`.
 * A table frame is all zero when it is freed (PhysicalMemory does not zero at free): a
 * walker that still holds its pfn reads only not-present entries.
 *
 * Not modelled: 1 GiB leaves (PS at level 3; VT-d FL1GP), PWT/PCD/PAT, protection keys,
 * global pages, kernel half of the pgd (no supervisor mappings), 5-level addresses at or above
 * 2^53 (not representable as exact `number` byte addresses; page numbers are fine).
 */

import {
  PTE_A,
  PTE_D,
  PTE_G,
  PTE_HI_XD,
  PTE_P,
  PTE_PER_TABLE,
  PTE_PS,
  PTE_RW,
  PTE_US,
  pteHi,
  pteLo,
  ptePfn,
} from '../layout/pte.js';
import { hex, invariantError, MemErrorCode, memError } from './errors.js';
import { PAGE_WORDS, type PhysicalMemory } from './physical-memory.js';
import { TableCounts } from './table-counts.js';

/** Leaf page sizes: 4 KiB (level 1) and 2 MiB (PS = 1 at level 2). */
export type PageSize = '4k' | '2m';

/** Paging depth: 4 levels (48-bit VA, FSPM = 00b) or 5 levels (57-bit VA, FSPM = 01b). */
export type PagingLevels = 4 | 5;

/** 4 KiB pages in one 2 MiB page (and frames in a 2 MiB leaf). */
export const PAGES_PER_2M = 512;

/** Pages mapped by one entry at level L (index 1…5): 512^(L-1). */
export const LEVEL_SPAN_PAGES = [0, 1, 512, 512 ** 2, 512 ** 3, 512 ** 4] as const;

/** Flags of every upper-level (non-leaf) entry the CPU side creates: P | R/W | U/S. */
export const PTE_TABLE_FLAGS = PTE_P | PTE_RW | PTE_US;

/** Software marker of a PROT_NONE leaf (P = 0, frame kept): bit 8, like Linux's _PAGE_PROTNONE. */
export const PTE_PROTNONE = PTE_G;

/** Index of `vpn` in a table at `level` (1 = leaf table … levels = root): floor(vpn / 512^(L-1)) mod 512. */
export function pteIndex(vpn: number, level: number): number {
  return Math.floor(vpn / LEVEL_SPAN_PAGES[level]!) % PTE_PER_TABLE;
}

/** The table indices of the walk for `vpn`, root (level `levels`) first, leaf table (level 1) last. */
export function walkIndices(vpn: number, levels: PagingLevels): number[] {
  const out: number[] = [];
  for (let level = levels; level >= 1; level--) out.push(pteIndex(vpn, level));
  return out;
}

/** Index in `PhysicalMemory.u32` of the low dword of entry `index` of table `tablePfn` (high dword at +1). */
export function pteWordIndex(tablePfn: number, index: number): number {
  return tablePfn * PAGE_WORDS + index * 2;
}

/** Number of page numbers a table tree of `levels` levels covers: 2^36 (4-level) or 2^45 (5-level). */
export function vpnLimit(levels: PagingLevels): number {
  return LEVEL_SPAN_PAGES[levels] * PTE_PER_TABLE;
}

/** Leaf permissions. `read: false` makes a PROT_NONE leaf (not present, frame kept). */
export interface LeafPerms {
  read?: boolean;
  write: boolean;
  exec: boolean;
}

/** Options of {@link PageTable.map}. */
export interface MapOptions {
  write: boolean;
  exec: boolean;
  /** U/S bit; default true (user pages). */
  user?: boolean;
  /** Default '4k'. */
  size?: PageSize;
}

/** What {@link PageTable.lookup} reports about the leaf covering a page. */
export interface LeafInfo {
  /** Frame of the 4 KiB page containing the vpn (leaf pfn + offset inside a 2 MiB page). */
  pfn: number;
  /** Frame number held in the leaf entry. */
  leafPfn: number;
  size: PageSize;
  /** P bit (false for a PROT_NONE leaf). */
  present: boolean;
  write: boolean;
  user: boolean;
  exec: boolean;
  accessed: boolean;
  dirty: boolean;
}

/** Callback receiving each leaf an unmap removes (the frames are the caller's to free). */
export type LeafCallback = (leafPfn: number, size: PageSize, vpn: number) => void;

const NONE = 0;
const LEAF = 1;
const TABLE = 2;

/** Classifies an entry at `level`: NONE, LEAF (present or protnone) or TABLE. */
function entryKind(lo: number, level: number): number {
  if (level === 1) return (lo & (PTE_P | PTE_PROTNONE)) !== 0 ? LEAF : NONE;
  if ((lo & PTE_P) !== 0) {
    if ((lo & PTE_PS) === 0) return TABLE;
    if (level === 2) return LEAF;
    throw invariantError(
      `PS=1 at level ${level} (1 GiB leaf) is not modelled; entry lo=${hex(lo)}`,
    );
  }
  if (level === 2 && (lo & PTE_PS) !== 0 && (lo & PTE_PROTNONE) !== 0) return LEAF;
  return NONE;
}

/** An x86-64 first-level page-table tree rooted at `rootPfn`, in simulated physical memory. */
export class PageTable {
  /** The memory holding the tables. */
  readonly mem: PhysicalMemory;
  /** Paging depth. */
  readonly levels: PagingLevels;
  /** One past the highest page number this tree can map (2^36 or 2^45). */
  readonly maxVpn: number;
  /** Level of the leaf found by the last successful {@link findLeaf} (1 = 4 KiB, 2 = 2 MiB). */
  leafLevel = 0;

  private root: number;
  private tables = 1;
  /** Used (present or protnone) entries per table pfn; drives freeing of empty tables. */
  private readonly counts: TableCounts;

  /** Allocates the root table (pgd, or pml5 with 5 levels). */
  constructor(mem: PhysicalMemory, options: { levels?: PagingLevels } = {}) {
    const levels = options.levels ?? 4;
    if (levels !== 4 && levels !== 5) {
      throw memError(
        MemErrorCode.EINVAL,
        `PageTable: levels must be 4 or 5, got ${String(levels)}`,
      );
    }
    this.mem = mem;
    this.counts = new TableCounts(mem);
    this.levels = levels;
    this.maxVpn = vpnLimit(levels);
    this.root = mem.allocFrame();
    this.counts.set(this.root, 0);
  }

  /** Frame of the root table (what FSPTPTR points at); 0 after `freeTables(false)`. */
  get rootPfn(): number {
    return this.root;
  }

  /** Table frames currently allocated by this tree, the root included. */
  get tableFrames(): number {
    return this.root === 0 ? 0 : this.tables;
  }

  /**
   * Walks to the leaf covering `vpn` without allocating; returns the `u32` index of the leaf
   * entry's low dword (present or PROT_NONE) and sets {@link leafLevel}, or -1 when nothing is
   * mapped there.
   */
  findLeaf(vpn: number): number {
    if (!(vpn >= 0 && vpn < this.maxVpn) || this.root === 0) return -1;
    const u32 = this.mem.u32;
    let table = this.root;
    for (let level: number = this.levels; level >= 1; level--) {
      const w = table * PAGE_WORDS + pteIndex(vpn, level) * 2;
      const lo = u32[w]!;
      const kind = entryKind(lo, level);
      if (kind === NONE) return -1;
      if (kind === LEAF) {
        this.leafLevel = level;
        return w;
      }
      table = ptePfn(lo, u32[w + 1]!);
    }
    throw invariantError(`findLeaf(${hex(vpn)}): walked past level 1`);
  }

  /**
   * Maps `vpn` to frame `pfn` with a 4 KiB or 2 MiB leaf (U/S = user, R/W = write,
   * XD = !exec, A = D = 0), creating upper tables P|R/W|U/S as needed. Mapping over an existing
   * leaf is a broken invariant. On ENOMEM nothing is left allocated.
   */
  map(vpn: number, pfn: number, options: MapOptions): void {
    this.assertLive('map');
    const size = options.size ?? '4k';
    const leafLevel = size === '2m' ? 2 : 1;
    this.checkVpn(vpn, 'map');
    if (size !== '4k' && size !== '2m') {
      throw memError(MemErrorCode.EINVAL, `map: size must be '4k' or '2m', got ${String(size)}`);
    }
    const frames = size === '2m' ? PAGES_PER_2M : 1;
    if (!Number.isSafeInteger(pfn) || pfn < 1 || pfn + frames > this.mem.totalFrames) {
      throw invariantError(
        `map(${hex(vpn)}): pfn ${pfn} out of range [1, ${this.mem.totalFrames})`,
      );
    }
    if (size === '2m' && (vpn % PAGES_PER_2M !== 0 || pfn % PAGES_PER_2M !== 0)) {
      throw invariantError(
        `map: 2 MiB leaf needs vpn and pfn aligned to 512, got vpn ${hex(vpn)} pfn ${pfn}`,
      );
    }
    const u32 = this.mem.u32;
    let table = this.root;
    let firstNew = 0;
    let firstNewLevel = 0;
    let firstParentWord = -1;
    let firstParentTable = 0;
    for (let level: number = this.levels; level > leafLevel; level--) {
      const w = table * PAGE_WORDS + pteIndex(vpn, level) * 2;
      const lo = u32[w]!;
      const kind = entryKind(lo, level);
      if (kind === TABLE) {
        table = ptePfn(lo, u32[w + 1]!);
        continue;
      }
      if (kind === LEAF) {
        throw invariantError(
          `map(vpn ${hex(vpn)}, pfn ${pfn}, ${size}): already covered by a 2 MiB leaf (lo=${hex(lo)} hi=${hex(u32[w + 1]!)})`,
        );
      }
      let child: number;
      try {
        child = this.mem.allocFrame();
      } catch (err) {
        if (firstNew !== 0)
          this.dropNewChain(firstNew, firstNewLevel, firstParentWord, firstParentTable);
        throw err;
      }
      u32[w + 1] = pteHi(child, false);
      u32[w] = pteLo(child, PTE_TABLE_FLAGS);
      this.counts.set(table, this.count(table) + 1);
      this.counts.set(child, 0);
      this.tables++;
      if (firstNew === 0) {
        firstNew = child;
        firstNewLevel = level - 1;
        firstParentWord = w;
        firstParentTable = table;
      }
      table = child;
    }
    const w = table * PAGE_WORDS + pteIndex(vpn, leafLevel) * 2;
    const lo = u32[w]!;
    if (entryKind(lo, leafLevel) !== NONE) {
      throw invariantError(
        `map(vpn ${hex(vpn)}, pfn ${pfn}, ${size}): entry already in use (lo=${hex(lo)} hi=${hex(u32[w + 1]!)})`,
      );
    }
    let flags = PTE_P;
    if (options.write) flags |= PTE_RW;
    if (options.user ?? true) flags |= PTE_US;
    if (size === '2m') flags |= PTE_PS;
    u32[w + 1] = pteHi(pfn, !options.exec);
    u32[w] = pteLo(pfn, flags);
    this.counts.set(table, this.count(table) + 1);
  }

  /** Removes the leaf covering `vpn` (a whole 2 MiB leaf if it is one); returns what it mapped, or null. */
  unmap(vpn: number): { pfn: number; size: PageSize } | null {
    this.assertLive('unmap');
    this.checkVpn(vpn, 'unmap');
    const w = this.findLeaf(vpn);
    if (w < 0) return null;
    const size: PageSize = this.leafLevel === 2 ? '2m' : '4k';
    const base = size === '2m' ? vpn - (vpn % PAGES_PER_2M) : vpn;
    let pfn = 0;
    this.unmapRange(base, base + (size === '2m' ? PAGES_PER_2M : 1), (leafPfn) => {
      pfn = leafPfn;
    });
    return { pfn, size };
  }

  /**
   * Removes every leaf in [startVpn, endVpn), handing each to `onLeaf`, and frees tables left
   * empty; returns the number of 4 KiB pages unmapped. A 2 MiB leaf only partly inside the
   * range is a broken invariant (callers split on 2 MiB boundaries).
   */
  unmapRange(startVpn: number, endVpn: number, onLeaf?: LeafCallback): number {
    this.assertLive('unmapRange');
    this.checkRange(startVpn, endVpn, 'unmapRange');
    if (startVpn === endVpn) return 0;
    return this.unmapIn(this.root, this.levels, 0, startVpn, endVpn, onLeaf);
  }

  /**
   * Sets the permissions of the leaf covering `vpn` (R/W, XD; `read: false` = PROT_NONE).
   * Returns true when a permission was removed from a present leaf (the caller must invalidate
   * secondary TLBs), false otherwise, null when nothing is mapped there.
   */
  protect(vpn: number, perms: LeafPerms): boolean | null {
    this.assertLive('protect');
    this.checkVpn(vpn, 'protect');
    const w = this.findLeaf(vpn);
    if (w < 0) return null;
    return this.applyPerms(w, perms);
  }

  /** Applies `perms` to every leaf in [startVpn, endVpn); returns true when a present leaf lost a permission. */
  protectRange(startVpn: number, endVpn: number, perms: LeafPerms): boolean {
    this.assertLive('protectRange');
    this.checkRange(startVpn, endVpn, 'protectRange');
    if (startVpn === endVpn) return false;
    return this.protectIn(this.root, this.levels, 0, startVpn, endVpn, perms);
  }

  /** Describes the leaf covering `vpn`, or null when nothing is mapped there. */
  lookup(vpn: number): LeafInfo | null {
    if (!Number.isSafeInteger(vpn)) return null;
    const w = this.findLeaf(vpn);
    if (w < 0) return null;
    const u32 = this.mem.u32;
    const lo = u32[w]!;
    const hi = u32[w + 1]!;
    const leafPfn = ptePfn(lo, hi);
    const huge = this.leafLevel === 2;
    const present = (lo & PTE_P) !== 0;
    return {
      pfn: huge ? leafPfn + (vpn % PAGES_PER_2M) : leafPfn,
      leafPfn,
      size: huge ? '2m' : '4k',
      present,
      write: present && (lo & PTE_RW) !== 0,
      user: (lo & PTE_US) !== 0,
      exec: present && (hi & PTE_HI_XD) === 0,
      accessed: (lo & PTE_A) !== 0,
      dirty: (lo & PTE_D) !== 0,
    };
  }

  /** Sets A (and D when `dirty`) on the present leaf covering `vpn`; returns false when there is none. */
  setAccessed(vpn: number, dirty: boolean): boolean {
    const w = this.findLeaf(vpn);
    if (w < 0) return false;
    const u32 = this.mem.u32;
    const lo = u32[w]!;
    if ((lo & PTE_P) === 0) return false;
    const next = lo | PTE_A | (dirty ? PTE_D : 0);
    if (next !== lo) u32[w] = next;
    return true;
  }

  /**
   * Frees every table frame. Leaves still mapped are unmapped and handed to `onLeaf` (without
   * it they are a broken invariant: their frames would leak). The root stays allocated (and
   * empty) when `keepRoot`; otherwise it is freed too and the tree can no longer be used.
   */
  freeTables(keepRoot: boolean, onLeaf?: LeafCallback): void {
    this.assertLive('freeTables');
    if (onLeaf === undefined) {
      const vpn = this.firstLeafVpn(this.root, this.levels, 0);
      if (vpn >= 0) {
        const info = this.lookup(vpn)!;
        throw invariantError(
          `freeTables: a ${info.size} leaf (pfn ${info.leafPfn}) is still mapped at vpn ${hex(vpn)}; unmap leaves (and free their frames) first or pass onLeaf`,
        );
      }
    }
    this.unmapIn(this.root, this.levels, 0, 0, this.maxVpn, onLeaf);
    if (this.tables !== 1 || this.count(this.root) !== 0) {
      throw invariantError(
        `freeTables: ${this.tables} table frames remain (root pfn ${this.root} has ${this.count(this.root)} entries)`,
      );
    }
    if (!keepRoot) {
      this.counts.delete(this.root);
      this.mem.freeFrame(this.root);
      this.root = 0;
      this.tables = 0;
    }
  }

  private count(table: number): number {
    const n = this.counts.get(table);
    if (n === undefined) throw invariantError(`page-table frame ${table} has no entry count`);
    return n;
  }

  /** First vpn mapped by a leaf under `table`, or -1 (read-only scan). */
  private firstLeafVpn(table: number, level: number, baseVpn: number): number {
    const u32 = this.mem.u32;
    const span = LEVEL_SPAN_PAGES[level]!;
    for (let i = 0; i < PTE_PER_TABLE; i++) {
      const w = table * PAGE_WORDS + i * 2;
      const kind = entryKind(u32[w]!, level);
      if (kind === LEAF) return baseVpn + i * span;
      if (kind === TABLE) {
        const vpn = this.firstLeafVpn(ptePfn(u32[w]!, u32[w + 1]!), level - 1, baseVpn + i * span);
        if (vpn >= 0) return vpn;
      }
    }
    return -1;
  }

  private unmapIn(
    table: number,
    level: number,
    baseVpn: number,
    startVpn: number,
    endVpn: number,
    onLeaf: LeafCallback | undefined,
  ): number {
    const u32 = this.mem.u32;
    const span = LEVEL_SPAN_PAGES[level]!;
    const first = Math.max(startVpn, baseVpn);
    const last = Math.min(endVpn, baseVpn + span * PTE_PER_TABLE);
    const i0 = Math.floor((first - baseVpn) / span);
    const i1 = Math.ceil((last - baseVpn) / span);
    let pages = 0;
    let used = this.count(table);
    for (let i = i0; i < i1 && used > 0; i++) {
      const w = table * PAGE_WORDS + i * 2;
      const lo = u32[w]!;
      const kind = entryKind(lo, level);
      if (kind === NONE) continue;
      const entryVpn = baseVpn + i * span;
      if (kind === LEAF) {
        if (entryVpn < startVpn || entryVpn + span > endVpn) {
          throw invariantError(
            `unmapRange [${hex(startVpn)}, ${hex(endVpn)}) splits the 2 MiB leaf at vpn ${hex(entryVpn)}`,
          );
        }
        const leafPfn = ptePfn(lo, u32[w + 1]!);
        u32[w] = 0;
        u32[w + 1] = 0;
        this.counts.set(table, --used);
        pages += span;
        onLeaf?.(leafPfn, level === 2 ? '2m' : '4k', entryVpn);
        continue;
      }
      const child = ptePfn(lo, u32[w + 1]!);
      pages += this.unmapIn(child, level - 1, entryVpn, startVpn, endVpn, onLeaf);
      if (this.count(child) === 0) {
        u32[w] = 0;
        u32[w + 1] = 0;
        this.counts.set(table, --used);
        this.counts.delete(child);
        this.mem.freeFrame(child);
        this.tables--;
      }
    }
    return pages;
  }

  private protectIn(
    table: number,
    level: number,
    baseVpn: number,
    startVpn: number,
    endVpn: number,
    perms: LeafPerms,
  ): boolean {
    const u32 = this.mem.u32;
    const span = LEVEL_SPAN_PAGES[level]!;
    const first = Math.max(startVpn, baseVpn);
    const last = Math.min(endVpn, baseVpn + span * PTE_PER_TABLE);
    const i0 = Math.floor((first - baseVpn) / span);
    const i1 = Math.ceil((last - baseVpn) / span);
    let downgraded = false;
    for (let i = i0; i < i1; i++) {
      const w = table * PAGE_WORDS + i * 2;
      const kind = entryKind(u32[w]!, level);
      if (kind === NONE) continue;
      const entryVpn = baseVpn + i * span;
      if (kind === LEAF) {
        if (entryVpn < startVpn || entryVpn + span > endVpn) {
          throw invariantError(
            `protectRange [${hex(startVpn)}, ${hex(endVpn)}) splits the 2 MiB leaf at vpn ${hex(entryVpn)}`,
          );
        }
        if (this.applyPerms(w, perms)) downgraded = true;
        continue;
      }
      const child = ptePfn(u32[w]!, u32[w + 1]!);
      if (this.protectIn(child, level - 1, entryVpn, startVpn, endVpn, perms)) downgraded = true;
    }
    return downgraded;
  }

  /** Rewrites a leaf's R/W, XD and P/protnone bits; true when a present leaf lost a permission. */
  private applyPerms(w: number, perms: LeafPerms): boolean {
    const u32 = this.mem.u32;
    let lo = u32[w]!;
    let hi = u32[w + 1]!;
    const read = perms.read ?? true;
    const wasPresent = (lo & PTE_P) !== 0;
    const downgraded =
      wasPresent &&
      (!read || ((lo & PTE_RW) !== 0 && !perms.write) || ((hi & PTE_HI_XD) === 0 && !perms.exec));
    if (read) {
      lo = (lo & ~PTE_PROTNONE) | PTE_P;
      lo = perms.write ? lo | PTE_RW : lo & ~PTE_RW;
      hi = perms.exec ? hi & ~PTE_HI_XD : hi | PTE_HI_XD;
    } else {
      lo = (lo & ~(PTE_P | PTE_RW)) | PTE_PROTNONE;
      hi = hi | PTE_HI_XD;
    }
    u32[w + 1] = hi >>> 0;
    u32[w] = lo >>> 0;
    return downgraded;
  }

  /** Frees a chain of tables `map` created before an allocation failed, and clears its parent entry. */
  private dropNewChain(
    first: number,
    level: number,
    parentWord: number,
    parentTable: number,
  ): void {
    const u32 = this.mem.u32;
    let table = first;
    for (let l = level; table !== 0; l--) {
      let next = 0;
      if (l > 1) {
        for (let i = 0; i < PTE_PER_TABLE; i++) {
          const w = table * PAGE_WORDS + i * 2;
          if (entryKind(u32[w]!, l) === TABLE) {
            next = ptePfn(u32[w]!, u32[w + 1]!);
            u32[w] = 0; // a table is freed empty: a stale walker must find nothing in it
            u32[w + 1] = 0;
            break;
          }
        }
      }
      this.counts.delete(table);
      this.mem.freeFrame(table);
      this.tables--;
      table = next;
    }
    u32[parentWord] = 0;
    u32[parentWord + 1] = 0;
    this.counts.set(parentTable, this.count(parentTable) - 1);
  }

  private checkVpn(vpn: number, op: string): void {
    if (!Number.isSafeInteger(vpn) || vpn < 0 || vpn >= this.maxVpn) {
      throw invariantError(
        `${op}: vpn ${vpn} outside [0, ${hex(this.maxVpn)}) of a ${this.levels}-level table`,
      );
    }
  }

  private checkRange(startVpn: number, endVpn: number, op: string): void {
    if (
      !Number.isSafeInteger(startVpn) ||
      !Number.isSafeInteger(endVpn) ||
      startVpn < 0 ||
      endVpn < startVpn ||
      endVpn > this.maxVpn
    ) {
      throw invariantError(
        `${op}: bad vpn range [${startVpn}, ${endVpn}) for a ${this.levels}-level table (limit ${hex(this.maxVpn)})`,
      );
    }
  }

  private assertLive(op: string): void {
    if (this.root === 0)
      throw invariantError(`PageTable.${op} after freeTables(false) freed the root`);
  }
}
