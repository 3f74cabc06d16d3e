/**
 * Virtual memory areas of an mm (Linux `vm_area_struct`, spec §1 "mm", §4.3: the VMA lookup and
 * access check of a page request): the mmap protections, the user address-space bounds, and
 * the sorted VMA list with its lookups — `find_vma`, the overlap check, the top-down gap search
 * of `unmapped_area_topdown`, `vma_merge` of neighbours and hugetlb's `may_split` rule. The
 * list is a plain array the mm owns; these functions read and reorder it, never the page
 * tables.
 *
 * Not modelled: stack growth (no VM_GROWSDOWN: {@link lookupVma} is find_vma plus the vm_start
 * check, like find_extend_vma on a non-stack VMA), guard gaps, VMA merging of 2 MiB
 * (hugetlb-like) VMAs, MAP_FIXED replacement (addr is MAP_FIXED_NOREPLACE), file mappings.
 */

import { hex, MemErrorCode, memError } from './errors.js';
import type { PageSize } from './page-table-walk.js';
import { PAGE_SIZE } from './physical-memory.js';

/** mmap protections: PROT_READ with optional WRITE / EXEC, or PROT_NONE. */
export type Prot = 'none' | 'r' | 'rw' | 'rx' | 'rwx';

/** Bytes in a 2 MiB page. */
export const HUGE_PAGE_SIZE = 2 * 1024 * 1024;

/** Top of the top-down mmap area (mmap_base); below 2^47 even with 5 levels, as Linux without a high hint. */
export const MMAP_BASE = 0x7f00_0000_0000;

/** Lowest mappable address (Linux vm.mmap_min_addr default, 64 KiB). */
export const MMAP_MIN_ADDR = 0x1_0000;

/** A virtual memory area [start, end) in bytes. */
export interface Vma {
  readonly start: number;
  readonly end: number;
  readonly read: boolean;
  readonly write: boolean;
  readonly exec: boolean;
  readonly pageSize: PageSize;
}

/** Arguments of {@link Process.mmap}. */
export interface MmapOptions {
  /** Exact placement (MAP_FIXED_NOREPLACE); without it, top-down below MMAP_BASE. */
  addr?: number;
  /** Bytes; rounded up to the page size. */
  length: number;
  prot: Prot;
  /** Default '4k'; '2m' = a hugetlb-like VMA populated with 2 MiB pages. */
  pageSize?: PageSize;
}

/** A VMA as the mm's list holds it: its bounds and rights change in place. */
export interface MutableVma {
  start: number;
  end: number;
  read: boolean;
  write: boolean;
  exec: boolean;
  pageSize: PageSize;
}

/** The rights of a {@link Prot}. */
export interface ProtBits {
  read: boolean;
  write: boolean;
  exec: boolean;
}

const PROTS: Readonly<Record<Prot, ProtBits>> = {
  none: { read: false, write: false, exec: false },
  r: { read: true, write: false, exec: false },
  rw: { read: true, write: true, exec: false },
  rx: { read: true, write: false, exec: true },
  rwx: { read: true, write: true, exec: true },
};

/** The rights of `prot`; anything but a {@link Prot} throws `EINVAL` naming `op`. */
export function parseProt(prot: unknown, op: string): ProtBits {
  if (typeof prot === 'string' && Object.hasOwn(PROTS, prot)) return PROTS[prot as Prot];
  throw memError(
    MemErrorCode.EINVAL,
    `${op}: prot must be one of 'none', 'r', 'rw', 'rx', 'rwx', got ${JSON.stringify(prot)}`,
  );
}

/** Bytes in a page of `size`. */
export function pageBytes(size: PageSize): number {
  return size === '2m' ? HUGE_PAGE_SIZE : PAGE_SIZE;
}

/** `value` rounded up to a multiple of `to`. */
export function roundUp(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}

function sameFlags(a: MutableVma, b: MutableVma): boolean {
  return a.read === b.read && a.write === b.write && a.exec === b.exec && a.pageSize === b.pageSize;
}

/** Index of the first VMA of the sorted `list` that ends above `addr` (list.length when none does). */
function firstEndingAbove(list: readonly MutableVma[], addr: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.end <= addr) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * `find_vma` + vm_start check: the VMA of `list` containing byte `addr`, or undefined (no
 * stack expansion). The object is live: read it now, do not keep it across a list change.
 */
export function lookupVma(list: readonly MutableVma[], addr: number): MutableVma | undefined {
  const v = list[firstEndingAbove(list, addr)];
  return v !== undefined && v.start <= addr ? v : undefined;
}

/** Index of the first VMA of `list` overlapping [start, end), or -1. */
export function firstOverlap(list: readonly MutableVma[], start: number, end: number): number {
  const lo = firstEndingAbove(list, start);
  const v = list[lo];
  return v !== undefined && v.start < end ? lo : -1;
}

/**
 * Top-down first fit of `len` bytes aligned to `align` below MMAP_BASE and `taskSize` (Linux
 * unmapped_area_topdown without guard gaps); no gap throws `ENOMEM`.
 */
export function findGapTopDown(
  list: readonly MutableVma[],
  len: number,
  align: number,
  taskSize: number,
): number {
  let gapEnd = Math.min(MMAP_BASE, taskSize);
  for (let i = list.length - 1; i >= -1; i--) {
    const v = i >= 0 ? list[i]! : undefined;
    if (v !== undefined && v.start >= gapEnd) continue;
    if (v !== undefined && v.end > gapEnd) {
      gapEnd = v.start;
      continue;
    }
    const gapStart = v !== undefined ? v.end : MMAP_MIN_ADDR;
    if (gapEnd - gapStart >= len) {
      const start = Math.floor((gapEnd - len) / align) * align;
      if (start >= gapStart) return start;
    }
    if (v !== undefined) gapEnd = v.start;
  }
  throw memError(
    MemErrorCode.ENOMEM,
    `mmap: no free gap of ${len} bytes below the mmap base ${hex(MMAP_BASE)} (${list.length} mappings); munmap something or pass a smaller length`,
  );
}

/** Inserts `vma` (overlapping nothing) in address order and merges it with equal neighbours. */
export function insertVma(list: MutableVma[], vma: MutableVma): void {
  let i = 0;
  while (i < list.length && list[i]!.start < vma.start) i++;
  list.splice(i, 0, vma);
  mergeAround(list, Math.max(0, i - 1), Math.min(list.length, i + 2));
}

/** Merges adjacent 4 KiB VMAs with equal flags among list[from, to) (vma_merge). */
export function mergeAround(list: MutableVma[], from: number, to: number): void {
  let end = to;
  let i = from;
  while (i + 1 < end && i + 1 < list.length) {
    const a = list[i]!;
    const b = list[i + 1]!;
    if (a.end === b.start && a.pageSize === '4k' && sameFlags(a, b)) {
      a.end = b.end;
      list.splice(i + 1, 1);
      end--;
    } else {
      i++;
    }
  }
}

/**
 * Throws `EINVAL` (naming `op`) when `start` or `end` would split one of the 2 MiB VMAs among
 * list[i0, i1) off a 2 MiB boundary (hugetlb may_split).
 */
export function checkHugeSplit(
  list: readonly MutableVma[],
  i0: number,
  i1: number,
  start: number,
  end: number,
  op: string,
): void {
  for (let i = i0; i < i1; i++) {
    const v = list[i]!;
    if (v.pageSize !== '2m') continue;
    for (const p of [start, end]) {
      if (p > v.start && p < v.end && p % HUGE_PAGE_SIZE !== 0) {
        throw memError(
          MemErrorCode.EINVAL,
          `${op}: ${hex(p)} would split the 2 MiB-page mapping [${hex(v.start)}, ${hex(v.end)}) off a 2 MiB boundary; use 2 MiB-aligned addr and length`,
        );
      }
    }
  }
}
