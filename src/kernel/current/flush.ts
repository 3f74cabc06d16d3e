/**
 * The invalidation descriptors of profile `current` (spec §10.4, §3.3, §4.6; K-SVM-new cache
 * tags): the notifier's range flush (`cache_tag_flush_range` with
 * `calculate_psi_aligned_address`), the flush of everything (`cache_tag_flush_all`), and the
 * full-range PASID-based device-TLB invalidation of the teardown and the drain.
 *
 * Addresses reach 2^57, beyond JavaScript's 32-bit bitwise operators: the alignment is done on
 * page numbers with division by powers of two, exact below 2^53.
 */

import type { InvDescInput } from '../../layout/index.js';
import { qiDevIotlbPasid, qiPiotlb } from '../qi.js';

/** `VTD_PAGE_SIZE`. */
const PAGE = 4096;

/** `64 - VTD_PAGE_SHIFT`: the size order of a full-range device-TLB invalidation. */
export const FULL_RANGE_ORDER = 64 - 12;

/** The end the notifier passes for "everything" (`~0UL` + 1, as a number). */
export const ALL_END = 2 ** 64;

/**
 * `calculate_psi_aligned_address(start, end - 1)`: the naturally aligned block of 2^mask
 * pages covering the byte range [start, end) — the range's page count rounded up to a power
 * of two, raised further until start's and the last page's numbers agree above it.
 * Example (spec §10.4): [0x40_1000, 0x40_3000) → addr 0x40_0000, mask 2.
 */
export function psiAlignedRange(start: number, end: number): { addr: number; mask: number } {
  const pfn = Math.floor(start / PAGE);
  const lastPfn = Math.floor((end - 1) / PAGE);
  const pages = lastPfn - pfn + 1;
  let mask = 0;
  while (2 ** mask < pages) mask++;
  // ~(pfn ^ last_pfn) & ~bitmask, its lowest set bit: the first bit from mask up at which the
  // two page numbers agree, which is where every higher bit agrees too (last − pfn < 2^mask)
  while (mask < 64 && Math.floor(pfn / 2 ** mask) !== Math.floor(lastPfn / 2 ** mask)) mask++;
  const size = PAGE * 2 ** mask;
  return { addr: Math.floor(start / size) * size, mask };
}

/** One bound function as the flushes see it. */
export interface FlushTarget {
  readonly sid: number;
  readonly pfsid: number;
  readonly atsQdep: number;
  readonly atsEnabled: boolean;
}

/** P_IOTLB of a range flush: page-selective-within-PASID over the aligned block. */
export function rangePiotlb(did: number, pasid: number, start: number, end: number): InvDescInput {
  const { addr, mask } = psiAlignedRange(start, end);
  return qiPiotlb(did, pasid, addr, 2 ** mask);
}

/** The type 8h device-TLB invalidation of a range flush (SID, PASID, QDEP, PFSID). */
export function rangeDevTlb(
  t: FlushTarget,
  pasid: number,
  start: number,
  end: number,
): InvDescInput {
  const { addr, mask } = psiAlignedRange(start, end);
  return qiDevIotlbPasid(t.sid, t.pfsid, pasid, t.atsQdep, addr, mask);
}

/** The full-range type 8h device-TLB invalidation (qw1 0x7FFF_FFFF_FFFF_F800). */
export function fullDevTlb(t: FlushTarget, pasid: number): InvDescInput {
  return qiDevIotlbPasid(t.sid, t.pfsid, pasid, t.atsQdep, 0, FULL_RANGE_ORDER);
}
