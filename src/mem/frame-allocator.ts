/**
 * The frame allocator of simulated physical memory: which 4 KiB frames are in use, which are
 * free, and which freed frames must wait for an IOMMU flush before they can be handed out.
 *
 * Models the host's page allocator as seen by the code that maps pages and builds page tables
 * and IOMMU structures (spec §3.2: FSPTPTR points at a pgd held in such a frame). Only the
 * instance that created the buffer (the owner, the engine thread in the threaded runtime)
 * allocates and frees frames; `PhysicalMemory` composes one allocator and forwards to it.
 *
 * Policy: a used-byte per frame, a LIFO stack of freed frames (with a lazy "stale entry"
 * check, so contiguous allocations may take frames that are still on the stack), and a
 * next-fit cursor over frames never handed out. Single frames are O(1) amortised; contiguous
 * aligned runs (2 MiB pages) are first-fit from the bottom, O(frames). The same sequence of
 * calls always gives the same pfns. Frame 0 is reserved and never handed out: pfn 0 means
 * "none".
 *
 * Zeroing: lazily, at allocation. Freeing a frame is O(1): it only marks the frame "stale"
 * (free, still holding its last user's bytes) and tells the data side it was freed (so a
 * pending pattern fill of it is dropped, never written). An allocation zeroes a stale frame
 * with one word-wide fill before handing it out, so `allocFrame` / `allocFrames` always return
 * zero frames; frames never handed out are not touched (fresh SharedArrayBuffer memory is
 * zero), and `allocFrameForOverwrite` skips the zeroing for a caller about to write all 4096
 * bytes (a CPU fill of a whole page), so such a frame costs nothing before its first write.
 *
 * What a stale reader sees: a freed frame keeps its bytes until it is allocated again (when
 * frames were zeroed at free it read as zero at once). Who could read a freed frame through
 * the `u8` / `u32` views:
 * - a hardware walker following a stale paging-structure-cache entry into a freed page-table
 *   frame: page tables free a table only when its last used entry has been cleared (PageTable
 *   keeps a used-entry count per table; the walker and the CPU side write only into used
 *   entries), so a freed table frame is all zero, reads as not-present, and nothing writes A/D
 *   into it — the same as before. test/mem checks every freed table frame is zero.
 * - a DMA through a stale translation into a freed data frame: munmap and exit hand their
 *   frames back only after every notifier flush (IOTLB, device TLB) completed (the deferral
 *   window, {@link FrameAllocator.beginDeferral}), so no translation to a freed frame
 *   survives the flushes — unless the flushes themselves leave one: profile v5.8's unaligned
 *   range flush and `svm->iommu` routing keep translations cached (spec §5.1, §2.1.1), and
 *   then a DMA or a walk through a stale paging-structure entry reaches a freed frame, or
 *   whatever it holds once reused, as on that kernel. Translated DMA is checked against the
 *   mm by the run's `stale-translation` / `dma-unbound` invariants: a DMA that reached a
 *   freed frame is a violation, or `staleByKernel` when the kernel's ledger explains it.
 * Everything is single-threaded on the owner (the engine worker also does the DMA), so no
 * other thread can observe a frame between its allocation and its zeroing.
 *
 * Not modelled: NUMA, memory zones, the buddy allocator's orders and fragmentation behaviour,
 * per-CPU page lists, memory hot-plug, reclaim under memory pressure (running out is ENOMEM).
 */

import { hex, invariantError, MemErrorCode, memError } from './errors.js';
import { fillFrame } from './frame-fill.js';

/**
 * Which frames of a `totalFrames`-frame memory are allocated, with a deterministic policy,
 * lazy zeroing of reused frames and deferral windows (see the file header).
 */
export class FrameAllocator {
  /** Number of frames, frame 0 (reserved) included. */
  readonly totalFrames: number;
  /** True when this allocator may allocate and free (its memory created the buffer). */
  readonly owner: boolean;

  /** Qword view of the buffer, to zero stale frames. */
  private readonly u64: BigUint64Array;
  /** Called for each frame as it is freed (not while deferred): the data side forgets it. */
  private readonly onFree: (pfn: number) => void;

  private readonly used: Uint8Array;
  /** 1 = free but still holding its last user's bytes: zero it before handing it out. */
  private readonly stale: Uint8Array;
  private readonly onStack: Uint8Array;
  private readonly freeStack: Int32Array;
  private freeTop = 0;
  private cursor = 1;
  private inUse = 0;
  private peak = 0;
  /** Frames freed while a deferral window was open (null when none is). */
  private deferred: number[] | null = null;

  /**
   * An allocator over `totalFrames` frames of the buffer `u64` covers. `onFree(pfn)` is called
   * once per frame when it becomes free (one function made by the caller, not one per call).
   * A non-owner keeps no per-frame state and refuses to allocate or free.
   */
  constructor(
    totalFrames: number,
    owner: boolean,
    u64: BigUint64Array,
    onFree: (pfn: number) => void,
  ) {
    this.totalFrames = totalFrames;
    this.owner = owner;
    this.u64 = u64;
    this.onFree = onFree;
    const n = owner ? totalFrames : 0;
    this.used = new Uint8Array(n);
    this.stale = new Uint8Array(n);
    this.onStack = new Uint8Array(n);
    this.freeStack = new Int32Array(n);
    if (owner) this.used[0] = 1; // frame 0 reserved: pfn 0 means "none"
  }

  /** Frames currently allocated (frame 0, reserved, is not counted). */
  get framesInUse(): number {
    return this.inUse;
  }

  /** Highest `framesInUse` seen since creation. */
  get peakFramesInUse(): number {
    return this.peak;
  }

  /** Frames that can still be allocated. */
  get framesFree(): number {
    return this.totalFrames - 1 - this.inUse;
  }

  /** Allocates one zero-filled frame and returns its pfn (never 0); throws `ENOMEM` when none is left. */
  allocFrame(): number {
    this.assertOwner('allocFrame');
    const pfn = this.takeFrame();
    if (this.stale[pfn] !== 0) this.zeroFrame(pfn);
    return pfn;
  }

  /**
   * Allocates one frame WITHOUT zeroing it, for a caller that overwrites all 4096 bytes before
   * anything can read the frame. Its bytes are unspecified until then (a previous user's). Same
   * pfn, accounting and errors as {@link allocFrame}.
   */
  allocFrameForOverwrite(): number {
    this.assertOwner('allocFrameForOverwrite');
    const pfn = this.takeFrame();
    this.stale[pfn] = 0;
    return pfn;
  }

  /** Picks and accounts the next single frame (stale or not); the allocFrame policy. */
  private takeFrame(): number {
    const used = this.used;
    // Freed frames first (LIFO); skip entries a contiguous allocation took meanwhile.
    while (this.freeTop > 0) {
      const pfn = this.freeStack[--this.freeTop]!;
      this.onStack[pfn] = 0;
      if (used[pfn] === 0) return this.take(pfn);
    }
    // Frames never handed out: every free frame below the cursor is on the stack.
    const total = this.totalFrames;
    let c = this.cursor;
    while (c < total && used[c] !== 0) c++;
    if (c < total) {
      this.cursor = c + 1;
      return this.take(c);
    }
    this.cursor = total;
    if (this.inUse !== total - 1) {
      throw invariantError(
        `frame allocator lost frames: stack empty and cursor at end but framesInUse=${this.inUse} of ${total - 1}`,
      );
    }
    throw this.outOfMemory(1, 1);
  }

  /**
   * Allocates `count` contiguous zero-filled frames whose first pfn is a multiple of
   * `alignFrames` (e.g. 512 aligned to 512 for a 2 MiB page); returns the first pfn.
   */
  allocFrames(count: number, alignFrames = 1): number {
    this.assertOwner('allocFrames');
    if (!Number.isSafeInteger(count) || count < 1) {
      throw memError(
        MemErrorCode.EINVAL,
        `allocFrames: count must be a positive integer, got ${count}`,
      );
    }
    if (!Number.isSafeInteger(alignFrames) || alignFrames < 1) {
      throw memError(
        MemErrorCode.EINVAL,
        `allocFrames: alignFrames must be a positive integer, got ${alignFrames}`,
      );
    }
    if (count === 1 && alignFrames === 1) return this.allocFrame();
    const used = this.used;
    const total = this.totalFrames;
    let base = alignFrames; // frame 0 is reserved, so the first aligned base is alignFrames
    while (base + count <= total) {
      let i = base;
      const end = base + count;
      while (i < end && used[i] === 0) i++;
      if (i === end) {
        const stale = this.stale;
        for (let p = base; p < end; p++) {
          used[p] = 1;
          if (stale[p] !== 0) this.zeroFrame(p);
        }
        this.account(count);
        return base;
      }
      // used[i] !== 0: the next candidate is the first aligned base above i.
      base = Math.ceil((i + 1) / alignFrames) * alignFrames;
    }
    throw this.outOfMemory(count, alignFrames);
  }

  /**
   * Frees one frame in O(1): its bytes stay until it is allocated again. Freeing frame 0, a
   * free frame or an out-of-range pfn throws.
   */
  freeFrame(pfn: number): void {
    this.assertOwner('freeFrame');
    if (this.deferred !== null) {
      this.checkAllocated(pfn, `freeFrame(${pfn})`);
      this.deferred.push(pfn);
      return;
    }
    this.release(pfn);
    this.inUse--;
  }

  /**
   * Opens a deferral window: frames freed until {@link endDeferral} stay allocated (and keep
   * their contents) until {@link releaseDeferred} — the way Linux keeps pages an munmap freed
   * until the TLB and IOMMU flushes are done, so a device still holding the old translation
   * never writes into a frame that has been handed out again.
   */
  beginDeferral(): void {
    if (this.deferred !== null)
      throw invariantError('beginDeferral: a deferral window is already open');
    this.deferred = [];
  }

  /** Closes the deferral window and returns the frames it collected. */
  endDeferral(): number[] {
    const d = this.deferred;
    if (d === null) throw invariantError('endDeferral without beginDeferral');
    this.deferred = null;
    return d;
  }

  /** Frees frames collected by a deferral window, O(1) each. */
  releaseDeferred(frames: readonly number[]): void {
    for (const pfn of frames) {
      this.checkAllocated(pfn, `releaseDeferred(${pfn})`);
      this.release(pfn);
    }
    this.inUse -= frames.length;
  }

  /** Frees `count` contiguous frames starting at `pfn`, O(1) each. */
  freeFrames(pfn: number, count: number): void {
    this.assertOwner('freeFrames');
    if (!Number.isSafeInteger(count) || count < 1) {
      throw invariantError(`freeFrames(${pfn}, ${count}): count must be a positive integer`);
    }
    // Validate all first so a bad call changes nothing.
    for (let p = pfn; p < pfn + count; p++) this.checkAllocated(p, `freeFrames(${pfn}, ${count})`);
    if (this.deferred !== null) {
      for (let p = pfn; p < pfn + count; p++) this.deferred.push(p);
      return;
    }
    // Push in reverse so later single allocations pop them in ascending order.
    for (let p = pfn + count - 1; p >= pfn; p--) this.release(p);
    this.inUse -= count;
  }

  /** True when `pfn` is currently allocated (owner only; frame 0 counts as allocated). */
  isAllocated(pfn: number): boolean {
    this.assertOwner('isAllocated');
    return Number.isSafeInteger(pfn) && pfn >= 0 && pfn < this.totalFrames && this.used[pfn] !== 0;
  }

  /**
   * Throws a broken-invariant error, naming `what`, unless `pfn` is an allocated frame other
   * than frame 0 (a deferred frame still counts as allocated).
   */
  checkAllocated(pfn: number, what: string): void {
    if (!Number.isSafeInteger(pfn) || pfn < 0 || pfn >= this.totalFrames) {
      throw invariantError(`${what}: pfn ${pfn} out of range [1, ${this.totalFrames})`);
    }
    if (pfn === 0) throw invariantError(`${what}: frame 0 is reserved and never allocated`);
    if (this.used[pfn] === 0)
      throw invariantError(`${what}: pfn ${pfn} (${hex(pfn)}) is already free`);
  }

  /** Throws `EPERM`, naming `PhysicalMemory.<op>`, unless this allocator is the owner's. */
  assertOwner(op: string): void {
    if (!this.owner) {
      throw memError(
        MemErrorCode.EPERM,
        `PhysicalMemory.${op}: this instance is attached to another thread's buffer; only the owner (the instance that created the buffer) allocates and frees frames`,
      );
    }
  }

  /** Zeroes a stale frame with one qword-wide fill (see frame-fill.ts for why this one). */
  private zeroFrame(pfn: number): void {
    fillFrame(this.u64, pfn, 0);
    this.stale[pfn] = 0;
  }

  private take(pfn: number): number {
    this.used[pfn] = 1;
    this.account(1);
    return pfn;
  }

  private account(count: number): void {
    this.inUse += count;
    if (this.inUse > this.peak) this.peak = this.inUse;
  }

  private release(pfn: number): void {
    this.checkAllocated(pfn, `freeFrame(${pfn})`);
    this.used[pfn] = 0;
    this.stale[pfn] = 1; // zeroed when next allocated, not now: freeing stays O(1)
    this.onFree(pfn); // a pending pattern is dropped, never written: the frame is stale
    if (this.onStack[pfn] === 0) {
      this.onStack[pfn] = 1;
      this.freeStack[this.freeTop++] = pfn;
    }
  }

  private outOfMemory(count: number, alignFrames: number): Error {
    const what =
      count === 1 ? 'a frame' : `${count} contiguous frames aligned to ${alignFrames} frames`;
    return memError(
      MemErrorCode.ENOMEM,
      `out of simulated physical memory: cannot allocate ${what}; ${this.inUse} of ${this.totalFrames - 1} frames in use (4 KiB each); raise memory.frames`,
    );
  }
}
