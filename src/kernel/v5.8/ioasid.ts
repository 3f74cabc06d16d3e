/**
 * The global PASID allocator of profile v5.8 (spec §2.1 step 7): `ioasid_alloc(NULL,
 * PASID_MIN, max, data)` hands out the lowest free id in [min, max] (an xarray allocation),
 * one PASID space shared by every IOMMU unit and device; exhaustion is ENOSPC.
 */

import { Errno, kernelError } from '../errors.js';

/** `PASID_MIN`: PASID 0 is reserved for RID2PASID. */
export const PASID_MIN = 1;

/** Lowest-free allocator over [PASID_MIN, 2^20 − 1]. */
export class IoasidAllocator {
  private readonly used = new Set<number>();
  /** Lowest id that might be free (every id below it is in use). */
  private lowestFree = PASID_MIN;

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
    if (min > max) {
      throw kernelError(Errno.ENOSPC, `no PASID available in [${min}, ${max}]`);
    }
    let id = Math.max(min, this.lowestFree);
    while (id <= max && this.used.has(id)) id++;
    if (id > max) {
      throw kernelError(
        Errno.ENOSPC,
        `PASID space [${min}, ${max}] exhausted (${this.used.size} PASIDs in use); unbind ` +
          'some clients or raise iommu.pasidBits / the device pasidBits',
      );
    }
    this.used.add(id);
    if (id === this.lowestFree) {
      while (this.used.has(this.lowestFree)) this.lowestFree++;
    }
    return id;
  }

  /** Frees an id; freeing an id that is not allocated is a broken invariant. */
  free(id: number): void {
    if (!this.used.delete(id)) throw new Error(`ioasid_free of unallocated PASID ${id}`);
    if (id < this.lowestFree) this.lowestFree = id;
  }
}
