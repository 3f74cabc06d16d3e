/**
 * Simulated physical memory: 4 KiB frames in one SharedArrayBuffer, plus the frame allocator.
 *
 * Models the host DRAM that processes' pages, their x86-64 page tables (spec §3.2: FSPTPTR
 * points at a pgd held in such a frame) and DMA buffers live in. The buffer is a
 * SharedArrayBuffer so worker threads can attach views to the same bytes; only the instance
 * that created the buffer (the owner, the engine thread in the threaded runtime) allocates and
 * frees frames. Physical address of a byte = pfn * 4096 + offset.
 *
 * Allocator: a used-byte per frame, a LIFO stack of freed frames (with a lazy "stale entry"
 * check, so contiguous allocations may take frames that are still on the stack), and a
 * next-fit cursor over frames never handed out. Single frames are O(1) amortised; contiguous
 * aligned runs (2 MiB pages) are first-fit from the bottom, O(frames). The same sequence of
 * calls always gives the same pfns. Frame 0 is reserved and never handed out: pfn 0 means
 * "none".
 *
 * Zeroing: lazily, at allocation. Freeing a frame is O(1): it only marks the frame "stale"
 * (free, still holding its last user's bytes). An allocation zeroes a stale frame with one
 * word-wide fill before handing it out, so `allocFrame` / `allocFrames` always return zero
 * frames; frames never handed out are not touched (fresh SharedArrayBuffer memory is zero),
 * and `allocFrameForOverwrite` skips the zeroing for a caller about to write all 4096 bytes
 * (a CPU fill of a whole page), so such a frame costs nothing before its first write.
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
 *   frames back only after every notifier flush (IOTLB, device TLB) completed (deferral
 *   window below), so no translation to a freed frame survives. Untranslated DMA goes
 *   through the IOTLB that flush emptied; translated DMA is checked against the mm by the
 *   run's `stale-translation` / `dma-unbound` invariants, so a DMA that still reached a freed
 *   frame would be reported as a violation whether the frame read as zero or not.
 * Everything is single-threaded on the owner (the engine worker also does the DMA), so no
 * other thread can observe a frame between its allocation and its zeroing.
 *
 * Pending pattern frames: a CPU fill of a whole 4 KiB data page with one byte value
 * ({@link PhysicalMemory.fillPagePattern}, called by `Process.fillPages` only) is not written;
 * the frame is recorded as pending (`pending[pfn] = 0x100 | byte`, 0 = bytes are real) and its
 * bytes are written with one word-wide fill the first time anything reads or writes the frame
 * through this class: `copyOut`, `copyIn`, `frameBytes`, `fillBytes` (a fill that covers the
 * frame whole just drops the pending state; a partial one writes the pattern first). A client's
 * prefaulted source buffer is mostly never read by a device, so most of those fills never
 * happen. Freeing a frame drops its pending state (the frame is stale and zeroed on reuse as
 * above; until then it holds its bytes from before the fill, which nothing may read — see the
 * stale readers above). The state is per instance and not shared: only the owner makes frames
 * pending, and an instance attached to the buffer sees a pending frame's old bytes.
 *
 * Who may read or write the `u8` / `u32` views directly: only code touching frames that are
 * never pending — page tables (PageTable, Process's PTE updates, the engine's walkers), PASID
 * directories and tables, root and context tables, the invalidation queue and its status
 * frame, the page request queue. Those are allocated with `allocFrame` / `allocFrames` and
 * written only through the views, never through `fillPagePattern`, so they cannot be pending
 * (test/mem checks that only data pages a live process maps are ever pending). Data frames
 * (process pages, DMA buffers) are read and written through `copyOut` / `copyIn` /
 * `frameBytes` / `fillBytes`; a reader that wants their raw bytes through the views (a test
 * comparing memory images) calls {@link PhysicalMemory.materialize} or
 * {@link PhysicalMemory.materializeAll} first.
 *
 * Not modelled: NUMA, memory zones, the buddy allocator's orders and fragmentation behaviour,
 * memory hot-plug, MAXPHYADDR limits below 52 bits.
 */

import { hex, invariantError, MemErrorCode, memError } from './errors.js';

/** Bytes per frame (and per small page). */
export const PAGE_SIZE = 4096;
/** log2(PAGE_SIZE). */
export const PAGE_SHIFT = 12;

/**
 * Offset of a byte address inside its 4 KiB page. Addresses above 2^32 are doubles, and `%`
 * on a double is a slow fmod call in V8: this is the data path's way to take it.
 */
export function pageOffset(addr: number): number {
  return addr - Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
}
/** 32-bit words per frame (index stride of the `u32` view). */
export const PAGE_WORDS = PAGE_SIZE / 4;
/** Default number of frames: 65536 × 4 KiB = 256 MiB (the SharedArrayBuffer is zero-filled lazily by the OS). */
export const DEFAULT_FRAMES = 65536;

/** Copies up to this many bytes with a plain loop (cheaper than creating a subarray view). */
const SMALL_COPY_BYTES = 128;

/** 64-bit words per frame (index stride of the private `u64` view). */
const PAGE_QWORDS = PAGE_SIZE / 8;

/**
 * `FILL_QWORD[b]` = byte b repeated over a qword. Zeroing and pattern fills go through
 * `BigUint64Array.fill` on the shared buffer: per 4 KiB frame on this host (Node 20, median of
 * interleaved rounds) `Uint8Array.fill` ≈ 1.5–1.8 µs (V8 stores byte by byte into shared
 * memory), `Uint32Array.fill` ≈ 450–590 ns, `Uint8Array.set` from a zero page ≈ 320–375 ns,
 * `BigUint64Array.fill` ≈ 300–375 ns. A constant table, so no bigint is built per fill.
 */
const FILL_QWORD: readonly bigint[] = Array.from(
  { length: 256 },
  (_, b) => BigInt(b) * 0x0101_0101_0101_0101n,
);

/** Flag of a `pending` entry: the low byte is the frame's pattern byte. */
const PENDING = 0x100;

/** Options of {@link PhysicalMemory}: either a size to create or an existing buffer to attach to. */
export type PhysicalMemoryOptions =
  | { frames?: number; buffer?: undefined }
  | { buffer: SharedArrayBuffer; frames?: undefined };

/** Simulated physical memory of `totalFrames` 4 KiB frames with a deterministic frame allocator. */
export class PhysicalMemory {
  /** The backing SharedArrayBuffer (post it to workers and attach with `{ buffer }`). */
  readonly buffer: SharedArrayBuffer;
  /** Byte view over the whole buffer. */
  readonly u8: Uint8Array;
  /** 32-bit little-endian word view over the whole buffer (a PTE is words [2i, 2i+1]). */
  readonly u32: Uint32Array;
  /** Number of frames, frame 0 (reserved) included. */
  readonly totalFrames: number;
  /** True when this instance created the buffer and owns the allocator. */
  readonly owner: boolean;

  /** Qword view for word-wide fills (see FILL_QWORD). */
  private readonly u64: BigUint64Array;

  // Allocator state (owner only).
  private readonly used: Uint8Array;
  /** 1 = free but still holding its last user's bytes: zero it before handing it out. */
  private readonly stale: Uint8Array;
  /**
   * Per frame: 0 = its bytes are real; `PENDING | b` = it holds byte b throughout but has not
   * been written yet (see the file header). Sized for every instance, so a check never misses.
   */
  private readonly pending: Uint16Array;
  /** Frames whose `pending` entry is non-zero. */
  private pendingCount = 0;
  private readonly onStack: Uint8Array;
  private readonly freeStack: Int32Array;
  private freeTop = 0;
  private cursor = 1;
  private inUse = 0;
  private peak = 0;

  /** Creates `frames` frames (default 65536 = 256 MiB), or attaches to an existing buffer (no allocation allowed then). */
  constructor(options: PhysicalMemoryOptions = {}) {
    if (options.buffer !== undefined) {
      const buffer = options.buffer;
      if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength % PAGE_SIZE !== 0) {
        throw memError(
          MemErrorCode.EINVAL,
          `PhysicalMemory: buffer must be a SharedArrayBuffer whose size is a multiple of ${PAGE_SIZE} bytes`,
        );
      }
      this.buffer = buffer;
      this.totalFrames = buffer.byteLength / PAGE_SIZE;
      this.owner = false;
    } else {
      const frames = options.frames ?? DEFAULT_FRAMES;
      if (!Number.isSafeInteger(frames) || frames < 2) {
        throw memError(
          MemErrorCode.EINVAL,
          `PhysicalMemory: memory.frames must be an integer >= 2 (frame 0 is reserved), got ${frames}`,
        );
      }
      try {
        this.buffer = new SharedArrayBuffer(frames * PAGE_SIZE);
      } catch (cause) {
        const err = memError(
          MemErrorCode.ENOMEM,
          `PhysicalMemory: cannot allocate ${frames} frames (${frames * PAGE_SIZE} bytes) of simulated memory: ${String(cause)}; lower memory.frames`,
        );
        throw err;
      }
      this.totalFrames = frames;
      this.owner = true;
    }
    this.u8 = new Uint8Array(this.buffer);
    this.u32 = new Uint32Array(this.buffer);
    this.u64 = new BigUint64Array(this.buffer);
    const n = this.owner ? this.totalFrames : 0;
    this.used = new Uint8Array(n);
    this.stale = new Uint8Array(n);
    this.pending = new Uint16Array(this.totalFrames);
    this.onStack = new Uint8Array(n);
    this.freeStack = new Int32Array(n);
    if (this.owner) this.used[0] = 1; // frame 0 reserved: pfn 0 means "none"
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
   * anything can read the frame (a CPU write of a whole page, or a whole-page fill that
   * {@link fillPagePattern} makes pending). Its bytes are unspecified until then (a previous
   * user's). Same pfn, accounting and errors as {@link allocFrame}.
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

  /** Frames freed while a deferral window was open (null when none is). */
  private deferred: number[] | null = null;

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

  /** Byte offset of a frame in the buffer (its physical address): `pfn * 4096`. */
  byteOffset(pfn: number): number {
    return pfn * PAGE_SIZE;
  }

  /**
   * A `Uint8Array` view (not a copy) of the 4096 bytes of frame `pfn`, a pending frame's pattern
   * written first. The view shows the frame's bytes until a later `fillPagePattern` of it.
   */
  frameBytes(pfn: number): Uint8Array {
    if (!Number.isSafeInteger(pfn) || pfn < 0 || pfn >= this.totalFrames) {
      throw invariantError(`frameBytes: pfn ${pfn} out of range [0, ${this.totalFrames})`);
    }
    if (this.pending[pfn] !== 0) this.writePattern(pfn);
    return this.u8.subarray(pfn * PAGE_SIZE, (pfn + 1) * PAGE_SIZE);
  }

  /**
   * Copies `length` bytes at physical address `pa` into `dst[dstOffset…]`, a pending frame's
   * pattern written first. With `dst32` (a Uint32Array over the same buffer as `dst`) and
   * everything 4-byte aligned, copies words: a byte loop over a SharedArrayBuffer costs
   * ~130 ns per 64 B here, a word loop ~19 ns.
   */
  copyOut(
    pa: number,
    dst: Uint8Array,
    dstOffset: number,
    length: number,
    dst32?: Uint32Array,
  ): void {
    // One page per call on the DMA and CPU paths: one typed-array read decides.
    const pfn = Math.floor(pa / PAGE_SIZE);
    if (this.pending[pfn] !== 0 || pa + length > (pfn + 1) * PAGE_SIZE) {
      this.materializeRange(pa, pa + length, false);
    }
    if (
      dst32 !== undefined &&
      ((pa | dstOffset | length) & 3) === 0 &&
      length <= SMALL_COPY_BYTES
    ) {
      const s = pa / 4;
      const d = dstOffset / 4;
      const u32 = this.u32;
      for (let i = 0; i < length / 4; i++) dst32[d + i] = u32[s + i]!;
      return;
    }
    const u8 = this.u8;
    if (length <= SMALL_COPY_BYTES) {
      for (let i = 0; i < length; i++) dst[dstOffset + i] = u8[pa + i]!;
    } else {
      dst.set(u8.subarray(pa, pa + length), dstOffset);
    }
  }

  /**
   * Copies `length` bytes from `src[srcOffset…]` to physical address `pa` (words with `src32`,
   * as copyOut). The rest of a pending frame it writes into keeps the frame's pattern.
   */
  copyIn(
    pa: number,
    src: Uint8Array,
    srcOffset: number,
    length: number,
    src32?: Uint32Array,
  ): void {
    const pfn = Math.floor(pa / PAGE_SIZE);
    if (this.pending[pfn] !== 0 || pa + length > (pfn + 1) * PAGE_SIZE) {
      this.materializeRange(pa, pa + length, false);
    }
    if (
      src32 !== undefined &&
      ((pa | srcOffset | length) & 3) === 0 &&
      length <= SMALL_COPY_BYTES
    ) {
      const d = pa / 4;
      const s = srcOffset / 4;
      const u32 = this.u32;
      for (let i = 0; i < length / 4; i++) u32[d + i] = src32[s + i]!;
      return;
    }
    const u8 = this.u8;
    if (length <= SMALL_COPY_BYTES) {
      for (let i = 0; i < length; i++) u8[pa + i] = src[srcOffset + i]!;
    } else {
      u8.set(src.subarray(srcOffset, srcOffset + length), pa);
    }
  }

  /**
   * Sets the `length` bytes at physical address `pa` to `byte & 0xff` (a CPU fill), at once:
   * it never makes a frame pending (that is {@link fillPagePattern}). A pending frame it covers
   * whole is simply no longer pending; one it covers in part gets its pattern written first.
   * The 8-byte aligned middle is one word-wide fill; only an unaligned head or tail (at most
   * 7 bytes each) goes through the byte view.
   */
  fillBytes(pa: number, length: number, byte: number): void {
    const end = pa + length;
    if (
      !Number.isSafeInteger(pa) ||
      !Number.isSafeInteger(length) ||
      pa < 0 ||
      length < 0 ||
      end > this.u8.length
    ) {
      throw invariantError(
        `fillBytes(${hex(pa)}, ${length}): outside physical memory [0, ${hex(this.u8.length)})`,
      );
    }
    if (this.pendingCount !== 0) this.materializeRange(pa, end, true);
    const v = byte & 0xff;
    const q0 = Math.ceil(pa / 8);
    const q1 = Math.floor(end / 8);
    if (q1 <= q0) {
      this.u8.fill(v, pa, end);
      return;
    }
    if (pa < q0 * 8) this.u8.fill(v, pa, q0 * 8);
    this.u64.fill(FILL_QWORD[v]!, q0, q1);
    if (q1 * 8 < end) this.u8.fill(v, q1 * 8, end);
  }

  /**
   * A CPU fill of all 4096 bytes of data frame `pfn` with `byte & 0xff`, recorded instead of
   * written: the frame is pending until something reads or writes it through this class (see
   * the file header). Only for a process's data pages (`Process.fillPages`): never for a frame
   * read through the `u8` / `u32` views (page tables, PASID tables, queues). Owner only; the
   * frame must be allocated.
   */
  fillPagePattern(pfn: number, byte: number): void {
    this.assertOwner('fillPagePattern');
    this.checkAllocated(pfn, `fillPagePattern(${pfn})`);
    if (this.pending[pfn] === 0) this.pendingCount++;
    this.pending[pfn] = PENDING | (byte & 0xff);
  }

  /** True when frame `pfn` is pending: filled by {@link fillPagePattern}, not yet written. */
  isPending(pfn: number): boolean {
    return this.pending[pfn] !== undefined && this.pending[pfn] !== 0;
  }

  /** Frames currently pending (see {@link fillPagePattern}). */
  get framesPending(): number {
    return this.pendingCount;
  }

  /**
   * Writes a pending frame's pattern now, so its real bytes can be read through the `u8` /
   * `u32` views; a frame that is not pending is left as it is.
   */
  materialize(pfn: number): void {
    if (!Number.isSafeInteger(pfn) || pfn < 0 || pfn >= this.totalFrames) {
      throw invariantError(`materialize: pfn ${pfn} out of range [0, ${this.totalFrames})`);
    }
    if (this.pending[pfn] !== 0) this.writePattern(pfn);
  }

  /** {@link materialize} of every pending frame: the whole buffer then holds real bytes. */
  materializeAll(): void {
    const pending = this.pending;
    for (let pfn = 0; this.pendingCount !== 0 && pfn < this.totalFrames; pfn++) {
      if (pending[pfn] !== 0) this.writePattern(pfn);
    }
  }

  /**
   * Settles the pending frames [start, end) touches before an access: writes their patterns,
   * or, with `overwrite`, only drops the pending state of a frame the range covers whole.
   */
  private materializeRange(start: number, end: number, overwrite: boolean): void {
    const pending = this.pending;
    const first = Math.max(0, Math.floor(start / PAGE_SIZE));
    const last = Math.min(this.totalFrames, Math.ceil(end / PAGE_SIZE));
    for (let pfn = first; pfn < last; pfn++) {
      if (pending[pfn] === 0) continue;
      if (overwrite && pfn * PAGE_SIZE >= start && (pfn + 1) * PAGE_SIZE <= end) {
        pending[pfn] = 0;
        this.pendingCount--;
      } else {
        this.writePattern(pfn);
      }
    }
  }

  /** Writes pending frame `pfn`'s pattern with one qword-wide fill and clears its state. */
  private writePattern(pfn: number): void {
    const v = this.pending[pfn]! & 0xff;
    this.u64.fill(FILL_QWORD[v]!, pfn * PAGE_QWORDS, (pfn + 1) * PAGE_QWORDS);
    this.pending[pfn] = 0;
    this.pendingCount--;
  }

  /** Zeroes a stale frame with one qword-wide fill (see FILL_QWORD for why this one). */
  private zeroFrame(pfn: number): void {
    this.u64.fill(0n, pfn * PAGE_QWORDS, (pfn + 1) * PAGE_QWORDS);
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

  private checkAllocated(pfn: number, what: string): void {
    if (!Number.isSafeInteger(pfn) || pfn < 0 || pfn >= this.totalFrames) {
      throw invariantError(`${what}: pfn ${pfn} out of range [1, ${this.totalFrames})`);
    }
    if (pfn === 0) throw invariantError(`${what}: frame 0 is reserved and never allocated`);
    if (this.used[pfn] === 0)
      throw invariantError(`${what}: pfn ${pfn} (${hex(pfn)}) is already free`);
  }

  private release(pfn: number): void {
    this.checkAllocated(pfn, `freeFrame(${pfn})`);
    this.used[pfn] = 0;
    this.stale[pfn] = 1; // zeroed when next allocated, not now: freeing stays O(1)
    if (this.pending[pfn] !== 0) {
      this.pending[pfn] = 0; // its pattern is dropped, never written: the frame is stale
      this.pendingCount--;
    }
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

  private assertOwner(op: string): void {
    if (!this.owner) {
      throw memError(
        MemErrorCode.EPERM,
        `PhysicalMemory.${op}: this instance is attached to another thread's buffer; only the owner (the instance that created the buffer) allocates and frees frames`,
      );
    }
  }
}
