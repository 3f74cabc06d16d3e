/**
 * The global PASID allocator of profile v5.8 (spec §2.1 step 7): `ioasid_alloc(NULL,
 * PASID_MIN, max, data)` hands out the lowest free id in [min, max] (an xarray allocation),
 * one PASID space shared by every IOMMU unit and device; exhaustion is ENOSPC.
 *
 * Lowest-free in O(log n) per call: ids at or above `next` have never been handed out (all
 * free); freed ids below it wait in a min-heap, so the lowest free id is the heap's top or,
 * when the heap is empty, `next`.
 */

import { Errno, kernelError } from '../errors.js';

/** `PASID_MIN`: PASID 0 is reserved for RID2PASID. */
export const PASID_MIN = 1;

/** Lowest-free allocator over [PASID_MIN, 2^20 − 1]. */
export class IoasidAllocator {
  private readonly used = new Set<number>();
  /** Every id at or above this one is free (ids below PASID_MIN are never handed out). */
  private next = PASID_MIN;
  /** Free ids below `next`, as a binary min-heap. */
  private readonly freed: number[] = [];

  /** Number of ids in use. */
  get inUse(): number {
    return this.used.size;
  }

  /** True when `id` is allocated. */
  has(id: number): boolean {
    return this.used.has(id);
  }

  /** Allocates the lowest free id in [min, max] (inclusive), or throws ENOSPC. */
  alloc(min: number, max: number): number {
    const id = this.lowestFreeFrom(min);
    if (min > max || id > max) {
      throw kernelError(
        Errno.ENOSPC,
        min > max
          ? `no PASID available in [${min}, ${max}]`
          : `PASID space [${min}, ${max}] exhausted (${this.used.size} PASIDs in use); unbind ` +
              'some clients or raise iommu.pasidBits / the device pasidBits',
      );
    }
    if (id >= this.next) {
      // ids in [next, id) stay free: below `next` now, so they join the heap
      for (let k = this.next; k < id; k++) this.push(k);
      this.next = id + 1;
    } else this.take(id);
    this.used.add(id);
    return id;
  }

  /** Frees an id; freeing an id that is not allocated is a broken invariant. */
  free(id: number): void {
    if (!this.used.delete(id)) throw new Error(`ioasid_free of unallocated PASID ${id}`);
    this.push(id);
  }

  /** The lowest free id at or above `min`. */
  private lowestFreeFrom(min: number): number {
    const h = this.freed;
    if (h.length > 0 && h[0]! >= min) return h[0]!;
    if (h.length > 0) {
      // ids below `min` sit in the heap (a caller used a higher min): look past them
      let best = Number.POSITIVE_INFINITY;
      for (const k of h) if (k >= min && k < best) best = k;
      if (best < Number.POSITIVE_INFINITY) return best;
    }
    return Math.max(min, this.next);
  }

  /** Removes `id` from the heap (the top in the common case). */
  private take(id: number): void {
    const h = this.freed;
    const i = h[0] === id ? 0 : h.indexOf(id);
    const last = h.pop()!;
    if (i === h.length) return;
    h[i] = last;
    this.siftDown(i);
    this.siftUp(i);
  }

  private push(id: number): void {
    this.freed.push(id);
    this.siftUp(this.freed.length - 1);
  }

  private siftUp(i: number): void {
    const h = this.freed;
    const v = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]! <= v) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = v;
  }

  private siftDown(i: number): void {
    const h = this.freed;
    const n = h.length;
    const v = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const c = l + 1 < n && h[l + 1]! < h[l]! ? l + 1 : l;
      if (h[c]! >= v) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = v;
  }
}
