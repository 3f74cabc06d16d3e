/**
 * A device's ATS translation cache (ATC, "device TLB"; PCIe ATS, spec §4.7, §7.0 type 3h,
 * §7.4 type 8h).
 *
 * It holds translation completions the IOMMU returned: key (pasid, page number, size
 * 4 KiB / 2 MiB) → frame of the page start and permissions ({@link DevTlbPerm}). Default is
 * fully associative (`assoc = entries`); with fewer ways the set mapping is the IOTLB's — a
 * 4 KiB entry in set `vpn mod sets`, a 2 MiB entry in set `floor(vpn / 512) mod sets` — and a
 * lookup probes the 4 KiB set, then the 2 MiB set (a 4 KiB entry wins when both cover the
 * address). Replacement, storage and `EINVAL` validation are those of {@link SetAssocWays}
 * (see engine/iotlb.ts); nothing allocates per lookup, insert or invalidation. Translations
 * of requests without PASID use whatever `pasid` value the device model reserves for them.
 *
 * Invalidation requests select by PASID and by an address range (`pages` may be 2^52, the
 * whole space); every entry overlapping the range goes, 2 MiB entries included.
 *
 * Not modelled: the ATS completion's N (no-snoop), Global and U (untranslated-only) bits,
 * invalidation completion messages and their latency, ranges larger than the cached page
 * split into several completions, timing.
 */

import {
  type CacheParams,
  modPow2,
  PAGES_PER_2M,
  type PageSize,
  resolveCacheParams,
  WayCache,
} from '../engine/iotlb.js';

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
export class DevTlb extends WayCache<DevTlbParams> {
  /** Entries removed by invalidations (any scope). */
  invalidated = 0;

  private readonly sets: number;
  private readonly pasid: Int32Array;
  /** vpn for 4 KiB entries, floor(vpn / 512) for 2 MiB entries. */
  private readonly tag: Float64Array;
  /** 1 for a 2 MiB entry. */
  private readonly big: Uint8Array;
  /** Frame of the page start. */
  private readonly pfn: Float64Array;
  private readonly perms: Uint8Array;

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
    super(p, p.entries / p.assoc, rng);
    this.sets = p.entries / p.assoc;
    const n = p.entries;
    this.pasid = new Int32Array(n);
    this.tag = new Float64Array(n);
    this.big = new Uint8Array(n);
    this.pfn = new Float64Array(n);
    this.perms = new Uint8Array(n);
  }

  /** The entry translating `vpn` for `pasid`, or −1; counts a hit or a miss. */
  lookup(pasid: number, vpn: number): number {
    const assoc = this.assoc;
    const valid = this.validBits;
    const tag = this.tag;
    const big = this.big;
    const pn2 = Math.floor(vpn / PAGES_PER_2M);
    const set4 = modPow2(vpn, this.sets);
    const set2 = modPow2(pn2, this.sets);
    // One pass over the 4 KiB set; it is also the 2 MiB set when both indexes agree (always
    // when fully associative). A 4 KiB match wins over a 2 MiB one.
    let found2 = -1;
    let base = set4 * assoc;
    let end = base + assoc;
    for (let e = base; e < end; e++) {
      if (valid[e] !== 1) continue;
      const t = tag[e];
      if (t === vpn && big[e] === 0 && this.pasid[e] === pasid) {
        this.ways.touch(e);
        this.hits++;
        return e;
      }
      if (t === pn2 && big[e] === 1 && this.pasid[e] === pasid) found2 = e;
    }
    if (set2 !== set4) {
      base = set2 * assoc;
      end = base + assoc;
      for (let e = base; e < end; e++) {
        if (valid[e] === 1 && tag[e] === pn2 && big[e] === 1 && this.pasid[e] === pasid) {
          found2 = e;
          break;
        }
      }
    }
    if (found2 >= 0) {
      this.ways.touch(found2);
      this.hits++;
      return found2;
    }
    this.misses++;
    return -1;
  }

  /** The 4 KiB frame backing `vpn` through `entry` (adds the offset inside a 2 MiB page). */
  pfnOf(entry: number, vpn: number): number {
    return this.big[entry] === 1 ? this.pfn[entry]! + modPow2(vpn, PAGES_PER_2M) : this.pfn[entry]!;
  }

  /** Permission bits of `entry` ({@link DevTlbPerm}). */
  permsOf(entry: number): number {
    return this.perms[entry]!;
  }

  /** Page size of `entry`. */
  sizeOf(entry: number): PageSize {
    return this.big[entry] === 1 ? '2m' : '4k';
  }

  /**
   * Caches a translation completion for the page containing `vpn`; `pfn` is the frame of the
   * page start. Overwrites the entry with the same key, else fills a victim. Returns the entry.
   */
  insert(pasid: number, vpn: number, pageSize: PageSize, pfn: number, perms: number): number {
    const isBig = pageSize === '2m' ? 1 : 0;
    const t = isBig === 1 ? Math.floor(vpn / PAGES_PER_2M) : vpn;
    const set = modPow2(t, this.sets);
    const base = set * this.assoc;
    const end = base + this.assoc;
    let e = base;
    let free = -1;
    for (; e < end; e++) {
      if (this.validBits[e] !== 1) {
        if (free < 0) free = e;
      } else if (this.tag[e] === t && this.big[e] === isBig && this.pasid[e] === pasid) {
        break;
      }
    }
    if (e < end) this.ways.refresh(e);
    else {
      e = free >= 0 ? free : this.ways.replace(set);
      this.ways.fill(e);
      this.pasid[e] = pasid;
      this.tag[e] = t;
      this.big[e] = isBig;
    }
    this.pfn[e] = pfn;
    this.perms[e] = perms;
    return e;
  }

  /**
   * PASID-based device-TLB invalidation (type 8h, spec §7.4): drops the entries of `pasid`
   * overlapping [baseVpn, baseVpn + pages).
   */
  invalidateRange(pasid: number, baseVpn: number, pages: number): void {
    this.dropRange(pasid, false, baseVpn, pages);
  }

  /**
   * Non-PASID device-TLB invalidation (type 3h, spec §7.0): drops the entries of every PASID
   * overlapping [baseVpn, baseVpn + pages).
   */
  invalidateAllPasids(baseVpn: number, pages: number): void {
    this.dropRange(0, true, baseVpn, pages);
  }

  /** Drops every entry. */
  invalidateAll(): void {
    this.invalidated += this.ways.validCount;
    this.ways.clear();
  }

  private dropRange(pasid: number, anyPasid: boolean, baseVpn: number, pages: number): void {
    if (!(pages > 0)) return;
    const first = baseVpn;
    const last = baseVpn + pages - 1;
    const sets = this.sets;
    const first2 = Math.floor(first / PAGES_PER_2M);
    const n4 = Math.min(sets, last - first + 1);
    const n2 = Math.min(sets, Math.floor(last / PAGES_PER_2M) - first2 + 1);
    if (n4 + n2 >= sets) {
      for (let set = 0; set < sets; set++) this.dropOverlapping(set, pasid, anyPasid, first, last);
      return;
    }
    // 4 KiB entries of the range sit in n4 consecutive sets, 2 MiB ones in n2.
    const s4 = modPow2(first, sets);
    for (let i = 0; i < n4; i++) {
      this.dropOverlapping((s4 + i) % sets, pasid, anyPasid, first, last);
    }
    const s2 = modPow2(first2, sets);
    for (let i = 0; i < n2; i++) {
      this.dropOverlapping((s2 + i) % sets, pasid, anyPasid, first, last);
    }
  }

  private dropOverlapping(
    set: number,
    pasid: number,
    anyPasid: boolean,
    first: number,
    last: number,
  ): void {
    const base = set * this.assoc;
    const end = base + this.assoc;
    for (let e = base; e < end; e++) {
      if (this.validBits[e] !== 1 || (!anyPasid && this.pasid[e] !== pasid)) continue;
      const start = this.big[e] === 1 ? this.tag[e]! * PAGES_PER_2M : this.tag[e]!;
      const stop = this.big[e] === 1 ? start + PAGES_PER_2M - 1 : start;
      if (start <= last && stop >= first) {
        this.ways.drop(e);
        this.invalidated++;
      }
    }
  }
}
