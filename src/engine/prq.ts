/**
 * The page request queue registers and ring, hardware side (spec §4.1; VTD 7.5, 11.4.11).
 *
 * PQA gives the ring's base and size (entries = 2^(PQS+7) in hardware; this model accepts
 * any power of two ≥ 4 so small queues can be tested), PQH/PQT are descriptor indexes
 * (the registers hold index × 32 in bits 18:5), PRS holds PPR (bit 0) and PRO (bit 1).
 * A ring of N entries holds at most N − 1 requests.
 *
 * Not modelled yet: page request reception (table checks, implicit invalidation, queueing,
 * overflow with auto-response) and the page request event — they arrive with the
 * translation engine. The registers and ring are real: the kernel's drain scans them.
 */

import { PAGE_REQUEST_BYTES } from '../layout/index.js';

/** Hardware state of one page request queue. */
export class PageRequestQueue {
  /** PQA: base frame and number of 32-byte entries (0 = queue not enabled). */
  basePfn = 0;
  entries = 0;
  /** PQH (software-owned) and PQT (hardware-owned) as descriptor indexes. */
  head = 0;
  tail = 0;
  /** PRS.PPR: pending page request. */
  ppr = false;
  /** PRS.PRO: page request overflow. */
  pro = false;

  /** Programs PQA; resets head and tail. */
  setQueue(basePfn: number, entries: number): void {
    if (!Number.isInteger(entries) || entries < 4 || (entries & (entries - 1)) !== 0) {
      throw Object.assign(
        new Error(`PRQ size must be a power of two ≥ 4 entries, got ${entries}`),
        { code: 'EINVAL' },
      );
    }
    this.basePfn = basePfn;
    this.entries = entries;
    this.head = 0;
    this.tail = 0;
  }

  /** Byte address of descriptor slot `index`. */
  slotAddress(index: number): number {
    return this.basePfn * 4096 + index * PAGE_REQUEST_BYTES;
  }

  /** Number of requests waiting between head and tail. */
  get pending(): number {
    return (this.tail - this.head + this.entries) % this.entries;
  }

  /** The PRQ status as the public API shows it. */
  status(): { entries: number; head: number; tail: number; ppr: boolean; pro: boolean } {
    return {
      entries: this.entries,
      head: this.head,
      tail: this.tail,
      ppr: this.ppr,
      pro: this.pro,
    };
  }
}
