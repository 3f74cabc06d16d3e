/**
 * A device's ATS translation cache (ATC, "device TLB"; PCIe ATS, spec §4.7, §7.0 type 3h,
 * §7.4 type 8h).
 *
 * It holds translation completions the IOMMU returned: key (pasid, page number, size
 * 4 KiB / 2 MiB) → frame of the page start and permissions ({@link DevTlbPerm}). It is a
 * {@link PageTlb} (see cache/page-tlb.ts) whose entries all carry did 0 — a function knows no
 * domain ids — so set mapping, lookup order (a 4 KiB entry wins when both sizes cover the
 * address), replacement, storage and `EINVAL` validation are the IOTLB's. Default is fully
 * associative (`assoc = entries`). Nothing allocates per lookup, insert or invalidation.
 * Translations of requests without PASID use whatever `pasid` value the device model reserves
 * for them.
 *
 * Invalidation requests select by PASID and by an address range (`pages` may be 2^52, the
 * whole space); every entry overlapping the range goes, 2 MiB entries included.
 *
 * Not modelled: the ATS completion's N (no-snoop), Global and U (untranslated-only) bits,
 * invalidation completion messages and their latency, ranges larger than the cached page
 * split into several completions, timing.
 */

import { type CacheParams, type PageSize, PageTlb, resolveCacheParams } from '../cache/index.js';

/** Permission bits of a cached translation (`permsOf`); R/W/X/U as the IOTLB's. */
export const DevTlbPerm = {
  /** Read allowed. */
  R: 1,
  /** Write allowed. */
  W: 2,
  /** Execute allowed (ATS Exe). */
  X: 4,
  /** User-mode access allowed. */
  U: 8,
  /** Granted for privileged-mode requests (ATS Priv). */
  PRIV: 16,
} as const;

/** Device-TLB params; defaults in {@link defaultDevTlbParams}, `assoc` defaults to `entries`. */
export interface DevTlbParams extends CacheParams {}

/** Defaults: 32 entries, fully associative, LRU. */
export const defaultDevTlbParams: DevTlbParams = Object.freeze({
  entries: 32,
  assoc: 32,
  policy: 'lru',
});

/** Whole-space page count of a device-TLB invalidation (size order 52, spec §7.4). */
export const DEVTLB_ALL_PAGES = 2 ** 52;

/** The ATS translation cache of one PCIe function. */
export class DevTlb extends PageTlb<DevTlbParams> {
  /**
   * Validates `params` (`EINVAL`); `assoc` defaults to `entries` (fully associative); `rng`
   * in [0, 1) is required for the `random` policy.
   */
  constructor(params: Partial<DevTlbParams> = {}, rng?: () => number) {
    const entries = params.entries ?? defaultDevTlbParams.entries;
    const p = resolveCacheParams('devTlb', defaultDevTlbParams, {
      ...params,
      assoc: params.assoc ?? entries,
    });
    super(p, rng);
  }

  /** The entry translating `vpn` for `pasid`, or −1; counts a hit or a miss. */
  lookup(pasid: number, vpn: number): number {
    return this.find(0, pasid, vpn);
  }

  /**
   * Caches a translation completion for the page containing `vpn`; `pfn` is the frame of the
   * page start, `perms` {@link DevTlbPerm} bits. Overwrites the entry with the same key, else
   * fills a victim. Returns the entry.
   */
  insert(pasid: number, vpn: number, pageSize: PageSize, pfn: number, perms: number): number {
    return this.put(0, pasid, vpn, pageSize, pfn, perms);
  }

  /**
   * PASID-based device-TLB invalidation (type 8h, spec §7.4): drops the entries of `pasid`
   * overlapping [baseVpn, baseVpn + pages).
   */
  invalidateRange(pasid: number, baseVpn: number, pages: number): void {
    if (pages > 0) this.dropPages(0, pasid, false, baseVpn, baseVpn + pages - 1);
  }

  /**
   * Non-PASID device-TLB invalidation (type 3h, spec §7.0): drops the entries of every PASID
   * overlapping [baseVpn, baseVpn + pages).
   */
  invalidateAllPasids(baseVpn: number, pages: number): void {
    if (pages > 0) this.dropPages(0, 0, true, baseVpn, baseVpn + pages - 1);
  }
}
