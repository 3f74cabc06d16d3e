/**
 * The IOTLB for first-stage (PASID-tagged) translations (spec §4.1 implicit invalidation,
 * §5.1, §7.3 P_IOTLB): a {@link PageTlb} of 4 KiB and 2 MiB leaves tagged by (did, pasid).
 * Set mapping, lookup order, replacement and storage are the page TLB's (see cache/page-tlb.ts);
 * nothing allocates per lookup, insert or invalidation.
 *
 * Not modelled: 1 GiB leaves, second-stage and nested entries (PGTT ≠ 001b), legacy
 * (requests-without-PASID) entries and the type 2h IOTLB invalidation (in scalable mode it
 * does not touch first-stage entries, spec §7.0), global (G-bit) entries, dirty/accessed
 * state, timing (the caller charges latencies).
 */

import { type CacheParams, type PageSize, PageTlb, resolveCacheParams } from '../cache/index.js';

/** Permission bits of a cached translation (`permsOf`). */
export const IotlbPerm = {
  /** Read allowed (present). */
  R: 1,
  /** Write allowed (R/W = 1 at every level). */
  W: 2,
  /** Execute allowed (XD = 0 at every level). */
  X: 4,
  /** User-mode access allowed (U/S = 1 at every level). */
  U: 8,
} as const;

/** IOTLB params: geometry and policy, with defaults in {@link defaultIotlbParams}. */
export interface IotlbParams extends CacheParams {}

/** Defaults: 64 entries, 4-way, LRU. */
export const defaultIotlbParams: IotlbParams = Object.freeze({
  entries: 64,
  assoc: 4,
  policy: 'lru',
});

/** Set-associative IOTLB of first-stage translations tagged by (did, pasid). */
export class Iotlb extends PageTlb<IotlbParams> {
  /** Validates `params` (`EINVAL`); `rng` in [0, 1) is required for the `random` policy. */
  constructor(params: Partial<IotlbParams> = {}, rng?: () => number) {
    super(resolveCacheParams('iotlb', defaultIotlbParams, params), rng);
  }

  /** The entry translating `vpn` for (did, pasid), or −1; counts a hit or a miss. */
  lookup(did: number, pasid: number, vpn: number): number {
    return this.find(did, pasid, vpn);
  }

  /**
   * Caches the translation of the page containing `vpn`; `pfn` is the frame of the page
   * start (512-aligned for 2 MiB), `perms` {@link IotlbPerm} bits. Overwrites the entry with
   * the same tag, else fills a victim. Returns the entry.
   */
  insert(
    did: number,
    pasid: number,
    vpn: number,
    pageSize: PageSize,
    pfn: number,
    perms: number,
  ): number {
    return this.put(did, pasid, vpn, pageSize, pfn, perms);
  }

  /**
   * P_IOTLB page-selective-within-PASID (spec §7.3, G = 11b; also the implicit invalidation of
   * a page request, §4.1): drops the entries of (did, pasid) overlapping the naturally aligned
   * range of 2^am pages containing `vpn`, 2 MiB entries included.
   */
  invalidatePageInPasid(did: number, pasid: number, vpn: number, am: number): void {
    const pages = 2 ** am;
    const first = Math.floor(vpn / pages) * pages;
    this.dropPages(did, pasid, false, first, first + pages - 1);
  }
}
