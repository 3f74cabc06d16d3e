/**
 * A process address space (Linux `mm_struct`): VMAs with r/w/x, an x86-64 page-table tree in
 * simulated physical memory, mmap / munmap / mprotect / exit, CPU-side read and write, and
 * `handle_mm_fault` as the kernel services it for the CPU and for the IOMMU's page-request
 * handler (spec §1 "mm", §4.3 per-request checks, §5 mmu notifier invalidation and release).
 *
 * Lifetime follows Linux: `mm_users` (address space alive; modelled as `alive`, which
 * `mmgetNotZero()` reports) versus `mm_count` (the structure; `mmgrab` / `mmdrop`). The process
 * itself holds one mm_count reference that `exit()` drops; an SVA bond holds another. `exit()`
 * first calls every notifier's `release()` (spec §5.2: intel_mm_release runs from exit_mmap
 * before the page tables are freed), empties the notifier list, then frees every page, every
 * page-table page but the root; the root (pgd) frame is freed when mm_count reaches 0.
 *
 * Notifier timing: `invalidateRange(start, end)` (byte addresses, end exclusive) fires after
 * the page tables changed and the frames were freed (spec §5.1 "pages have been freed at this
 * point"): once per munmap call over the whole [addr, addr + length) when any VMA was in it
 * (Linux batches per unmap_vmas call), and once per mprotect call over its whole range only when
 * some present page lost a permission (no invalidation on pure upgrades, spec §5.1). Notifiers
 * fire in registration order.
 *
 * Not modelled: zero-page sharing and copy-on-write (a read fault allocates a private zeroed
 * frame), fork, swap and reclaim, file mappings, stack growth (no VM_GROWSDOWN: `findVma` is
 * find_vma plus the vm_start check, like find_extend_vma on a non-stack VMA), VMA merging of 2 MiB
 * (hugetlb-like) VMAs, transparent huge pages (2 MiB pages only in '2m' VMAs), mlock,
 * MAP_FIXED replacement (addr is MAP_FIXED_NOREPLACE), mm_users counting beyond "alive",
 * `mmu_notifier_unregister` calling `release()` (it only removes the notifier here), kernel
 * (supervisor) mappings in the pgd.
 */

import { PTE_A, PTE_D, PTE_P, PTE_RW, ptePfn } from '../layout/pte.js';
import { hex, invariantError, MemErrorCode, memError } from './errors.js';
import { PAGES_PER_2M, type PageSize, PageTable, type PagingLevels } from './page-table.js';
import { PAGE_SIZE, type PhysicalMemory } from './physical-memory.js';

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

/** A secondary-TLB owner attached to an mm (Linux `struct mmu_notifier` ops). */
export interface MmuNotifier {
  /**
   * The CPU page tables of [start, end) changed (bytes, end exclusive); flush what you cached.
   * A flush that takes modelled time returns it as pending: the frames the change freed are
   * handed back only when every notifier's flush is done.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a notifier with nothing pending returns nothing
  invalidateRange(start: number, end: number): PendingFlush | void;
  /** The address space is being torn down (exit_mmap), page tables still intact. */
  // biome-ignore lint/suspicious/noConfusingVoidType: as invalidateRange
  release(): PendingFlush | void;
}

/** A notifier flush still running in modelled time (a kernel thread's completion). */
export interface PendingFlush {
  readonly done: boolean;
  onDone(cb: () => void): void;
}

/** What a fault asks for (the PRQ's RDR / WRR / EXR); reads are always required. */
export interface FaultAccess {
  write: boolean;
  exec?: boolean;
}

/** Outcome of {@link Process.handleMmFault}: serviced, or no VMA / no permission (VM_FAULT_SIGSEGV). */
export type FaultResult = 'ok' | 'segv';

interface MutableVma {
  start: number;
  end: number;
  read: boolean;
  write: boolean;
  exec: boolean;
  pageSize: PageSize;
}

const PROTS: Readonly<Record<Prot, { read: boolean; write: boolean; exec: boolean }>> = {
  none: { read: false, write: false, exec: false },
  r: { read: true, write: false, exec: false },
  rw: { read: true, write: true, exec: false },
  rx: { read: true, write: false, exec: true },
  rwx: { read: true, write: true, exec: true },
};

function parseProt(prot: unknown, op: string): { read: boolean; write: boolean; exec: boolean } {
  if (typeof prot === 'string' && Object.hasOwn(PROTS, prot)) return PROTS[prot as Prot];
  throw memError(
    MemErrorCode.EINVAL,
    `${op}: prot must be one of 'none', 'r', 'rw', 'rx', 'rwx', got ${JSON.stringify(prot)}`,
  );
}

function pageBytes(size: PageSize): number {
  return size === '2m' ? HUGE_PAGE_SIZE : PAGE_SIZE;
}

function roundUp(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}

function sameFlags(a: MutableVma, b: MutableVma): boolean {
  return a.read === b.read && a.write === b.write && a.exec === b.exec && a.pageSize === b.pageSize;
}

/** A simulated process address space (an mm) with demand paging in simulated physical memory. */
export class Process {
  /** Process identifier given by the creator. */
  readonly id: number;
  /** The memory holding this process's pages and page tables. */
  readonly mem: PhysicalMemory;
  /** The CPU (and SVA) page-table tree. */
  readonly pageTable: PageTable;
  /** Paging depth. */
  readonly levels: PagingLevels;
  /** Virtual-address width for canonical checks: 48 (4-level) or 57 (5-level). */
  readonly vaBits: 48 | 57;
  /**
   * One past the highest user address: TASK_SIZE_MAX = 2^47 − 4 KiB (4-level); with 5 levels
   * 2^56 − 4 KiB capped to 2^53 (exact `number` byte addresses).
   */
  readonly taskSize: number;

  // Grown by exact-size copies, not push / splice, which reserve 17 slots: a process keeps
  // both all its life, and a run may hold a hundred thousand processes.
  private list: MutableVma[] = [];
  private notifiers: MmuNotifier[] = [];
  private live = true;
  private mmCount = 1;
  private rss = 0;
  private populated = 0;
  private spurious = 0;
  /** Called once when mm_count reaches 0 (the creator stops tracking the mm). */
  private readonly onFree: ((p: Process) => void) | null;

  /** Creates an empty address space with its root table (pgd) allocated. */
  constructor(
    mem: PhysicalMemory,
    options: { id: number; levels?: PagingLevels; onFree?: (p: Process) => void },
  ) {
    this.id = options.id;
    this.onFree = options.onFree ?? null;
    this.mem = mem;
    this.levels = options.levels ?? 4;
    this.pageTable = new PageTable(mem, { levels: this.levels });
    this.vaBits = this.levels === 5 ? 57 : 48;
    this.taskSize = this.levels === 5 ? 2 ** 53 : 2 ** 47 - PAGE_SIZE;
  }

  /** Frame of the root table (pgd) — what the PASID entry's FSPTPTR holds; 0 once mm_count hit 0. */
  get pgdPfn(): number {
    return this.pageTable.rootPfn;
  }

  /** True while mm_users > 0 (before exit). */
  get alive(): boolean {
    return this.live;
  }

  /** Current mm_count (references to the mm structure). */
  get mmCountRefs(): number {
    return this.mmCount;
  }

  /** 4 KiB pages currently populated (a 2 MiB page counts 512). */
  get rssPages(): number {
    return this.rss;
  }

  /** handleMmFault calls that populated a page. */
  get faults(): number {
    return this.populated;
  }

  /** handleMmFault calls that found the page already present (spurious; only A/D or R/W set). */
  get spuriousFaults(): number {
    return this.spurious;
  }

  /** Read-only copies of the VMAs, sorted by address. */
  get vmas(): Vma[] {
    return this.list.map((v) => ({ ...v }));
  }

  /** Registered notifiers in registration order (a copy). */
  get mmuNotifiers(): MmuNotifier[] {
    return [...this.notifiers];
  }

  /** `mmget_not_zero`: true while the address space is alive (the IOMMU fault path checks it first). */
  mmgetNotZero(): boolean {
    return this.live;
  }

  /** `mmgrab`: takes a reference on the mm structure (an SVA bond holds one until it is freed). */
  mmgrab(): void {
    if (this.mmCount <= 0)
      throw invariantError(`mmgrab on process ${this.id} whose mm_count is ${this.mmCount}`);
    this.mmCount++;
  }

  /** `mmdrop`: drops a reference; at zero the root table (pgd) frame is freed. */
  mmdrop(): void {
    if (this.mmCount <= 0)
      throw invariantError(`mmdrop on process ${this.id} whose mm_count is ${this.mmCount}`);
    if (this.mmCount === 1 && this.live) {
      throw invariantError(
        `mmdrop would free process ${this.id}'s mm while it is alive (mm_count 1, not exited)`,
      );
    }
    this.mmCount--;
    if (this.mmCount === 0) {
      this.pageTable.freeTables(false);
      this.onFree?.(this);
    }
  }

  /** Registers a notifier (mmu_notifier_register); it fires after every registered before it. */
  registerNotifier(n: MmuNotifier): void {
    this.assertAlive('registerNotifier');
    if (this.notifiers.includes(n)) {
      throw invariantError(`notifier registered twice on process ${this.id}`);
    }
    this.notifiers = this.notifiers.concat([n]);
  }

  /** Removes a notifier; returns false when it was not registered (e.g. already removed by exit). */
  unregisterNotifier(n: MmuNotifier): boolean {
    const i = this.notifiers.indexOf(n);
    if (i < 0) return false;
    this.notifiers.splice(i, 1);
    return true;
  }

  /**
   * `find_vma` + vm_start check: the VMA containing byte `addr`, or undefined (no stack
   * expansion). The object is live: read it now, do not keep it across mmap / munmap / mprotect.
   */
  findVma(addr: number): Vma | undefined {
    const list = this.list;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.end <= addr) lo = mid + 1;
      else hi = mid;
    }
    const v = list[lo];
    return v !== undefined && v.start <= addr ? v : undefined;
  }

  /**
   * Creates an anonymous private mapping and returns its base; pages are populated on demand.
   * Errors: `EINVAL` (length ≤ 0, unaligned addr, bad prot / pageSize, range overlapping a
   * mapping — Linux's MAP_FIXED_NOREPLACE says EEXIST there), `EPERM` (addr below
   * mmap_min_addr), `ENOMEM` (outside user space, no gap). Adjacent 4 KiB VMAs with equal
   * protection merge (vma_merge).
   */
  mmap(options: MmapOptions): number {
    this.assertAlive('mmap');
    const { addr, length, prot } = options;
    const pageSize = options.pageSize ?? '4k';
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length <= 0) {
      throw memError(
        MemErrorCode.EINVAL,
        `mmap: length must be a positive integer number of bytes, got ${String(length)}`,
      );
    }
    const perms = parseProt(prot, 'mmap');
    if (pageSize !== '4k' && pageSize !== '2m') {
      throw memError(
        MemErrorCode.EINVAL,
        `mmap: pageSize must be '4k' or '2m', got ${JSON.stringify(pageSize)}`,
      );
    }
    const align = pageBytes(pageSize);
    const len = roundUp(length, align);
    let start: number;
    if (addr !== undefined) {
      if (typeof addr !== 'number' || !Number.isInteger(addr) || addr < 0 || addr % align !== 0) {
        throw memError(
          MemErrorCode.EINVAL,
          `mmap: addr ${typeof addr === 'number' ? hex(addr) : String(addr)} must be a non-negative multiple of ${align === PAGE_SIZE ? '4 KiB' : '2 MiB'} for pageSize '${pageSize}'; align it or omit addr`,
        );
      }
      if (addr < MMAP_MIN_ADDR) {
        throw memError(
          MemErrorCode.EPERM,
          `mmap: addr ${hex(addr)} is below mmap_min_addr (${hex(MMAP_MIN_ADDR)}); use a higher address or omit addr`,
        );
      }
      if (len > this.taskSize || addr > this.taskSize - len) {
        throw memError(
          MemErrorCode.ENOMEM,
          `mmap: [${hex(addr)}, ${hex(addr + len)}) is outside the ${this.levels}-level user address space [0, ${hex(this.taskSize)}); use a lower address${this.levels === 4 ? ' or 5-level paging' : ''}`,
        );
      }
      const i = this.firstOverlap(addr, addr + len);
      if (i >= 0) {
        const v = this.list[i]!;
        throw memError(
          MemErrorCode.EINVAL,
          `mmap: [${hex(addr)}, ${hex(addr + len)}) overlaps the mapping [${hex(v.start)}, ${hex(v.end)}); munmap it first or choose another addr`,
        );
      }
      start = addr;
    } else {
      start = this.findGapTopDown(len, align);
    }
    this.insertVma({ start, end: start + len, ...perms, pageSize });
    return start;
  }

  /**
   * Removes mappings in [addr, addr + length) (Linux semantics: parts of VMAs split off, holes
   * are fine), frees their pages and emptied page tables, then fires `invalidateRange` once for
   * the whole range if any VMA was there. Errors: `EINVAL` (unaligned addr, length ≤ 0, range
   * outside user space, a split point inside a 2 MiB VMA not 2 MiB aligned).
   */
  munmap(addr: number, length: number): void {
    this.assertAlive('munmap');
    if (!Number.isInteger(addr) || addr < 0 || addr % PAGE_SIZE !== 0) {
      throw memError(
        MemErrorCode.EINVAL,
        `munmap: addr ${String(addr)} must be a non-negative multiple of 4 KiB`,
      );
    }
    if (!Number.isSafeInteger(length) || length <= 0) {
      throw memError(
        MemErrorCode.EINVAL,
        `munmap: length must be a positive integer number of bytes, got ${String(length)}`,
      );
    }
    const len = roundUp(length, PAGE_SIZE);
    if (addr > this.taskSize || len > this.taskSize - addr) {
      throw memError(
        MemErrorCode.EINVAL,
        `munmap: [${hex(addr)}, ${hex(addr + len)}) extends beyond the user address space end ${hex(this.taskSize)}`,
      );
    }
    const start = addr;
    const end = addr + len;
    const i0 = this.firstOverlap(start, end);
    if (i0 < 0) return;
    let i1 = i0;
    while (i1 < this.list.length && this.list[i1]!.start < end) i1++;
    this.checkHugeSplit(i0, i1, start, end, 'munmap');
    const kept: MutableVma[] = [];
    for (let i = i0; i < i1; i++) {
      const v = this.list[i]!;
      const s = Math.max(start, v.start);
      const e = Math.min(end, v.end);
      if (i === i0) this.mem.beginDeferral();
      this.unmapPages(s, e);
      if (v.start < start) kept.push({ ...v, end: start });
      if (end < v.end) kept.push({ ...v, start: end });
    }
    const frames = this.mem.endDeferral();
    this.list.splice(i0, i1 - i0, ...kept);
    this.freeAfter(this.notifyInvalidate(start, end), frames);
  }

  /**
   * Changes the protection of [addr, addr + length), splitting VMAs and updating present PTEs;
   * fires `invalidateRange` once over the range only when a present page lost a permission.
   * Length 0 is a no-op (as in Linux). Errors: `EINVAL` (unaligned addr, negative length, bad
   * prot, a split point inside a 2 MiB VMA not 2 MiB aligned), `ENOMEM` (part of the range not
   * mapped, or outside user space).
   */
  mprotect(addr: number, length: number, prot: Prot): void {
    this.assertAlive('mprotect');
    if (!Number.isInteger(addr) || addr < 0 || addr % PAGE_SIZE !== 0) {
      throw memError(
        MemErrorCode.EINVAL,
        `mprotect: addr ${String(addr)} must be a non-negative multiple of 4 KiB`,
      );
    }
    if (!Number.isSafeInteger(length) || length < 0) {
      throw memError(
        MemErrorCode.EINVAL,
        `mprotect: length must be a non-negative integer number of bytes, got ${String(length)}`,
      );
    }
    const perms = parseProt(prot, 'mprotect');
    if (length === 0) return;
    const len = roundUp(length, PAGE_SIZE);
    const start = addr;
    const end = addr + len;
    if (addr > this.taskSize || len > this.taskSize - addr) {
      throw memError(
        MemErrorCode.ENOMEM,
        `mprotect: [${hex(start)}, ${hex(end)}) extends beyond the user address space end ${hex(this.taskSize)}`,
      );
    }
    const i0 = this.firstOverlap(start, end);
    let i1 = i0;
    let covered = start;
    while (i0 >= 0 && i1 < this.list.length && this.list[i1]!.start < end) {
      const v = this.list[i1]!;
      if (v.start > covered) break;
      covered = v.end;
      i1++;
    }
    if (i0 < 0 || covered < end) {
      throw memError(
        MemErrorCode.ENOMEM,
        `mprotect: [${hex(start)}, ${hex(end)}) is not fully mapped (nothing mapped at ${hex(covered)}); mmap the range first`,
      );
    }
    this.checkHugeSplit(i0, i1, start, end, 'mprotect');
    const replaced: MutableVma[] = [];
    let downgraded = false;
    for (let i = i0; i < i1; i++) {
      const v = this.list[i]!;
      const s = Math.max(start, v.start);
      const e = Math.min(end, v.end);
      if (v.start < start) replaced.push({ ...v, end: start });
      replaced.push({ ...v, start: s, end: e, ...perms });
      if (end < v.end) replaced.push({ ...v, start: end });
      if (this.pageTable.protectRange(s / PAGE_SIZE, e / PAGE_SIZE, perms)) downgraded = true;
    }
    this.list.splice(i0, i1 - i0, ...replaced);
    this.mergeAround(Math.max(0, i0 - 1), Math.min(this.list.length, i0 + replaced.length + 1));
    if (downgraded) this.notifyInvalidate(start, end); // nothing was freed: nothing waits
  }

  /**
   * Services a fault at byte `addr` as `handle_mm_fault` would, after the VMA lookup and access
   * check of spec §4.3: 'segv' when no VMA contains addr or it lacks a requested right (read is
   * always required; write needs VM_WRITE, exec needs VM_EXEC). Otherwise populates a zeroed page
   * (2 MiB in a '2m' VMA) mapped with the VMA's rights, or for a present page only sets A/D
   * (and R/W when the VMA allows it); 'ok'. Out of frames throws `ENOMEM` (VM_FAULT_OOM);
   * after exit throws `ESRCH` (callers check `mmgetNotZero()` first).
   */
  handleMmFault(addr: number, access: FaultAccess): FaultResult {
    return this.fault(addr, access, false);
  }

  /**
   * handleMmFault; with `overwrite` a new 4 KiB page gets a frame that is not zeroed first,
   * because the caller writes all its 4096 bytes before anything can read them.
   */
  private fault(addr: number, access: FaultAccess, overwrite: boolean): FaultResult {
    this.assertAlive('handleMmFault');
    if (!Number.isSafeInteger(addr) || addr < 0) {
      throw memError(
        MemErrorCode.EINVAL,
        `handleMmFault: addr must be a non-negative integer, got ${String(addr)}`,
      );
    }
    const vma = this.findVma(addr);
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
    try {
      pt.map(baseVpn, pfn, { write: vma.write, exec: vma.exec, user: true, size: vma.pageSize });
    } catch (err) {
      if (huge) this.mem.freeFrames(pfn, PAGES_PER_2M);
      else this.mem.freeFrame(pfn);
      throw err;
    }
    pt.setAccessed(baseVpn, access.write);
    this.rss += huge ? PAGES_PER_2M : 1;
    this.populated++;
    return 'ok';
  }

  /** CPU load of `length` bytes at `addr`, faulting pages in as needed; returns a fresh copy. Throws `EFAULT` on a bad address. */
  read(addr: number, length: number): Uint8Array {
    this.assertAlive('read');
    this.checkAccessRange(addr, length, 'read');
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

  /** CPU store of `bytes` at `addr`, faulting pages in as needed. Throws `EFAULT` on a bad address (earlier pages stay written). */
  write(addr: number, bytes: Uint8Array): void {
    this.assertAlive('write');
    const length = bytes.length;
    this.checkAccessRange(addr, length, 'write');
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
   * CPU fill of [addr, addr + length): every byte of page i of the range (the 4 KiB page at
   * addr + i × 4096) that lies in the range becomes `byteOfPage(i) & 0xff`. The same outcome
   * as `write()` of those bytes — pages faulted in for writing, A and D set, `EFAULT` at the
   * first page without a mapping or write permission (earlier pages stay filled) — but each
   * page is one word-wide fill instead of a copy, and a 4 KiB page the range covers whole is
   * faulted in without zeroing its frame first. Errors: `EINVAL` (addr not 4 KiB aligned, bad
   * length), `EFAULT`, `ENOMEM`, `ESRCH` after exit.
   */
  fillPages(addr: number, length: number, byteOfPage: (pageIndex: number) => number): void {
    this.assertAlive('fillPages');
    this.checkAccessRange(addr, length, 'fillPages');
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
      this.mem.fillBytes(pfn * PAGE_SIZE, n, byte);
    }
  }

  /**
   * mm exit (exit_mmap): fires every notifier's `release()` in registration order while the page
   * tables are intact, empties the notifier list, frees every page and page-table page except the
   * root, and drops the process's own mm_count reference. A second exit throws `ESRCH`.
   */
  exit(): void {
    this.assertAlive('exit');
    this.live = false; // mm_users reached 0 before exit_mmap runs
    const ns = [...this.notifiers];
    const pending: PendingFlush[] = [];
    for (const n of ns) {
      const p = n.release();
      if (p && !p.done) pending.push(p);
    }
    this.notifiers.length = 0;
    // exit_mmap frees the pages only after release's flushes: collect them until then
    this.mem.beginDeferral();
    for (const v of this.list) this.unmapPages(v.start, v.end);
    this.list.length = 0;
    this.pageTable.freeTables(true);
    this.freeAfter(pending, this.mem.endDeferral());
    if (this.rss !== 0) throw invariantError(`process ${this.id} exit left rssPages=${this.rss}`);
    this.mmdrop();
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
      const vma = this.findVma(addr);
      throw memError(
        MemErrorCode.EFAULT,
        `process ${this.id}: CPU ${write ? 'write' : 'read'} at ${hex(addr)} faulted (SIGSEGV): ${vma === undefined ? 'no mapping there' : `mapping [${hex(vma.start)}, ${hex(vma.end)}) does not allow ${write ? 'writes' : 'reads'}`}`,
      );
    }
    w = pt.findLeaf(vpn);
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

  /** Unmaps [start, end) (bytes) in the page table and frees the frames. */
  private unmapPages(start: number, end: number): void {
    const mem = this.mem;
    const pages = this.pageTable.unmapRange(start / PAGE_SIZE, end / PAGE_SIZE, (pfn, size) => {
      if (size === '2m') mem.freeFrames(pfn, PAGES_PER_2M);
      else mem.freeFrame(pfn);
    });
    this.rss -= pages;
  }

  /** Fires every notifier for [start, end); returns the flushes still running. */
  private notifyInvalidate(start: number, end: number): PendingFlush[] {
    const pending: PendingFlush[] = [];
    if (this.notifiers.length === 0) return pending;
    const ns = [...this.notifiers];
    for (const n of ns) {
      const p = n.invalidateRange(start, end);
      if (p && !p.done) pending.push(p);
    }
    return pending;
  }

  /** Frees `frames` once every flush in `pending` is done (at once when none runs). */
  private freeAfter(pending: readonly PendingFlush[], frames: number[]): void {
    if (frames.length === 0) return;
    let left = pending.length;
    if (left === 0) {
      this.mem.releaseDeferred(frames);
      return;
    }
    for (const p of pending) {
      p.onDone(() => {
        if (--left === 0) this.mem.releaseDeferred(frames);
      });
    }
  }

  /** Index of the first VMA overlapping [start, end), or -1. */
  private firstOverlap(start: number, end: number): number {
    const list = this.list;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.end <= start) lo = mid + 1;
      else hi = mid;
    }
    const v = list[lo];
    return v !== undefined && v.start < end ? lo : -1;
  }

  /** Top-down first fit below MMAP_BASE (Linux unmapped_area_topdown without guard gaps). */
  private findGapTopDown(len: number, align: number): number {
    const list = this.list;
    let gapEnd = Math.min(MMAP_BASE, this.taskSize);
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

  private insertVma(vma: MutableVma): void {
    const list = this.list;
    let i = 0;
    while (i < list.length && list[i]!.start < vma.start) i++;
    this.list = list.toSpliced(i, 0, vma);
    this.mergeAround(Math.max(0, i - 1), Math.min(this.list.length, i + 2));
  }

  /** Merges adjacent 4 KiB VMAs with equal flags among list[from, to) (vma_merge). */
  private mergeAround(from: number, to: number): void {
    const list = this.list;
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

  /** A split point strictly inside a 2 MiB VMA must be 2 MiB aligned (hugetlb may_split). */
  private checkHugeSplit(i0: number, i1: number, start: number, end: number, op: string): void {
    for (let i = i0; i < i1; i++) {
      const v = this.list[i]!;
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

  private checkAccessRange(addr: number, length: number, op: string): void {
    if (!Number.isSafeInteger(addr) || addr < 0) {
      throw memError(
        MemErrorCode.EINVAL,
        `${op}: addr must be a non-negative integer, got ${String(addr)}`,
      );
    }
    if (!Number.isSafeInteger(length) || length < 0 || addr + length > 2 ** 53) {
      throw memError(MemErrorCode.EINVAL, `${op}: bad length ${String(length)} at ${hex(addr)}`);
    }
  }

  private assertAlive(op: string): void {
    if (!this.live) {
      throw memError(
        MemErrorCode.ESRCH,
        `process ${this.id}: ${op} after exit (the mm has no users); create a new process`,
      );
    }
  }
}
