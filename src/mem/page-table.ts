/**
 * x86-64 first-level page tables held in simulated physical memory (Intel SDM vol. 3A §4.5;
 * spec §3.2: with SVA the PASID entry's FSPTPTR points at this root). Entries are the real
 * qwords of src/layout/pte.ts, stored as two little-endian dwords in `PhysicalMemory.u32`, so
 * the IOMMU's own walker reads exactly what the CPU side wrote. The walk itself and the entry
 * encoding are in page-table-walk.ts, leaf permissions in page-table-perms.ts, the table
 * frames and unmapping in page-table-frames.ts; this file is the tree a process owns: map,
 * unmap, protect, look up, free.
 *
 * The root is freed only by `freeTables(false)`; after that the tree can no longer be used.
 *
 * Not modelled: 1 GiB leaves, kernel half of the pgd (no supervisor mappings), 5-level
 * addresses at or above 2^53 (not representable as exact `number` byte addresses; page numbers
 * are fine).
 */

import {
  PTE_A,
  PTE_D,
  PTE_P,
  PTE_PS,
  PTE_RW,
  PTE_US,
  pteHi,
  pteLo,
  ptePfn,
} from '../layout/pte.js';
import { hex, invariantError, MemErrorCode, memError } from './errors.js';
import { type LeafCallback, TableFrames, type UnmapSpan } from './page-table-frames.js';
import { applyPerms, type LeafPerms, protectTree } from './page-table-perms.js';
import {
  describeLeaf,
  ENTRY_LEAF,
  ENTRY_NONE,
  ENTRY_TABLE,
  entryKind,
  firstLeafVpn,
  firstUsedEntryVpn,
  type LeafInfo,
  PAGES_PER_2M,
  type PageSize,
  type PagingLevels,
  PTE_TABLE_FLAGS,
  pteIndex,
  vpnLimit,
} from './page-table-walk.js';
import { PAGE_WORDS, type PhysicalMemory } from './physical-memory.js';

/** Options of {@link PageTable.map}. */
export interface MapOptions {
  write: boolean;
  exec: boolean;
  /** U/S bit; default true (user pages). */
  user?: boolean;
  /** Default '4k'. */
  size?: PageSize;
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
  /** The tree's table frames and their used-entry counts. */
  private readonly frames: TableFrames;

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
    this.levels = levels;
    this.maxVpn = vpnLimit(levels);
    this.frames = new TableFrames(mem);
    this.root = mem.allocFrame();
    this.frames.track(this.root);
  }

  /** Frame of the root table (what FSPTPTR points at); 0 after `freeTables(false)`. */
  get rootPfn(): number {
    return this.root;
  }

  /** Table frames currently allocated by this tree, the root included. */
  get tableFrames(): number {
    return this.root === 0 ? 0 : this.frames.allocated;
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
      if (kind === ENTRY_NONE) return -1;
      if (kind === ENTRY_LEAF) {
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
   * leaf is a broken invariant. On ENOMEM nothing is left allocated. Returns the new leaf's
   * word index (as {@link findLeaf} would) and sets {@link leafLevel}.
   */
  map(vpn: number, pfn: number, options: MapOptions): number {
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
      if (kind === ENTRY_TABLE) {
        table = ptePfn(lo, u32[w + 1]!);
        continue;
      }
      if (kind === ENTRY_LEAF) {
        throw invariantError(
          `map(vpn ${hex(vpn)}, pfn ${pfn}, ${size}): already covered by a 2 MiB leaf (lo=${hex(lo)} hi=${hex(u32[w + 1]!)})`,
        );
      }
      let child: number;
      try {
        child = this.mem.allocFrame();
      } catch (err) {
        if (firstNew !== 0)
          this.frames.dropNewChain(firstNew, firstNewLevel, firstParentWord, firstParentTable);
        throw err;
      }
      u32[w + 1] = pteHi(child, false);
      u32[w] = pteLo(child, PTE_TABLE_FLAGS);
      this.frames.addTable(table, child);
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
    if (entryKind(lo, leafLevel) !== ENTRY_NONE) {
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
    this.frames.addEntry(table);
    this.leafLevel = leafLevel;
    return w;
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
   * empty; returns the number of 4 KiB pages unmapped. With `span`, widens it by the leaves
   * cleared and the tables freed, as mmu_gather does. A 2 MiB leaf only partly inside the
   * range is a broken invariant (callers split on 2 MiB boundaries).
   */
  unmapRange(startVpn: number, endVpn: number, onLeaf?: LeafCallback, span?: UnmapSpan): number {
    this.assertLive('unmapRange');
    this.checkRange(startVpn, endVpn, 'unmapRange');
    if (startVpn === endVpn) return 0;
    return this.frames.unmapTree(this.root, this.levels, 0, startVpn, endVpn, onLeaf, span);
  }

  /**
   * The first page of [startVpn, endVpn) whose PMD entry is in use — startVpn itself when its
   * own PMD entry is — or -1 when no PMD entry of the range is (`change_pmd_range`'s first
   * populated PMD, spec §5.1.1).
   */
  firstPopulatedPmd(startVpn: number, endVpn: number): number {
    this.assertLive('firstPopulatedPmd');
    this.checkRange(startVpn, endVpn, 'firstPopulatedPmd');
    if (startVpn === endVpn) return -1;
    return firstUsedEntryVpn(this.mem.u32, this.root, this.levels, 0, startVpn, endVpn, 2);
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
    return applyPerms(this.mem.u32, w, perms);
  }

  /**
   * Applies `perms` to every leaf in [startVpn, endVpn); returns true when a present leaf lost
   * a permission, and widens `changed`, when given, over every such leaf.
   */
  protectRange(
    startVpn: number,
    endVpn: number,
    perms: LeafPerms,
    changed?: { startVpn: number; endVpn: number },
  ): boolean {
    this.assertLive('protectRange');
    this.checkRange(startVpn, endVpn, 'protectRange');
    if (startVpn === endVpn) return false;
    return protectTree(this.mem.u32, this.root, this.levels, 0, startVpn, endVpn, perms, changed);
  }

  /** Describes the leaf covering `vpn`, or null when nothing is mapped there. */
  lookup(vpn: number): LeafInfo | null {
    if (!Number.isSafeInteger(vpn)) return null;
    const w = this.findLeaf(vpn);
    if (w < 0) return null;
    const u32 = this.mem.u32;
    return describeLeaf(u32[w]!, u32[w + 1]!, this.leafLevel === 2, vpn);
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
      const vpn = firstLeafVpn(this.mem.u32, this.root, this.levels, 0);
      if (vpn >= 0) {
        const info = this.lookup(vpn)!;
        throw invariantError(
          `freeTables: a ${info.size} leaf (pfn ${info.leafPfn}) is still mapped at vpn ${hex(vpn)}; unmap leaves (and free their frames) first or pass onLeaf`,
        );
      }
    }
    const frames = this.frames;
    frames.unmapTree(this.root, this.levels, 0, 0, this.maxVpn, onLeaf);
    if (frames.allocated !== 1 || frames.count(this.root) !== 0) {
      throw invariantError(
        `freeTables: ${frames.allocated} table frames remain (root pfn ${this.root} has ${frames.count(this.root)} entries)`,
      );
    }
    if (!keepRoot) {
      frames.free(this.root);
      this.root = 0;
    }
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
