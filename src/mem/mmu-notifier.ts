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
  let left = pending.length;
  if (left === 0) {
    mem.releaseDeferred(frames);
    return;
  }
  for (const p of pending) {
    p.onDone(() => {
      if (--left === 0) mem.releaseDeferred(frames);
    });
  }
}
