/**
 * The table pages of one x86-64 page-table tree: which frames hold its tables, how many used
 * (present or protnone) entries each has, and unmapping, which clears leaves and frees the
 * tables it leaves empty.
 *
 * A table whose last entry is removed (unmap) is freed at once and its parent entry cleared,
 * so frame accounting is exact after every unmap. (Linux frees tables in free_pgtables only
 * when a whole table's range is unmapped; the observable difference is only which table frames
 * stay allocated.) A table frame is all zero when it is freed (PhysicalMemory does not zero at
 * free): a walker that still holds its pfn reads only not-present entries.
 *
 * When a freed frame really goes back is PhysicalMemory's: inside a deferral window (munmap,
 * exit) it waits for the notifier flushes like the leaves' frames.
 *
 * An unmap can report what it cleared as mmu_gather gathers it ({@link UnmapSpan}: leaves and
 * the first page under each freed table), the range of munmap's second notifier call.
 *
 * Not modelled: free_pgtables' policy of freeing only tables whose whole range is unmapped
 * (bounded by the neighbouring VMAs, not by the table's entries). So the gathered span
 * follows the tables freed here: it can reach down to a table's base where Linux would keep
 * the table because a neighbouring VMA shares it without a page in it, and it misses a table
 * Linux frees that an earlier unmap here already freed.
 */

import { PTE_PER_TABLE, ptePfn } from '../layout/pte.js';
import { hex, invariantError } from './errors.js';
import {
  ENTRY_LEAF,
  ENTRY_NONE,
  ENTRY_TABLE,
  entryKind,
  LEVEL_SPAN_PAGES,
  type PageSize,
} from './page-table-walk.js';
import { PAGE_WORDS, type PhysicalMemory } from './physical-memory.js';
import { TableCounts } from './table-counts.js';

/** Callback receiving each leaf an unmap removes (the frames are the caller's to free). */
export type LeafCallback = (leafPfn: number, size: PageSize, vpn: number) => void;

/**
 * What an unmap cleared, in page numbers, as Linux's mmu_gather gathers it (spec §5.1.1):
 * [startVpn, endVpn) covers every leaf removed (its whole size) and, for every table freed,
 * the first page of the range that table mapped (`pte_free_tlb(tlb, pte, addr)` and its
 * siblings widen the range by [addr, addr + PAGE_SIZE)). Empty while startVpn ≥ endVpn.
 */
export interface UnmapSpan {
  startVpn: number;
  endVpn: number;
}

/** An empty {@link UnmapSpan} for an unmap to widen. */
export function emptyUnmapSpan(): UnmapSpan {
  return { startVpn: Number.POSITIVE_INFINITY, endVpn: 0 };
}

function widen(span: UnmapSpan, startVpn: number, endVpn: number): void {
  if (startVpn < span.startVpn) span.startVpn = startVpn;
  if (endVpn > span.endVpn) span.endVpn = endVpn;
}

/** Used-entry counts of a tree's table frames, and the unmapping that frees emptied tables. */
export class TableFrames {
  /** The memory holding the tables. */
  readonly mem: PhysicalMemory;
  private tables = 1;
  /** Used (present or protnone) entries per table pfn; drives freeing of empty tables. */
  private readonly counts: TableCounts;

  /** Bookkeeping for a tree whose root the caller allocates and passes to {@link track}. */
  constructor(mem: PhysicalMemory) {
    this.mem = mem;
    this.counts = new TableCounts(mem);
  }

  /** Table frames currently allocated, the root included. */
  get allocated(): number {
    return this.tables;
  }

  /** Used entries of table `table`; a frame that is not a table of this tree is a broken invariant. */
  count(table: number): number {
    const n = this.counts.get(table);
    if (n === undefined) throw invariantError(`page-table frame ${table} has no entry count`);
    return n;
  }

  /** Starts counting the entries of the freshly allocated (all zero) root table. */
  track(root: number): void {
    this.counts.set(root, 0);
  }

  /** Counts a new leaf entry in `table`. */
  addEntry(table: number): void {
    this.counts.set(table, this.count(table) + 1);
  }

  /** Counts a new entry in `table` that points at `child`, a freshly allocated (all zero) table. */
  addTable(table: number, child: number): void {
    this.counts.set(table, this.count(table) + 1);
    this.counts.set(child, 0);
    this.tables++;
  }

  /** Forgets table `table` and frees its frame (it must be all zero). */
  free(table: number): void {
    this.counts.delete(table);
    this.mem.freeFrame(table);
    this.tables--;
  }

  /**
   * Removes every leaf in [startVpn, endVpn) under `table` (at `level`, covering from
   * `baseVpn`), handing each to `onLeaf`, and frees tables left empty; returns the number of
   * 4 KiB pages unmapped. With `span`, widens it by what was cleared and freed. A 2 MiB leaf
   * only partly inside the range is a broken invariant.
   */
  unmapTree(
    table: number,
    level: number,
    baseVpn: number,
    startVpn: number,
    endVpn: number,
    onLeaf: LeafCallback | undefined,
    span?: UnmapSpan,
  ): number {
    const u32 = this.mem.u32;
    const entrySpan = LEVEL_SPAN_PAGES[level]!;
    const first = Math.max(startVpn, baseVpn);
    const last = Math.min(endVpn, baseVpn + entrySpan * PTE_PER_TABLE);
    const i0 = Math.floor((first - baseVpn) / entrySpan);
    const i1 = Math.ceil((last - baseVpn) / entrySpan);
    let pages = 0;
    let used = this.count(table);
    for (let i = i0; i < i1 && used > 0; i++) {
      const w = table * PAGE_WORDS + i * 2;
      const lo = u32[w]!;
      const kind = entryKind(lo, level);
      if (kind === ENTRY_NONE) continue;
      const entryVpn = baseVpn + i * entrySpan;
      if (kind === ENTRY_LEAF) {
        if (entryVpn < startVpn || entryVpn + entrySpan > endVpn) {
          throw invariantError(
            `unmapRange [${hex(startVpn)}, ${hex(endVpn)}) splits the 2 MiB leaf at vpn ${hex(entryVpn)}`,
          );
        }
        const leafPfn = ptePfn(lo, u32[w + 1]!);
        u32[w] = 0;
        u32[w + 1] = 0;
        this.counts.set(table, --used);
        pages += entrySpan;
        if (span !== undefined) widen(span, entryVpn, entryVpn + entrySpan);
        onLeaf?.(leafPfn, level === 2 ? '2m' : '4k', entryVpn);
        continue;
      }
      const child = ptePfn(lo, u32[w + 1]!);
      pages += this.unmapTree(child, level - 1, entryVpn, startVpn, endVpn, onLeaf, span);
      if (this.count(child) === 0) {
        u32[w] = 0;
        u32[w + 1] = 0;
        this.counts.set(table, --used);
        this.free(child);
        if (span !== undefined) widen(span, entryVpn, entryVpn + 1);
      }
    }
    return pages;
  }

  /**
   * Frees the chain of tables a map created (from `first`, at `level`) before an allocation
   * failed, and clears the parent entry at word `parentWord` of `parentTable`.
   */
  dropNewChain(first: number, level: number, parentWord: number, parentTable: number): void {
    const u32 = this.mem.u32;
    let table = first;
    for (let l = level; table !== 0; l--) {
      let next = 0;
      if (l > 1) {
        for (let i = 0; i < PTE_PER_TABLE; i++) {
          const w = table * PAGE_WORDS + i * 2;
          if (entryKind(u32[w]!, l) === ENTRY_TABLE) {
            next = ptePfn(u32[w]!, u32[w + 1]!);
            u32[w] = 0; // a table is freed empty: a stale walker must find nothing in it
            u32[w + 1] = 0;
            break;
          }
        }
      }
      this.free(table);
      table = next;
    }
    u32[parentWord] = 0;
    u32[parentWord + 1] = 0;
    this.counts.set(parentTable, this.count(parentTable) - 1);
  }
}
