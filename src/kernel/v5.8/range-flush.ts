/**
 * The descriptors of v5.8's notifier range flush (spec §5.1, §7.3, §7.4; K-58
 * `intel_flush_svm_range_dev`, svm.c:120-168), built the way the driver builds them rather
 * than through the `qi_flush_*` helpers of `../qi.ts`, which align:
 *
 * - P_IOTLB page-selective-within-PASID: ADDR = start with only bits 11:0 dropped, AM =
 *   ilog2(roundup_pow_of_two(pages)), IH = 0. Hardware ignores the ADDR bits below AM
 *   (VTD 6.5.2.4), so it invalidates the naturally aligned 2^AM-page block that holds start
 *   ({@link piotlbWindow}); pages of the range past that block stay cached. A real v5.8 bug,
 *   fixed in v5.11 by P-ALIGN (naturally aligned chunks covering the range).
 * - PASID-based device-TLB invalidation: qw0 = PASID, SID, QDEP, type — no PFSID (later
 *   kernels carry it, K-6.6); qw1 = start for one page, else the v5.8 size formula
 *   ({@link devTlbAddress}), whose window ({@link devTlbWindow}) always covers the range.
 *
 * No PSI capability check and no PASID-selective fallback: `intel_invalidate_range` never
 * passes pages = −1, and v5.8 never looks at cap.PSI here.
 *
 * Addresses reach 2^47 (2^56 with LA57), beyond JavaScript's 32-bit bitwise operators, so the
 * formula's XOR, AND and OR are done on page-aligned doubles with division and
 * multiplication by powers of two, which are exact below 2^53.
 */

import { type InvDescInput, QI_GRAN_PSI_PASID } from '../../layout/index.js';

/** `VTD_PAGE_SIZE`. */
const PAGE = 4096;

/**
 * `(end - start + PAGE_SIZE - 1) >> VTD_PAGE_SHIFT` of `intel_invalidate_range`: the pages
 * the flush of [start, end) counts from start.
 */
export function rangePages(start: number, end: number): number {
  return Math.floor((end - start + PAGE - 1) / PAGE);
}

/** `ilog2(__roundup_pow_of_two(pages))`: the AM of the P_IOTLB (pages ≥ 1). */
export function rangeAm(pages: number): number {
  let am = 0;
  while (2 ** am < pages) am++;
  return am;
}

/**
 * The P_IOTLB of a v5.8 range flush: page-selective-within-PASID, ADDR = `start` with bits
 * 11:0 dropped (`QI_EIOTLB_ADDR`), AM = {@link rangeAm}, IH = 0 (svm.c:132-140).
 */
export function rangePiotlb(
  did: number,
  pasid: number,
  start: number,
  pages: number,
): InvDescInput {
  return {
    type: 'piotlb',
    g: QI_GRAN_PSI_PASID,
    did,
    pasid,
    am: rangeAm(pages),
    ih: false,
    addr: start - (start % PAGE),
  };
}

/**
 * The pages [first, end) the v5.8 P_IOTLB for `pages` pages at `start` invalidates: the
 * naturally aligned block of 2^AM pages holding start's page (hardware ignores ADDR below AM).
 */
export function piotlbWindow(start: number, pages: number): [number, number] {
  const size = 2 ** rangeAm(pages);
  const first = Math.floor(start / PAGE / size) * size;
  return [first, first + size];
}

/**
 * Half the size in bytes of the device-TLB window of a v5.8 range flush of `pages` > 1 pages
 * at `start`: `__rounddown_pow_of_two(start ^ last)`, the highest bit where start and
 * last = start + (pages − 1) × 4 KiB differ — found as the smallest power of two m with
 * start and last in the same 2m-aligned block.
 */
function devTlbHalf(start: number, pages: number): number {
  const a = start - (start % PAGE);
  const last = a + (pages - 1) * PAGE;
  let m = PAGE;
  while (Math.floor(a / (2 * m)) !== Math.floor(last / (2 * m))) m *= 2;
  return m;
}

/**
 * qw1 of the v5.8 PASID-based device-TLB invalidation (svm.c:151-163) as `addr` and `s`: one
 * page → ADDR = start, S = 0; more → with m = {@link devTlbHalf}, ADDR =
 * ((start & ~m) | (m − 1)) & PAGE_MASK, S = 1 — the 2m-aligned block holding start with bit
 * log2(m) clear and every bit below it from 12 set, which the ATS size rule reads as 2m bytes.
 * Spec §5.1: [0x40_1000, 0x40_3000) → 0x40_1000 | S (qw1 0x40_1800).
 */
export function devTlbAddress(start: number, pages: number): { addr: number; s: boolean } {
  const a = start - (start % PAGE);
  if (pages <= 1) return { addr: a, s: false };
  const m = devTlbHalf(start, pages);
  // (a & ~m) | (m − 1), bits 11:0 dropped: the 2m block base, then bits [log2(m)−1 : 12] set
  return { addr: Math.floor(a / (2 * m)) * 2 * m + m - PAGE, s: true };
}

/** The pages [first, end) the v5.8 device-TLB invalidation for `pages` pages at `start` covers. */
export function devTlbWindow(start: number, pages: number): [number, number] {
  const vpn = Math.floor(start / PAGE);
  if (pages <= 1) return [vpn, vpn + 1];
  const size = (2 * devTlbHalf(start, pages)) / PAGE;
  const first = Math.floor(vpn / size) * size;
  return [first, first + size];
}

/**
 * The P_DEVTLB of a v5.8 range flush (svm.c:146-165): PASID, SID, QDEP (`qdep & 0x1f`; the
 * driver stored 0 for ≥ 32), no PFSID, qw1 per {@link devTlbAddress}.
 */
export function rangeDevTlb(
  sid: number,
  pasid: number,
  qdep: number,
  start: number,
  pages: number,
): InvDescInput {
  const { addr, s } = devTlbAddress(start, pages);
  return { type: 'pdevtlb', sid, pfsid: 0, pasid, qdep: qdep & 0x1f, gi: false, s, addr };
}
