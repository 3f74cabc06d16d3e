/**
 * Simulated physical memory: 4 KiB frames in one SharedArrayBuffer, and the data in them.
 *
 * Models the host DRAM that processes' pages, their x86-64 page tables (spec §3.2: FSPTPTR
 * points at a pgd held in such a frame) and DMA buffers live in. The buffer is a
 * SharedArrayBuffer so worker threads can attach views to the same bytes; only the instance
 * that created the buffer (the owner, the engine thread in the threaded runtime) allocates and
 * frees frames. Physical address of a byte = pfn * 4096 + offset.
 *
 * This file is the data side: the views, copies in and out, fills, and pending pattern fills.
 * Which frames are in use, zeroing a reused frame, and deferring frees until an IOMMU flush
 * are the {@link FrameAllocator}'s (frame-allocator.ts), which this class composes and whose
 * methods it forwards; word-wide fills are in frame-fill.ts.
 *
 * Pending pattern frames: a CPU fill of a whole 4 KiB data page with one byte value
 * ({@link PhysicalMemory.fillPagePattern}, called by `Process.fillPages` only) is not written;
 * the frame is recorded as pending (`pending[pfn] = 0x100 | byte`, 0 = bytes are real) and its
 * bytes are written with one word-wide fill the first time anything reads or writes the frame
 * through this class: `copyOut`, `copyIn`, `frameBytes`, `fillBytes` (a fill that covers the
 * frame whole just drops the pending state; a partial one writes the pattern first). A client's
 * prefaulted source buffer is mostly never read by a device, so most of those fills never
 * happen. Freeing a frame drops its pending state (the allocator reports the free; the frame is
 * stale and zeroed on reuse; until then it holds its bytes from before the fill, which nothing
 * may read — see the stale readers in frame-allocator.ts). The state is per instance and not
 * shared: only the owner makes frames pending, and an instance attached to the buffer sees a
 * pending frame's old bytes.
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
 * Not modelled: caches and memory ordering between the CPU and devices (every access is
 * immediately visible), ECC and memory errors, MAXPHYADDR limits below 52 bits. The
 * allocator's own list is in frame-allocator.ts.
 */

import { hex, invariantError, MemErrorCode, memError } from './errors.js';
import { FrameAllocator } from './frame-allocator.js';
import { fillFrame, fillRange } from './frame-fill.js';

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

  /** Qword view for word-wide fills (see frame-fill.ts). */
  private readonly u64: BigUint64Array;
  /** Which frames are in use (its per-frame state exists on the owner only). */
  private readonly frames: FrameAllocator;
  /**
   * Per frame: 0 = its bytes are real; `PENDING | b` = it holds byte b throughout but has not
   * been written yet (see the file header). Sized for every instance, so a check never misses.
   */
  private readonly pending: Uint16Array;
  /** Frames whose `pending` entry is non-zero. */
  private pendingCount = 0;

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
    this.pending = new Uint16Array(this.totalFrames);
    // One function for the allocator's lifetime: a freed frame's pattern is dropped, never written.
    this.frames = new FrameAllocator(this.totalFrames, this.owner, this.u64, (pfn) => {
      if (this.pending[pfn] !== 0) {
        this.pending[pfn] = 0;
        this.pendingCount--;
      }
    });
  }

  /** Frames currently allocated (frame 0, reserved, is not counted). */
  get framesInUse(): number {
    return this.frames.framesInUse;
  }

  /** Highest `framesInUse` seen since creation. */
  get peakFramesInUse(): number {
    return this.frames.peakFramesInUse;
  }

  /** Frames that can still be allocated. */
  get framesFree(): number {
    return this.frames.framesFree;
  }

  /** Allocates one zero-filled frame and returns its pfn (never 0); throws `ENOMEM` when none is left. */
  allocFrame(): number {
    return this.frames.allocFrame();
  }

  /**
   * Allocates one frame WITHOUT zeroing it, for a caller that overwrites all 4096 bytes before
   * anything can read the frame (a CPU write of a whole page, or a whole-page fill that
   * {@link fillPagePattern} makes pending). Its bytes are unspecified until then (a previous
   * user's). Same pfn, accounting and errors as {@link allocFrame}.
   */
  allocFrameForOverwrite(): number {
    return this.frames.allocFrameForOverwrite();
  }

  /**
   * Allocates `count` contiguous zero-filled frames whose first pfn is a multiple of
   * `alignFrames` (e.g. 512 aligned to 512 for a 2 MiB page); returns the first pfn.
   */
  allocFrames(count: number, alignFrames = 1): number {
    return this.frames.allocFrames(count, alignFrames);
  }

  /**
   * Frees one frame in O(1): its bytes stay until it is allocated again, a pending pattern is
   * dropped. Freeing frame 0, a free frame or an out-of-range pfn throws.
   */
  freeFrame(pfn: number): void {
    this.frames.freeFrame(pfn);
  }

  /**
   * Opens a deferral window: frames freed until {@link endDeferral} stay allocated (and keep
   * their contents) until {@link releaseDeferred} — the way Linux keeps pages an munmap freed
   * until the TLB and IOMMU flushes are done, so a device still holding the old translation
   * never writes into a frame that has been handed out again.
   */
  beginDeferral(): void {
    this.frames.beginDeferral();
  }

  /** Closes the deferral window and returns the frames it collected. */
  endDeferral(): number[] {
    return this.frames.endDeferral();
  }

  /** Frees frames collected by a deferral window, O(1) each. */
  releaseDeferred(frames: readonly number[]): void {
    this.frames.releaseDeferred(frames);
  }

  /** Frees `count` contiguous frames starting at `pfn`, O(1) each. */
  freeFrames(pfn: number, count: number): void {
    this.frames.freeFrames(pfn, count);
  }

  /** True when `pfn` is currently allocated (owner only; frame 0 counts as allocated). */
  isAllocated(pfn: number): boolean {
    return this.frames.isAllocated(pfn);
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
    fillRange(this.u8, this.u64, pa, end, byte & 0xff);
  }

  /**
   * A CPU fill of all 4096 bytes of data frame `pfn` with `byte & 0xff`, recorded instead of
   * written: the frame is pending until something reads or writes it through this class (see
   * the file header). Only for a process's data pages (`Process.fillPages`): never for a frame
   * read through the `u8` / `u32` views (page tables, PASID tables, queues). Owner only; the
   * frame must be allocated.
   */
  fillPagePattern(pfn: number, byte: number): void {
    this.frames.assertOwner('fillPagePattern');
    this.frames.checkAllocated(pfn, `fillPagePattern(${pfn})`);
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
    fillFrame(this.u64, pfn, this.pending[pfn]! & 0xff);
    this.pending[pfn] = 0;
    this.pendingCount--;
  }
}
