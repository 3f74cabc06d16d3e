/**
 * A process address space (Linux `mm_struct`): VMAs with r/w/x, an x86-64 page-table tree in
 * simulated physical memory, mmap / munmap / mprotect / exit, CPU-side read and write, and
 * `handle_mm_fault` as the kernel services it for the CPU and for the IOMMU's page-request
 * handler (spec §1 "mm", §4.3 per-request checks, §5 mmu notifier invalidation and release).
 * This file wires the pieces and holds the mm's lifetime; the VMA list is in vma.ts, faults
 * and CPU access in demand-paging.ts, the notifier interface in mmu-notifier.ts.
 *
 * Lifetime follows Linux: `mm_users` (address space alive; modelled as `alive`, which
 * `mmgetNotZero()` reports) versus `mm_count` (the structure; `mmgrab` / `mmdrop`). The process
 * itself holds one mm_count reference that `exit()` drops; an SVA bond holds another. `exit()`
 * first calls every notifier's `release()` (spec §5.2: intel_mm_release runs from exit_mmap
 * before the page tables are freed), empties the notifier list, then frees every page, every
 * page-table page but the root; the root (pgd) frame is freed when mm_count reaches 0.
 *
 * Notifier timing: `invalidateRange(start, end)` (byte addresses, end exclusive) fires after
 * the page tables changed (spec §5.1 "pages have been freed at this point"; the frames go back
 * once the flushes are done). Which calls an operation makes is the kernel's mm code, an
 * {@link MmNotifierCalls} policy (spec §5.1.1; v5.8's by default): in v5.8 a munmap calls
 * over [addr, addr + length) when any VMA was in it and then again over the span it cleared,
 * an mprotect calls once per changed VMA per 1 GiB span with a populated PMD whatever the
 * direction of the change, and a fault-in calls nothing. An operation's calls follow one
 * another; within a call, notifiers fire in registration order. munmap, mprotect and exit
 * return a promise of the flushes they left running, resolved when the last one ends through
 * {@link Process.awaitFlushes} (the system's testbench), already resolved when none is left.
 *
 * Not modelled: fork, file mappings, mm_users counting beyond "alive",
 * `mmu_notifier_unregister` calling `release()` (it only removes the notifier here), kernel
 * (supervisor) mappings in the pgd. vma.ts and demand-paging.ts list what they leave out.
 */

import { describeValue } from '../errors.js';
import { DemandPager, type FaultAccess, type FaultResult } from './demand-paging.js';
import { hex, invariantError, MemErrorCode, memError } from './errors.js';
import {
  freeAfter,
  MM_NOTIFIER_CALLS_V58,
  type MmNotifierCalls,
  type MmuNotifier,
  notifyRelease,
  notifySequence,
  type PendingFlush,
} from './mmu-notifier.js';
import { PageTable } from './page-table.js';
import { emptyUnmapSpan, type UnmapSpan } from './page-table-frames.js';
import { LEVEL_SPAN_PAGES, type PagingLevels } from './page-table-walk.js';
import { PAGE_SIZE, type PhysicalMemory } from './physical-memory.js';
import {
  checkHugeSplit,
  findGapTopDown,
  firstOverlap,
  insertVma,
  lookupVma,
  MMAP_MIN_ADDR,
  type MmapOptions,
  type MutableVma,
  mergeAround,
  type Prot,
  pageBytes,
  parseProt,
  roundUp,
  type Vma,
} from './vma.js';

/** What munmap, mprotect and exit return when nothing is left to wait for. */
const SETTLED: Promise<void> = Promise.resolve();

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

  /** When this mm calls its notifiers (the kernel's mm code, spec §5.1.1). */
  readonly notifierCalls: MmNotifierCalls;

  private readonly list: MutableVma[] = [];
  private readonly notifiers: MmuNotifier[] = [];
  private live = true;
  private mmCount = 1;
  /** Called once when mm_count reaches 0 (the creator stops tracking the mm). */
  private readonly onFree: ((p: Process) => void) | null;
  /** Callbacks of {@link onMmFree}, run after `onFree`. */
  private freeHooks: (() => void)[] | null = null;
  private readonly pager: DemandPager;

  /**
   * Creates an empty address space with its root table (pgd) allocated. `notifierCalls` is
   * the kernel's notifier call pattern (default v5.8's).
   */
  constructor(
    mem: PhysicalMemory,
    options: {
      id: number;
      levels?: PagingLevels;
      onFree?: (p: Process) => void;
      notifierCalls?: MmNotifierCalls;
    },
  ) {
    this.onFree = options.onFree ?? null;
    this.notifierCalls = options.notifierCalls ?? MM_NOTIFIER_CALLS_V58;
    this.id = options.id;
    this.mem = mem;
    this.levels = options.levels ?? 4;
    this.pageTable = new PageTable(mem, { levels: this.levels });
    this.vaBits = this.levels === 5 ? 57 : 48;
    this.taskSize = this.levels === 5 ? 2 ** 53 : 2 ** 47 - PAGE_SIZE;
    this.pager = new DemandPager(this.id, mem, this.pageTable, this.list);
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

  /** Read-only copies of the VMAs, sorted by address. */
  get vmas(): Vma[] {
    return this.list.map((v) => ({ ...v }));
  }

  /** 4 KiB pages currently populated (a 2 MiB page counts 512). */
  get rssPages(): number {
    return this.pager.rssPages;
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
      const hooks = this.freeHooks;
      this.freeHooks = null;
      if (hooks) for (const h of hooks) h();
    }
  }

  /**
   * Runs `cb` once when mm_count reaches 0 (`__mmdrop`): what the kernel releases with the mm
   * structure, such as the PASID an mm owns in later kernels (`mm_pasid_drop`, spec §10.1).
   */
  onMmFree(cb: () => void): void {
    if (this.mmCount <= 0) throw invariantError(`onMmFree on process ${this.id}, already freed`);
    if (this.freeHooks) this.freeHooks.push(cb);
    else this.freeHooks = [cb];
  }

  /** Registers a notifier (mmu_notifier_register); it fires after every registered before it. */
  registerNotifier(n: MmuNotifier): void {
    this.assertAlive('registerNotifier');
    if (this.notifiers.includes(n)) {
      throw invariantError(`notifier registered twice on process ${this.id}`);
    }
    this.notifiers.push(n);
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
   * EINVAL for an addr that is not an integer inside the address width.
   */
  findVma(addr: number): Vma | undefined {
    this.checkAddr('findVma', addr);
    return lookupVma(this.list, addr);
  }

  /**
   * @internal {@link findVma} without the argument check, for the kernel's page-request path
   * and the runner's CPU touches, which pass page addresses they computed themselves.
   */
  vmaAt(addr: number): Vma | undefined {
    return lookupVma(this.list, addr);
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
    if (typeof options !== 'object' || options === null) {
      throw memError(
        MemErrorCode.EINVAL,
        `mmap: expected options { addr?, length, prot, pageSize? }, got ${describeValue(options)}`,
      );
    }
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
      const i = firstOverlap(this.list, addr, addr + len);
      if (i >= 0) {
        const v = this.list[i]!;
        throw memError(
          MemErrorCode.EINVAL,
          `mmap: [${hex(addr)}, ${hex(addr + len)}) overlaps the mapping [${hex(v.start)}, ${hex(v.end)}); munmap it first or choose another addr`,
        );
      }
      start = addr;
    } else {
      start = findGapTopDown(this.list, len, align, this.taskSize);
    }
    insertVma(this.list, { start, end: start + len, ...perms, pageSize });
    return start;
  }

  /**
   * Removes mappings in [addr, addr + length) (Linux semantics: parts of VMAs split off, holes
   * are fine), frees their pages and emptied page tables, then, if any VMA was there, calls
   * `invalidateRange` as {@link notifierCalls} says (v5.8: over the whole range, then over
   * the span cleared when pages were mapped; see {@link munmapCalls}). Errors: `EINVAL`
   * (unaligned addr, length ≤ 0, range outside user space, a split point inside a 2 MiB VMA
   * not 2 MiB aligned).
   */
  munmap(addr: number, length: number): Promise<void> {
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
    const i0 = firstOverlap(this.list, start, end);
    if (i0 < 0) return SETTLED;
    let i1 = i0;
    while (i1 < this.list.length && this.list[i1]!.start < end) i1++;
    checkHugeSplit(this.list, i0, i1, start, end, 'munmap');
    const kept: MutableVma[] = [];
    const hugePieces: number[] = [];
    const gathered = emptyUnmapSpan();
    for (let i = i0; i < i1; i++) {
      const v = this.list[i]!;
      const s = Math.max(start, v.start);
      const e = Math.min(end, v.end);
      if (i === i0) this.mem.beginDeferral();
      this.pager.unmapPages(s, e, gathered);
      if (v.pageSize === '2m') hugePieces.push(s, e);
      if (v.start < start) kept.push({ ...v, end: start });
      if (end < v.end) kept.push({ ...v, start: end });
    }
    const frames = this.mem.endDeferral();
    this.list.splice(i0, i1 - i0, ...kept);
    const calls = this.munmapCalls(hugePieces, start, end, gathered);
    const pending = notifySequence(this.notifiers, calls);
    freeAfter(this.mem, pending, frames);
    return this.settled(pending);
  }

  /**
   * munmap's `invalidateRange` calls, as flat [start, end) pairs in call order, given the
   * hugetlb pieces unmapped and the span the unmap cleared (spec §5.1.1). v5.8
   * (`unmap_region`): each hugetlb piece's own start/end pair (`__unmap_hugepage_range`), then
   * `unmap_vmas`' range end over [start, end), then `tlb_finish_mmu`'s flush over the gathered
   * span when anything was cleared. Mid-way flushes of a full gather batch are not modelled.
   */
  private munmapCalls(
    hugePieces: number[],
    start: number,
    end: number,
    gathered: UnmapSpan,
  ): number[] {
    switch (this.notifierCalls.munmap) {
      case 'range-end-then-gather': {
        const calls = hugePieces;
        calls.push(start, end);
        if (gathered.startVpn < gathered.endVpn) {
          calls.push(gathered.startVpn * PAGE_SIZE, gathered.endVpn * PAGE_SIZE);
        }
        return calls;
      }
      case 'tlb-gather':
        // tlb_finish_mmu's one flush over the gathered span, when anything was cleared
        return gathered.startVpn < gathered.endVpn
          ? [gathered.startVpn * PAGE_SIZE, gathered.endVpn * PAGE_SIZE]
          : [];
    }
  }

  /**
   * Changes the protection of [addr, addr + length), splitting VMAs and updating present PTEs,
   * and calls `invalidateRange` as {@link notifierCalls} says (v5.8: once per VMA whose
   * rights change per 1 GiB span with a populated PMD, whichever way they change; see
   * {@link mprotectPiece}). Length 0 is a no-op (as in Linux). Errors: `EINVAL` (unaligned
   * addr, negative length, bad prot, a split point inside a 2 MiB VMA not 2 MiB aligned),
   * `ENOMEM` (part of the range not mapped, or outside user space).
   */
  mprotect(addr: number, length: number, prot: Prot): Promise<void> {
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
    if (length === 0) return SETTLED;
    const len = roundUp(length, PAGE_SIZE);
    const start = addr;
    const end = addr + len;
    if (addr > this.taskSize || len > this.taskSize - addr) {
      throw memError(
        MemErrorCode.ENOMEM,
        `mprotect: [${hex(start)}, ${hex(end)}) extends beyond the user address space end ${hex(this.taskSize)}`,
      );
    }
    const i0 = firstOverlap(this.list, start, end);
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
    checkHugeSplit(this.list, i0, i1, start, end, 'mprotect');
    const replaced: MutableVma[] = [];
    const calls: number[] = [];
    const changed = emptyUnmapSpan();
    for (let i = i0; i < i1; i++) {
      const v = this.list[i]!;
      const s = Math.max(start, v.start);
      const e = Math.min(end, v.end);
      if (v.start < start) replaced.push({ ...v, end: start });
      replaced.push({ ...v, start: s, end: e, ...perms });
      if (end < v.end) replaced.push({ ...v, start: end });
      // mprotect_fixup: nothing to do when the flags stay the same
      if (v.read !== perms.read || v.write !== perms.write || v.exec !== perms.exec) {
        this.mprotectPiece(calls, s, e, v.pageSize === '2m', perms, changed);
      }
    }
    this.list.splice(i0, i1 - i0, ...replaced);
    mergeAround(
      this.list,
      Math.max(0, i0 - 1),
      Math.min(this.list.length, i0 + replaced.length + 1),
    );
    if (changed.startVpn < changed.endVpn) {
      // 'tlb-gather': one flush over the leaves that lost a permission
      calls.push(changed.startVpn * PAGE_SIZE, changed.endVpn * PAGE_SIZE);
    }
    // nothing was freed: no frame waits, only the caller
    return this.settled(notifySequence(this.notifiers, calls));
  }

  /**
   * Changes the PTEs of the VMA piece [s, e) whose rights change, and appends the
   * `invalidateRange` calls this makes (spec §5.1.1, v5.8 `change_protection`): for a hugetlb
   * piece one call over it (`hugetlb_change_protection`); otherwise, per PUD-sized span, one
   * call from the first populated PMD's address (the span's start when its own PMD is
   * populated) to the span's end, none when no PMD of the span is populated
   * (`change_pmd_range`). The direction of the change does not matter.
   */
  private mprotectPiece(
    calls: number[],
    s: number,
    e: number,
    huge: boolean,
    perms: { read: boolean; write: boolean; exec: boolean },
    changed: UnmapSpan,
  ): void {
    const pt = this.pageTable;
    switch (this.notifierCalls.mprotect) {
      case 'tlb-gather':
        pt.protectRange(s / PAGE_SIZE, e / PAGE_SIZE, perms, changed);
        return;
      case 'pmd-spans': {
        if (huge) {
          pt.protectRange(s / PAGE_SIZE, e / PAGE_SIZE, perms);
          calls.push(s, e);
          return;
        }
        const pudPages = LEVEL_SPAN_PAGES[3];
        for (let a = s / PAGE_SIZE; a < e / PAGE_SIZE; ) {
          const next = Math.min(e / PAGE_SIZE, (Math.floor(a / pudPages) + 1) * pudPages);
          const first = pt.firstPopulatedPmd(a, next);
          pt.protectRange(a, next, perms);
          if (first >= 0) calls.push(first * PAGE_SIZE, next * PAGE_SIZE);
          a = next;
        }
        return;
      }
    }
  }

  /** handleMmFault calls that populated a page. */
  get faults(): number {
    return this.pager.faults;
  }

  /**
   * Services a fault at byte `addr` as `handle_mm_fault` would, after the VMA lookup and access
   * check of spec §4.3: 'segv' when no VMA contains addr or it lacks a requested right (read is
   * always required; write needs VM_WRITE, exec needs VM_EXEC). Otherwise populates a zeroed page
   * (2 MiB in a '2m' VMA) mapped with the VMA's rights, or for a present page only sets A/D
   * (and R/W when the VMA allows it); 'ok'. Out of frames throws `ENOMEM` (VM_FAULT_OOM);
   * after exit throws `ESRCH` (callers check `mmgetNotZero()` first). EINVAL for an addr that
   * is not a non-negative integer, or an access that is not `{ write: boolean, exec?: boolean }`.
   */
  handleMmFault(addr: number, access: FaultAccess): FaultResult {
    if (
      typeof access !== 'object' ||
      access === null ||
      typeof access.write !== 'boolean' ||
      (access.exec !== undefined && typeof access.exec !== 'boolean')
    ) {
      throw memError(
        MemErrorCode.EINVAL,
        `handleMmFault: access must be { write: boolean, exec?: boolean }, got ${describeValue(access)}${typeof access === 'object' && access !== null ? ` with write ${describeValue(access.write)}, exec ${describeValue(access.exec)}` : ''}`,
      );
    }
    return this.serviceFault(addr, access);
  }

  /**
   * @internal {@link handleMmFault} without the check of `access`, for the kernel's
   * page-request path and the runner's CPU touches, which build it themselves.
   */
  serviceFault(addr: number, access: FaultAccess): FaultResult {
    this.assertAlive('handleMmFault');
    return this.pager.fault(addr, access, false);
  }

  /** handleMmFault calls that found the page already present (spurious; only A/D or R/W set). */
  get spuriousFaults(): number {
    return this.pager.spuriousFaults;
  }

  /**
   * CPU load of `length` bytes at `addr`, faulting pages in as needed; returns a fresh copy.
   * Throws `EFAULT` on an address without a readable mapping, `EINVAL` for an addr or length
   * that is not an integer, or a range past the address width.
   */
  read(addr: number, length: number): Uint8Array {
    this.assertAlive('read');
    this.checkRange('read', addr, length);
    return this.pager.read(addr, length);
  }

  /**
   * CPU store of `bytes` at `addr`, faulting pages in as needed. Throws `EFAULT` on an address
   * without a writable mapping (earlier pages stay written), `EINVAL` for bytes that are not a
   * Uint8Array, an addr that is not an integer, or a range past the address width.
   */
  write(addr: number, bytes: Uint8Array): void {
    this.assertAlive('write');
    if (!(bytes instanceof Uint8Array)) {
      throw memError(
        MemErrorCode.EINVAL,
        `write: bytes must be a Uint8Array, got ${describeValue(bytes)}`,
      );
    }
    this.checkRange('write', addr, bytes.length);
    this.pager.write(addr, bytes);
  }

  /**
   * CPU fill of [addr, addr + length): every byte of page i of the range (the 4 KiB page at
   * addr + i × 4096) that lies in the range becomes `byteOfPage(i) & 0xff`. The same outcome
   * as `write()` of those bytes — pages faulted in for writing, A and D set, `EFAULT` at the
   * first page without a mapping or write permission (earlier pages stay filled) — but each
   * page is one word-wide fill instead of a copy, and a 4 KiB page the range covers whole is
   * faulted in without zeroing its frame first. Errors: `EINVAL` (addr not 4 KiB aligned, bad
   * length, a range past the address width, byteOfPage not a function), `EFAULT`, `ENOMEM`,
   * `ESRCH` after exit.
   */
  fillPages(addr: number, length: number, byteOfPage: (pageIndex: number) => number): void {
    this.assertAlive('fillPages');
    this.checkRange('fillPages', addr, length);
    if (typeof byteOfPage !== 'function') {
      throw memError(
        MemErrorCode.EINVAL,
        `fillPages: byteOfPage must be a function of the page index, got ${describeValue(byteOfPage)}`,
      );
    }
    this.pager.fillPages(addr, length, byteOfPage);
  }

  /**
   * mm exit (exit_mmap): fires every notifier's `release()` in registration order while the page
   * tables are intact, empties the notifier list, frees every page and page-table page except the
   * root, and drops the process's own mm_count reference. A second exit throws `ESRCH`.
   */
  exit(): Promise<void> {
    this.assertAlive('exit');
    this.live = false; // mm_users reached 0 before exit_mmap runs
    const pending = notifyRelease(this.notifiers);
    this.notifiers.length = 0;
    // exit_mmap frees the pages only after release's flushes: collect them until then
    this.mem.beginDeferral();
    for (const v of this.list) this.pager.unmapPages(v.start, v.end);
    this.list.length = 0;
    this.pageTable.freeTables(true);
    freeAfter(this.mem, pending, this.mem.endDeferral());
    const rss = this.pager.rssPages;
    if (rss !== 0) throw invariantError(`process ${this.id} exit left rssPages=${rss}`);
    this.mmdrop();
    return this.settled(pending);
  }

  /**
   * How a caller outside the simulation waits for the notifier flushes an operation left
   * running (the system sets it: the testbench resolves the promise at the simulated time the
   * last flush ends); without it, or with nothing left running, the operation's promise is
   * already resolved.
   */
  awaitFlushes: ((pending: readonly PendingFlush[]) => Promise<void>) | null = null;

  private settled(pending: readonly PendingFlush[]): Promise<void> {
    return pending.length > 0 && this.awaitFlushes ? this.awaitFlushes(pending) : SETTLED;
  }

  /**
   * A byte address inside the address width: an integer in [0, 2^48) with 4-level paging,
   * [0, 2^53) with 5-level (57-bit addresses, capped where numbers stop being exact).
   */
  private checkAddr(op: string, addr: unknown): void {
    if (
      typeof addr !== 'number' ||
      !Number.isInteger(addr) ||
      addr < 0 ||
      addr >= this.addressLimit
    ) {
      throw memError(
        MemErrorCode.EINVAL,
        `${op}: addr must be an integer byte address from 0 to below ${this.addressLimitName}, got ${describeValue(addr)}`,
      );
    }
  }

  /** {@link checkAddr}, and `length` bytes from it: an integer ≥ 0 not running past the width. */
  private checkRange(op: string, addr: number, length: number): void {
    this.checkAddr(op, addr);
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) {
      throw memError(
        MemErrorCode.EINVAL,
        `${op}: length must be a non-negative integer number of bytes, got ${describeValue(length)}`,
      );
    }
    if (length > this.addressLimit - addr) {
      throw memError(
        MemErrorCode.EINVAL,
        `${op}: [${hex(addr)}, +${length}) runs past the end of the address space at ${this.addressLimitName}`,
      );
    }
  }

  /** One past the highest byte address of the address width (see {@link checkAddr}). */
  private get addressLimit(): number {
    return this.levels === 5 ? 2 ** 53 : 2 ** 48;
  }

  private get addressLimitName(): string {
    return this.levels === 5
      ? '2^53 (5-level paging, within the exact range of a number)'
      : '2^48 (4-level paging: 48-bit addresses)';
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
