/**
 * Demand paging of an mm: `handle_mm_fault` as the kernel services it for the CPU and for the
 * IOMMU's page-request handler (spec §4.3 per-request checks), CPU loads, stores and fills
 * that fault pages in like a CPU would, and unmapping pages with their frames. Keeps the mm's
 * rss and fault counts.
 *
 * A fault checks the VMA's rights (read always, write needs VM_WRITE, exec needs VM_EXEC),
 * then populates a zeroed 4 KiB page, or a 2 MiB page in a '2m' VMA, mapped with the VMA's
 * rights; a fault on a present page only sets A/D (and R/W when the VMA allows it). The CPU
 * side sets A (and D on a write) on every access. A fault calls no mmu notifier, as
 * `do_anonymous_page` does not (spec §5.1.1: a not-present → present change needs no flush).
 *
 * Not modelled: zero-page sharing and copy-on-write (a read fault allocates a private zeroed
 * frame), swap and reclaim, transparent huge pages (2 MiB pages only in '2m' VMAs), mlock.
 * Whether the mm is still alive is the caller's check (`Process`).
 */

import { PTE_A, PTE_D, PTE_P, PTE_RW, ptePfn } from '../layout/pte.js';
import { hex, invariantError, MemErrorCode, memError } from './errors.js';
import type { PageTable } from './page-table.js';
import type { UnmapSpan } from './page-table-frames.js';
import { PAGES_PER_2M } from './page-table-walk.js';
import { PAGE_SIZE, type PhysicalMemory } from './physical-memory.js';
import { lookupVma, type MutableVma } from './vma.js';

/** What a fault asks for (the PRQ's RDR / WRR / EXR); reads are always required. */
export interface FaultAccess {
  write: boolean;
  exec?: boolean;
}

/** Outcome of {@link Process.handleMmFault}: serviced, or no VMA / no permission (VM_FAULT_SIGSEGV). */
export type FaultResult = 'ok' | 'segv';

/** The populated pages of one mm: faults, CPU access and unmapping over its page table and VMAs. */
export class DemandPager {
  private readonly id: number;
  private readonly mem: PhysicalMemory;
  private readonly pageTable: PageTable;
  /** The mm's VMA list (shared, not copied: the mm changes it in place). */
  private readonly list: readonly MutableVma[];
  private rss = 0;
  private populated = 0;
  private spurious = 0;
  /** Word index of the leaf the last successful fault found or made (see cpuAccess). */
  private lastLeaf = -1;

  /** Pages the tree `pageTable` in `mem` by the VMAs of `list`; `id` names the process in errors. */
  constructor(id: number, mem: PhysicalMemory, pageTable: PageTable, list: readonly MutableVma[]) {
    this.id = id;
    this.mem = mem;
    this.pageTable = pageTable;
    this.list = list;
  }

  /** 4 KiB pages currently populated (a 2 MiB page counts 512). */
  get rssPages(): number {
    return this.rss;
  }

  /** Faults that populated a page. */
  get faults(): number {
    return this.populated;
  }

  /** Faults that found the page already present (spurious; only A/D or R/W set). */
  get spuriousFaults(): number {
    return this.spurious;
  }

  /**
   * handle_mm_fault at byte `addr` (see {@link Process.handleMmFault}); with `overwrite` a new
   * 4 KiB page gets a frame that is not zeroed first, because the caller writes all its 4096
   * bytes before anything can read them.
   */
  fault(addr: number, access: FaultAccess, overwrite: boolean): FaultResult {
    if (!Number.isSafeInteger(addr) || addr < 0) {
      throw memError(
        MemErrorCode.EINVAL,
        `handleMmFault: addr must be a non-negative integer, got ${String(addr)}`,
      );
    }
    const vma = lookupVma(this.list, addr);
    if (vma === undefined || !vma.read) return 'segv';
    if (access.write && !vma.write) return 'segv';
    if (access.exec === true && !vma.exec) return 'segv';
    const pt = this.pageTable;
    const vpn = Math.floor(addr / PAGE_SIZE);
    const w = pt.findLeaf(vpn);
    const u32 = this.mem.u32;
    if (w >= 0) {
      const lo = u32[w]!;
      if ((lo & PTE_P) === 0) {
        throw invariantError(
          `handleMmFault(${hex(addr)}): PROT_NONE leaf (lo=${hex(lo)}) inside a readable VMA [${hex(vma.start)}, ${hex(vma.end)})`,
        );
      }
      let next = lo | PTE_A;
      if (access.write) next |= PTE_RW | PTE_D;
      if (next !== lo) u32[w] = next;
      this.lastLeaf = w;
      this.spurious++;
      return 'ok';
    }
    const huge = vma.pageSize === '2m';
    const baseVpn = huge ? vpn - (vpn % PAGES_PER_2M) : vpn;
    const pfn = huge
      ? this.mem.allocFrames(PAGES_PER_2M, PAGES_PER_2M)
      : overwrite
        ? this.mem.allocFrameForOverwrite()
        : this.mem.allocFrame();
    let leaf: number;
    try {
      leaf = pt.map(baseVpn, pfn, {
        write: vma.write,
        exec: vma.exec,
        user: true,
        size: vma.pageSize,
      });
    } catch (err) {
      if (huge) this.mem.freeFrames(pfn, PAGES_PER_2M);
      else this.mem.freeFrame(pfn);
      throw err;
    }
    // the access that faulted sets A (and D) in the new leaf, without walking to it again
    const lo = u32[leaf]!;
    const next = lo | PTE_A | (access.write ? PTE_D : 0);
    if (next !== lo) u32[leaf] = next;
    this.lastLeaf = leaf;
    this.rss += huge ? PAGES_PER_2M : 1;
    this.populated++;
    return 'ok';
  }

  /** CPU load of `length` bytes at `addr` (see {@link Process.read}, which checks the range). */
  read(addr: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const a = addr + done;
      const vpn = Math.floor(a / PAGE_SIZE);
      const off = a - vpn * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, length - done);
      const pfn = this.cpuAccess(vpn, a, false);
      this.mem.copyOut(pfn * PAGE_SIZE + off, out, done, n);
      done += n;
    }
    return out;
  }

  /** CPU store of `bytes` at `addr` (see {@link Process.write}, which checks the range). */
  write(addr: number, bytes: Uint8Array): void {
    const length = bytes.length;
    let done = 0;
    while (done < length) {
      const a = addr + done;
      const vpn = Math.floor(a / PAGE_SIZE);
      const off = a - vpn * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, length - done);
      const pfn = this.cpuAccess(vpn, a, true, n === PAGE_SIZE); // a whole page: no zeroing first
      this.mem.copyIn(pfn * PAGE_SIZE + off, bytes, done, n);
      done += n;
    }
  }

  /**
   * CPU fill of [addr, addr + length), one byte value a page (see {@link Process.fillPages},
   * which checks the range).
   */
  fillPages(addr: number, length: number, byteOfPage: (pageIndex: number) => number): void {
    if (addr % PAGE_SIZE !== 0) {
      throw memError(
        MemErrorCode.EINVAL,
        `fillPages: addr ${hex(addr)} must be a multiple of 4 KiB; use write() for unaligned bytes`,
      );
    }
    const firstVpn = addr / PAGE_SIZE;
    const pages = Math.ceil(length / PAGE_SIZE);
    for (let i = 0; i < pages; i++) {
      const byte = byteOfPage(i);
      const n = Math.min(PAGE_SIZE, length - i * PAGE_SIZE);
      const a = addr + i * PAGE_SIZE;
      const pfn = this.cpuAccess(firstVpn + i, a, true, n === PAGE_SIZE);
      if (n === PAGE_SIZE) this.mem.fillPagePattern(pfn, byte);
      else this.mem.fillBytes(pfn * PAGE_SIZE, n, byte);
    }
  }

  /**
   * Unmaps [start, end) (bytes) in the page table and frees the frames; with `span`, widens
   * it by what was cleared and freed (the mmu_gather range of munmap's second notifier call).
   */
  unmapPages(start: number, end: number, span?: UnmapSpan): void {
    const mem = this.mem;
    const pages = this.pageTable.unmapRange(
      start / PAGE_SIZE,
      end / PAGE_SIZE,
      (pfn, size) => {
        if (size === '2m') mem.freeFrames(pfn, PAGES_PER_2M);
        else mem.freeFrame(pfn);
      },
      span,
    );
    this.rss -= pages;
  }

  /**
   * Translates a CPU access to a frame, faulting like a CPU would; sets A (and D). With
   * `overwrite` the caller writes the whole 4 KiB page next, so a new frame is not zeroed.
   */
  private cpuAccess(vpn: number, addr: number, write: boolean, overwrite = false): number {
    const pt = this.pageTable;
    const u32 = this.mem.u32;
    let w = pt.findLeaf(vpn);
    if (w >= 0) {
      const lo = u32[w]!;
      if ((lo & PTE_P) !== 0 && (!write || (lo & PTE_RW) !== 0)) {
        const next = lo | PTE_A | (write ? PTE_D : 0);
        if (next !== lo) u32[w] = next;
        return this.leafFrame(w, vpn);
      }
    }
    if (this.fault(addr, { write }, overwrite) === 'segv') {
      const vma = lookupVma(this.list, addr);
      throw memError(
        MemErrorCode.EFAULT,
        `process ${this.id}: CPU ${write ? 'write' : 'read'} at ${hex(addr)} faulted (SIGSEGV): ${vma === undefined ? 'no mapping there' : `mapping [${hex(vma.start)}, ${hex(vma.end)}) does not allow ${write ? 'writes' : 'reads'}`}`,
      );
    }
    w = this.lastLeaf; // the leaf the fault found or made (and pt.leafLevel its level)
    if (w < 0 || (u32[w]! & PTE_P) === 0) {
      throw invariantError(
        `handleMmFault(${hex(addr)}) returned ok but no present leaf for vpn ${hex(vpn)}`,
      );
    }
    return this.leafFrame(w, vpn);
  }

  private leafFrame(w: number, vpn: number): number {
    const u32 = this.mem.u32;
    const pfn = ptePfn(u32[w]!, u32[w + 1]!);
    return this.pageTable.leafLevel === 2 ? pfn + (vpn % PAGES_PER_2M) : pfn;
  }
}
