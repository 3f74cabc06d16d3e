/**
 * MMU notifiers (Linux `struct mmu_notifier` ops; spec §5.1 invalidate_range, §5.2 release):
 * the interface a secondary-TLB owner such as the IOMMU driver attaches to an mm, firing a
 * notifier list in registration order, and handing back the frames a change freed only once
 * every flush the notifiers started is done.
 *
 * A notifier's flush may take modelled time (a kernel thread's completion): it then returns a
 * {@link PendingFlush}, and the frames wait in PhysicalMemory's deferral window until all of
 * them are done, as Linux keeps an unmap's pages until the TLB flushes completed.
 *
 * When the mm calls `invalidateRange` is the kernel's mm code, not the notifier's: an
 * {@link MmNotifierCalls} policy the kernel profile provides (spec §5.1.1). Several calls of
 * one mm operation run one after the other ({@link notifySequence}), as the kernel's
 * synchronous calls do.
 *
 * Not modelled: invalidate_range_start / _end pairs and the other notifier ops (clear_young,
 * change_pte …), SRCU-protected removal (removing a notifier takes effect at once).
 */

import type { PhysicalMemory } from './physical-memory.js';

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

/**
 * When an mm calls its notifiers' `invalidate_range` (spec §5.1.1): the mm code of the
 * kernel the profile models. Each field names one call pattern; a kernel whose mm calls
 * differently adds its own name and the mm's branch for it.
 */
export interface MmNotifierCalls {
  /** The kernel whose mm code this is (for messages). */
  readonly kernel: string;
  /**
   * mprotect, `'pmd-spans'` (v5.8 `change_pmd_range`): for every VMA whose flags change,
   * one call per PUD-sized (1 GiB) span that has a populated PMD, over [first populated PMD's
   * address, end of span), whatever the direction of the change; nothing when the flags do
   * not change or no PMD is populated. A hugetlb VMA (2 MiB pages) whose flags change gets
   * one call over its whole range (`hugetlb_change_protection`), populated or not.
   */
  readonly mprotect: 'pmd-spans' | 'tlb-gather';
  /**
   * munmap, `'range-end-then-gather'` (v5.8 `unmap_region`): one call per hugetlb VMA piece
   * over that piece (`__unmap_hugepage_range`), then `unmap_vmas`' range end over the whole
   * [start, end), then `tlb_finish_mmu`'s flush over the gathered span (leaves cleared,
   * widened by tables freed) when anything was cleared; nothing when no VMA is in the range.
   */
  readonly munmap: 'range-end-then-gather' | 'tlb-gather';
}

/*
 * `'tlb-gather'` (x86 from v6.6, `arch_invalidate_secondary_tlbs` on the CPU TLB-flush path,
 * spec §10.4): one call per mm operation over the span its TLB gather collected, only when
 * PTEs were really cleared or lost a permission — munmap: the leaves cleared, widened by
 * tables freed, merged over every VMA of the range (MMU_GATHER_MERGE_VMAS), nothing when no
 * page was mapped; mprotect: the leaves that lost a permission (`pte_needs_flush`), nothing
 * for an upgrade or an untouched range.
 */

/**
 * Linux v5.8's mm (spec §5.1.1): every `mmu_notifier_invalidate_range_end` calls
 * `invalidate_range` too, besides the mmu_gather flush. Later kernels moved the call next to
 * the CPU TLB flush of what changed (v6.6: `arch_invalidate_secondary_tlbs`), so their calls
 * differ; a profile for them provides its own policy.
 */
export const MM_NOTIFIER_CALLS_V58: MmNotifierCalls = Object.freeze({
  kernel: 'v5.8',
  mprotect: 'pmd-spans',
  munmap: 'range-end-then-gather',
});

/**
 * The mm of x86 Linux from v6.6 (spec §10.4): invalidations only from the CPU TLB-flush path,
 * over what was really cleared or changed, one merged range per munmap or mprotect.
 */
export const MM_NOTIFIER_CALLS_TLB_GATHER: MmNotifierCalls = Object.freeze({
  kernel: 'v6.6+',
  mprotect: 'tlb-gather',
  munmap: 'tlb-gather',
});

/** A notifier flush still running in modelled time (a kernel thread's completion). */
export interface PendingFlush {
  readonly done: boolean;
  onDone(cb: () => void): void;
}

/** Fires every notifier's `invalidateRange(start, end)` in registration order; returns the flushes still running. */
export function notifyInvalidate(
  notifiers: readonly MmuNotifier[],
  start: number,
  end: number,
): PendingFlush[] {
  const pending: PendingFlush[] = [];
  if (notifiers.length === 0) return pending;
  const ns = [...notifiers];
  for (const n of ns) {
    const p = n.invalidateRange(start, end);
    if (p && !p.done) pending.push(p);
  }
  return pending;
}

/** One pending flush standing for a sequence of calls: done when the last call is done. */
class SequenceFlush implements PendingFlush {
  done = false;
  private readonly waiters: (() => void)[] = [];

  onDone(cb: () => void): void {
    if (this.done) cb();
    else this.waiters.push(cb);
  }

  finish(): void {
    this.done = true;
    for (const cb of this.waiters.splice(0)) cb();
  }
}

/** Runs `then` once every flush in `pending` is done (at once when none runs). */
function afterAll(pending: readonly PendingFlush[], then: () => void): void {
  let left = pending.length;
  if (left === 0) {
    then();
    return;
  }
  for (const p of pending) {
    p.onDone(() => {
      if (--left === 0) then();
    });
  }
}

/**
 * Makes the `invalidateRange` calls of one mm operation: `ranges` holds [start, end) pairs
 * (bytes, flat, in call order). Each call goes to the notifiers registered when it is made
 * and starts once the previous call's flushes are done, as the kernel's synchronous calls
 * follow one another. Returns the flushes still running: nothing when every call completed
 * at once, else one pending flush that is done when the last call is.
 */
export function notifySequence(
  notifiers: readonly MmuNotifier[],
  ranges: readonly number[],
): PendingFlush[] {
  for (let k = 0; k < ranges.length; k += 2) {
    const pending = notifyInvalidate(notifiers, ranges[k]!, ranges[k + 1]!);
    if (pending.length === 0) continue;
    if (k + 2 === ranges.length) return pending;
    const rest = ranges.slice(k + 2);
    const whole = new SequenceFlush();
    afterAll(pending, () => afterAll(notifySequence(notifiers, rest), () => whole.finish()));
    return [whole];
  }
  return [];
}

/** Fires every notifier's `release()` in registration order; returns the flushes still running. */
export function notifyRelease(notifiers: readonly MmuNotifier[]): PendingFlush[] {
  const ns = [...notifiers];
  const pending: PendingFlush[] = [];
  for (const n of ns) {
    const p = n.release();
    if (p && !p.done) pending.push(p);
  }
  return pending;
}

/** Frees the deferred `frames` of `mem` once every flush in `pending` is done (at once when none runs). */
export function freeAfter(
  mem: PhysicalMemory,
  pending: readonly PendingFlush[],
  frames: number[],
): void {
  if (frames.length === 0) return;
  afterAll(pending, () => mem.releaseDeferred(frames));
}
