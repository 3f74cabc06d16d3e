/**
 * The x86-64 first-level walk (Intel SDM vol. 3A §4.5; spec §3.2: with SVA the PASID entry's
 * FSPTPTR points at the root, FSPM = 00b for 4-level, 01b for 5-level): the geometry of a
 * table tree, the index of a page number at each level, where an entry sits in
 * `PhysicalMemory.u32`, how an entry is classified and a leaf decoded. Read-only: nothing
 * here allocates or writes an entry.
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
 * Not modelled: 1 GiB leaves (PS at level 3; VT-d FL1GP — classifying one is a broken
 * invariant), PWT/PCD/PAT, protection keys, global pages.
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
  ptePfn,
} from '../layout/pte.js';
import { hex, invariantError } from './errors.js';
import { PAGE_WORDS } from './physical-memory.js';

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

/** {@link entryKind} of an unused entry (not present and not protnone). */
export const ENTRY_NONE = 0;
/** {@link entryKind} of a leaf, present or PROT_NONE. */
export const ENTRY_LEAF = 1;
/** {@link entryKind} of a present entry pointing at a lower table. */
export const ENTRY_TABLE = 2;

/** Classifies an entry at `level`: ENTRY_NONE, ENTRY_LEAF (present or protnone) or ENTRY_TABLE. */
export function entryKind(lo: number, level: number): number {
  if (level === 1) return (lo & (PTE_P | PTE_PROTNONE)) !== 0 ? ENTRY_LEAF : ENTRY_NONE;
  if ((lo & PTE_P) !== 0) {
    if ((lo & PTE_PS) === 0) return ENTRY_TABLE;
    if (level === 2) return ENTRY_LEAF;
    throw invariantError(
      `PS=1 at level ${level} (1 GiB leaf) is not modelled; entry lo=${hex(lo)}`,
    );
  }
  if (level === 2 && (lo & PTE_PS) !== 0 && (lo & PTE_PROTNONE) !== 0) return ENTRY_LEAF;
  return ENTRY_NONE;
}

/** First vpn mapped by a leaf under `table` (at `level`, covering from `baseVpn`), or -1. */
export function firstLeafVpn(
  u32: Uint32Array,
  table: number,
  level: number,
  baseVpn: number,
): number {
  const span = LEVEL_SPAN_PAGES[level]!;
  for (let i = 0; i < PTE_PER_TABLE; i++) {
    const w = table * PAGE_WORDS + i * 2;
    const kind = entryKind(u32[w]!, level);
    if (kind === ENTRY_LEAF) return baseVpn + i * span;
    if (kind === ENTRY_TABLE) {
      const vpn = firstLeafVpn(u32, ptePfn(u32[w]!, u32[w + 1]!), level - 1, baseVpn + i * span);
      if (vpn >= 0) return vpn;
    }
  }
  return -1;
}

/**
 * The first page of [startVpn, endVpn) whose entry at `targetLevel` (2 = PMD) is in use
 * (a table or a leaf, present or PROT_NONE), looking under `table` (at `level`, covering from
 * `baseVpn`): startVpn itself when its entry is in use, else the base of the first entry in
 * use; -1 when none is. What `change_pmd_range` finds as its first populated PMD.
 */
export function firstUsedEntryVpn(
  u32: Uint32Array,
  table: number,
  level: number,
  baseVpn: number,
  startVpn: number,
  endVpn: number,
  targetLevel: number,
): number {
  const span = LEVEL_SPAN_PAGES[level]!;
  const first = Math.max(startVpn, baseVpn);
  const last = Math.min(endVpn, baseVpn + span * PTE_PER_TABLE);
  const i0 = Math.floor((first - baseVpn) / span);
  const i1 = Math.ceil((last - baseVpn) / span);
  for (let i = i0; i < i1; i++) {
    const w = table * PAGE_WORDS + i * 2;
    const kind = entryKind(u32[w]!, level);
    if (kind === ENTRY_NONE) continue;
    const entryVpn = baseVpn + i * span;
    if (level === targetLevel || kind === ENTRY_LEAF) return Math.max(startVpn, entryVpn);
    const vpn = firstUsedEntryVpn(
      u32,
      ptePfn(u32[w]!, u32[w + 1]!),
      level - 1,
      entryVpn,
      startVpn,
      endVpn,
      targetLevel,
    );
    if (vpn >= 0) return vpn;
  }
  return -1;
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

/** Decodes the leaf entry `lo`/`hi` covering `vpn` (`huge`: a 2 MiB leaf) as {@link PageTable.lookup} reports it. */
export function describeLeaf(lo: number, hi: number, huge: boolean, vpn: number): LeafInfo {
  const leafPfn = ptePfn(lo, hi);
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
